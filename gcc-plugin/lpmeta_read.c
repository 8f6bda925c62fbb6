/*
 * lpmeta_read.c - read the plugin's records (lpmeta.h) out of an ELF object
 * file, executable or shared library (liblpmeta.a; lpmeta_read.h).
 *
 * Records live in sections named .livepatch.func, .livepatch.unit,
 * .livepatch.link, .livepatch.static and .livepatch.anon (an object has one
 * .func section per function and one .static section per static; see
 * lpmeta.h).  In an object file
 * the `addr` fields are zero in the section data and filled by RELA
 * relocations; we resolve them to the target symbol's st_value + addend
 * (and keep its section index).  In
 * a linked module the linker already wrote the link-time address.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lpmeta_read.h"

/* Copies of section data the returned strings point into. */
struct reader_store {
    void **bufs;
    size_t nbufs, cap;
};

/* One resolved relocation of a record section: offset -> value. */
struct reloc_value {
    uint64_t offset, value;
    uint32_t shndx; /* the target symbol's section */
};

struct reloc_map {
    struct reloc_value *v;
    size_t n;
};

static int fail(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, LPM_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

/* Grow *arr (of *cap elements of `size` bytes) to hold at least `need`. */
static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need && ncap <= SIZE_MAX / 2)
        ncap *= 2;
    if (ncap < need || ncap > SIZE_MAX / size)
        return -1;
    /* malloc + copy rather than realloc: gcc 12's -fanalyzer follows a
     * "moved, yet NULL" realloc outcome and reports false leaks/double frees. */
    void *p = malloc(ncap * size);
    if (!p)
        return -1;
    if (*cap)
        memcpy(p, *arr, *cap * size);
    free(*arr);
    *arr = p;
    *cap = ncap;
    return 0;
}

static void *store_copy(struct reader_store *st, const void *data, size_t len)
{
    if (grow((void **)&st->bufs, &st->cap, st->nbufs + 1, sizeof(*st->bufs)))
        return NULL;
    void *p = malloc(len ? len : 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, data, len);
    st->bufs[st->nbufs++] = p;
    return p;
}

static int section_kind(const char *name)
{
    static const struct {
        const char *name;
        int kind;
    } map[] = {
        {LPMETA_SEC_FUNC, LPMETA_FUNC},       {LPMETA_SEC_UNIT, LPMETA_UNIT},
        {LPMETA_SEC_LINK, LPMETA_LINK},       {LPMETA_SEC_STATIC, LPMETA_STATIC},
        {LPMETA_SEC_NOWRITE, LPMETA_NOWRITE}, {LPMETA_SEC_ANON, LPMETA_ANON},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t n = strlen(map[i].name);
        /* exact name, or "<name>.<suffix>" as an object may spell it */
        if (!strncmp(name, map[i].name, n) && (name[n] == '\0' || name[n] == '.'))
            return map[i].kind;
    }
    return 0;
}

static int cmp_reloc(const void *a, const void *b)
{
    const struct reloc_value *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Collect the RELA relocations that apply to section index `target`.  On
 * failure nothing is left allocated (map is empty). */
static int load_relocs(Elf *elf, size_t target, struct reloc_map *map, const char *path, char *err)
{
    Elf_Scn *scn = NULL;
    struct reloc_value *v = NULL;
    size_t cap = 0, n = 0;
    map->v = NULL;
    map->n = 0;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_info != target)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        Elf_Scn *symscn = elf_getscn(elf, sh.sh_link);
        Elf_Data *symdata = symscn ? elf_getdata(symscn, NULL) : NULL;
        if (!data || !symdata) {
            free(v);
            return fail(err, "%s: unreadable relocations for section %zu: %s", path, target,
                        elf_errmsg(-1));
        }
        size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        for (size_t i = 0; i < count; i++) {
            GElf_Rela r;
            GElf_Sym sym;
            if (!gelf_getrela(data, (int)i, &r) ||
                !gelf_getsym(symdata, (int)GELF_R_SYM(r.r_info), &sym)) {
                free(v);
                return fail(err, "%s: bad relocation %zu for section %zu", path, i, target);
            }
            if (grow((void **)&v, &cap, n + 1, sizeof(*v))) {
                free(v);
                return fail(err, "%s: out of memory", path);
            }
            v[n].offset = r.r_offset;
            v[n].value = sym.st_value + (uint64_t)r.r_addend;
            v[n].shndx = sym.st_shndx;
            n++;
        }
    }
    if (n)
        qsort(v, n, sizeof(*v), cmp_reloc);
    map->v = v;
    map->n = n;
    return 0;
}

/* The value at `offset` of a record section: relocated in an object file
 * (*shndx, when asked for, the target's section; 0 in a linked module). */
static uint64_t addr_sec_at(const struct reloc_map *map, uint64_t offset, uint64_t raw,
                            uint32_t *shndx)
{
    struct reloc_value key = {.offset = offset};
    const struct reloc_value *hit =
        map->n ? bsearch(&key, map->v, map->n, sizeof(*map->v), cmp_reloc) : NULL;
    if (shndx)
        *shndx = hit ? hit->shndx : 0;
    return hit ? hit->value : raw;
}

static uint64_t addr_at(const struct reloc_map *map, uint64_t offset, uint64_t raw)
{
    return addr_sec_at(map, offset, raw, NULL);
}

/* Cursor over the NUL-terminated strings following a record's fixed part. */
struct strings {
    const char *p, *end;
};

static const char *next_string(struct strings *s)
{
    if (s->p >= s->end)
        return NULL;
    const char *nul = memchr(s->p, '\0', (size_t)(s->end - s->p));
    if (!nul)
        return NULL;
    const char *str = s->p;
    s->p = nul + 1;
    return str;
}

struct section_ctx {
    const char *path, *secname;
    const unsigned char *base; /* our copy of the section data */
    struct reloc_map relocs;
    char *err;
};

static int record_error(struct section_ctx *c, size_t off, const char *what)
{
    return fail(c->err, "%s: section %s offset 0x%zx: %s", c->path, c->secname, off, what);
}

static int parse_func(struct lpm_module *m, size_t *cap, struct section_ctx *c, size_t off,
                      const struct lpmeta_hdr *h)
{
    struct lpmeta_func rec;
    if (h->size < sizeof(rec))
        return record_error(c, off, "function record too short");
    memcpy(&rec, c->base + off, sizeof(rec));
    struct strings s = {(const char *)c->base + off + sizeof(rec),
                        (const char *)c->base + off + h->size};
    const char *name = next_string(&s), *origin = next_string(&s);
    if (!name || !origin || !*name)
        return record_error(c, off, "function record strings are not terminated");
    if (grow((void **)&m->funcs, cap, m->nfuncs + 1, sizeof(*m->funcs)))
        return fail(c->err, "%s: out of memory", c->path);
    struct lpm_func *f = &m->funcs[m->nfuncs++];
    f->name = name;
    f->origin = origin;
    f->addr = addr_at(&c->relocs, off + offsetof(struct lpmeta_func, addr), rec.addr);
    f->unit_id = rec.unit_id;
    memcpy(f->hash, rec.hash, sizeof(f->hash));
    f->flags = rec.flags;
    f->prepad = rec.prepad;
    f->entry_off = rec.entry_off;
    return 0;
}

static int parse_unit(struct lpm_module *m, size_t *cap, struct section_ctx *c, size_t off,
                      const struct lpmeta_hdr *h)
{
    struct lpmeta_unit rec;
    if (h->size < sizeof(rec))
        return record_error(c, off, "unit record too short");
    memcpy(&rec, c->base + off, sizeof(rec));
    struct strings s = {(const char *)c->base + off + sizeof(rec),
                        (const char *)c->base + off + h->size};
    const char *source = next_string(&s), *version = next_string(&s);
    const char *options = next_string(&s);
    if (!source || !version || !options)
        return record_error(c, off, "unit record strings are not terminated");
    if (grow((void **)&m->units, cap, m->nunits + 1, sizeof(*m->units)))
        return fail(c->err, "%s: out of memory", c->path);
    struct lpm_unit *u = &m->units[m->nunits++];
    u->unit_id = rec.unit_id;
    u->format_version = rec.format_version;
    u->nfuncs = rec.nfuncs;
    u->source = source;
    u->gcc_version = version;
    u->options = options;
    return 0;
}

static int parse_link(struct lpm_module *m, size_t *cap, struct section_ctx *c, size_t off,
                      const struct lpmeta_hdr *h)
{
    struct lpmeta_link rec;
    if (h->size < sizeof(rec))
        return record_error(c, off, "link record too short");
    memcpy(&rec, c->base + off, sizeof(rec));
    struct strings s = {(const char *)c->base + off + sizeof(rec),
                        (const char *)c->base + off + h->size};
    const char *from = next_string(&s), *to = next_string(&s);
    if (!from || !to)
        return record_error(c, off, "link record strings are not terminated");
    if (grow((void **)&m->links, cap, m->nlinks + 1, sizeof(*m->links)))
        return fail(c->err, "%s: out of memory", c->path);
    struct lpm_link *l = &m->links[m->nlinks++];
    l->unit_id = rec.unit_id;
    l->type = rec.type;
    l->from = from;
    l->to = to;
    return 0;
}

static int parse_static(struct lpm_module *m, size_t *cap, struct section_ctx *c, size_t off,
                        const struct lpmeta_hdr *h)
{
    struct lpmeta_static rec;
    if (h->size < sizeof(rec))
        return record_error(c, off, "static record too short");
    memcpy(&rec, c->base + off, sizeof(rec));
    struct strings s = {(const char *)c->base + off + sizeof(rec),
                        (const char *)c->base + off + h->size};
    const char *asm_name = next_string(&s), *stable = next_string(&s);
    if (!asm_name || !stable)
        return record_error(c, off, "static record strings are not terminated");
    if (grow((void **)&m->statics, cap, m->nstatics + 1, sizeof(*m->statics)))
        return fail(c->err, "%s: out of memory", c->path);
    struct lpm_static *v = &m->statics[m->nstatics++];
    v->addr = addr_at(&c->relocs, off + offsetof(struct lpmeta_static, addr), rec.addr);
    v->unit_id = rec.unit_id;
    v->asm_name = asm_name;
    v->stable_name = stable;
    return 0;
}

static int parse_nowrite(struct lpm_module *m, size_t *cap, struct section_ctx *c, size_t off,
                         const struct lpmeta_hdr *h)
{
    struct lpmeta_nowrite rec;
    if (h->size < sizeof(rec))
        return record_error(c, off, "nowrite record too short");
    memcpy(&rec, c->base + off, sizeof(rec));
    struct strings s = {(const char *)c->base + off + sizeof(rec),
                        (const char *)c->base + off + h->size};
    const char *asm_name = next_string(&s);
    if (!asm_name || !*asm_name)
        return record_error(c, off, "nowrite record strings are not terminated");
    if (grow((void **)&m->nowrites, cap, m->nnowrites + 1, sizeof(*m->nowrites)))
        return fail(c->err, "%s: out of memory", c->path);
    struct lpm_nowrite *v = &m->nowrites[m->nnowrites++];
    v->unit_id = rec.unit_id;
    v->asm_name = asm_name;
    return 0;
}

static int parse_anon(struct lpm_module *m, size_t *cap, struct section_ctx *c, size_t off,
                      const struct lpmeta_hdr *h)
{
    struct lpmeta_anon rec;
    if (h->size < sizeof(rec))
        return record_error(c, off, "anonymous-object record too short");
    memcpy(&rec, c->base + off, sizeof(rec));
    struct strings s = {(const char *)c->base + off + sizeof(rec),
                        (const char *)c->base + off + h->size};
    const char *user = next_string(&s);
    if (!user)
        return record_error(c, off, "anonymous-object record strings are not terminated");
    if (!rec.size)
        return record_error(c, off, "anonymous-object record of size 0");
    if (grow((void **)&m->anons, cap, m->nanons + 1, sizeof(*m->anons)))
        return fail(c->err, "%s: out of memory", c->path);
    struct lpm_anon *a = &m->anons[m->nanons++];
    a->addr =
        addr_sec_at(&c->relocs, off + offsetof(struct lpmeta_anon, addr), rec.addr, &a->shndx);
    a->flags = rec.flags;
    a->unit_id = rec.unit_id;
    a->size = rec.size;
    a->user = user;
    return 0;
}

struct caps {
    size_t funcs, units, links, statics, nowrites, anons;
};

/* Walk one record section; unknown record kinds are skipped. */
static int parse_section(struct lpm_module *m, struct caps *caps, struct section_ctx *c, size_t len)
{
    size_t off = 0;
    while (off < len) {
        struct lpmeta_hdr h;
        if (len - off < sizeof(h))
            return record_error(c, off, "truncated record header");
        memcpy(&h, c->base + off, sizeof(h));
        if (h.size < sizeof(h) || h.size % 8 || h.size > len - off)
            return record_error(c, off, "bad record size");
        int rc = 0;
        switch (h.kind) {
        case LPMETA_FUNC:
            rc = parse_func(m, &caps->funcs, c, off, &h);
            break;
        case LPMETA_UNIT:
            rc = parse_unit(m, &caps->units, c, off, &h);
            break;
        case LPMETA_LINK:
            rc = parse_link(m, &caps->links, c, off, &h);
            break;
        case LPMETA_STATIC:
            rc = parse_static(m, &caps->statics, c, off, &h);
            break;
        case LPMETA_NOWRITE:
            rc = parse_nowrite(m, &caps->nowrites, c, off, &h);
            break;
        case LPMETA_ANON:
            rc = parse_anon(m, &caps->anons, c, off, &h);
            break;
        default:
            break;
        }
        if (rc)
            return rc;
        off += h.size;
    }
    return 0;
}

int lpm_read_elf(Elf *elf, const char *path, struct lpm_module **out, char *err)
{
    *out = NULL;
    GElf_Ehdr eh;
    size_t shstrndx;
    if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
        return fail(err, "%s: not an ELF file", path);
    if (gelf_getclass(elf) != ELFCLASS64 || eh.e_machine != EM_X86_64)
        return fail(err, "%s: not an x86-64 ELF file", path);
    if (elf_getshdrstrndx(elf, &shstrndx))
        return fail(err, "%s: no section name table: %s", path, elf_errmsg(-1));

    struct lpm_module *m = calloc(1, sizeof(*m));
    struct reader_store *st = calloc(1, sizeof(*st));
    if (!m || !st) {
        free(m);
        free(st);
        return fail(err, "%s: out of memory", path);
    }
    m->priv = st;
    struct caps caps = {0};
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
            continue;
        const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
        if (!name || !section_kind(name))
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data) {
            fail(err, "%s: section %s: unreadable: %s", path, name, elf_errmsg(-1));
            goto bad;
        }
        struct section_ctx c = {.path = path, .secname = name, .err = err};
        c.base = store_copy(st, data->d_buf, data->d_size);
        if (!c.base) {
            fail(err, "%s: out of memory", path);
            goto bad;
        }
        if (eh.e_type == ET_REL && load_relocs(elf, elf_ndxscn(scn), &c.relocs, path, err))
            goto bad;
        int rc = parse_section(m, &caps, &c, data->d_size);
        free(c.relocs.v);
        if (rc)
            goto bad;
    }
    *out = m;
    return 0;
bad:
    lpm_free(m);
    return -1;
}

/* Move everything `from` holds to the end of `to`; `from` is freed, on
 * failure too (`to` may then hold records into freed strings: free it). */
static int append_module(struct lpm_module *to, struct lpm_module *from)
{
#define APPEND(arr, n)                                                                             \
    do {                                                                                           \
        if (from->n) {                                                                             \
            void *p = realloc(to->arr, (to->n + from->n) * sizeof(*to->arr));                      \
            if (!p) {                                                                              \
                lpm_free(from);                                                                    \
                return -1;                                                                         \
            }                                                                                      \
            to->arr = p;                                                                           \
            memcpy(to->arr + to->n, from->arr, from->n * sizeof(*to->arr));                        \
            to->n += from->n;                                                                      \
        }                                                                                          \
    } while (0)
    APPEND(funcs, nfuncs);
    APPEND(units, nunits);
    APPEND(links, nlinks);
    APPEND(statics, nstatics);
    APPEND(nowrites, nnowrites);
    APPEND(anons, nanons);
#undef APPEND
    struct reader_store *dst = to->priv, *src = from->priv;
    /* Room for all first, so that no buffer is owned twice on failure. */
    if (grow((void **)&dst->bufs, &dst->cap, dst->nbufs + src->nbufs, sizeof(*dst->bufs))) {
        lpm_free(from);
        return -1;
    }
    for (size_t i = 0; i < src->nbufs; i++)
        dst->bufs[dst->nbufs++] = src->bufs[i];
    src->nbufs = 0; /* the strings now belong to `to` */
    lpm_free(from);
    return 0;
}

/* An ar archive (libfoo.a): the records of all its ELF members together. */
static int read_archive(Elf *ar, int fd, const char *path, struct lpm_module **out, char *err)
{
    struct lpm_module *all = calloc(1, sizeof(*all));
    if (!all || !(all->priv = calloc(1, sizeof(struct reader_store)))) {
        free(all);
        return fail(err, "%s: out of memory", path);
    }
    Elf_Cmd cmd = ELF_C_READ_MMAP;
    Elf *member;
    while ((member = elf_begin(fd, cmd, ar))) {
        /* the header belongs to the archive's cursor: use it before elf_next() */
        Elf_Arhdr *ah = elf_getarhdr(member);
        const char *name = ah && ah->ar_name ? ah->ar_name : "?";
        int rc = 0;
        struct lpm_module *m = NULL;
        if (elf_kind(member) == ELF_K_ELF && name[0] != '/') {
            char where[1024];
            snprintf(where, sizeof(where), "%s(%s)", path, name);
            rc = lpm_read_elf(member, where, &m, err);
        }
        cmd = elf_next(member);
        elf_end(member);
        if (rc || (m && append_module(all, m))) {
            if (!rc)
                fail(err, "%s: out of memory", path);
            lpm_free(all);
            return -1;
        }
    }
    *out = all;
    return 0;
}

int lpm_read(const char *path, struct lpm_module **out, char *err)
{
    *out = NULL;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return fail(err, "libelf: %s", elf_errmsg(-1));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, "%s: cannot open: %s", path, strerror(errno));
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf) {
        close(fd);
        return fail(err, "%s: not an ELF file", path);
    }
    int rc = elf_kind(elf) == ELF_K_AR ? read_archive(elf, fd, path, out, err)
                                       : lpm_read_elf(elf, path, out, err);
    elf_end(elf);
    close(fd);
    return rc;
}

void lpm_free(struct lpm_module *m)
{
    if (!m)
        return;
    struct reader_store *st = m->priv;
    if (st) {
        for (size_t i = 0; i < st->nbufs; i++)
            free(st->bufs[i]);
        free(st->bufs);
        free(st);
    }
    free(m->funcs);
    free(m->units);
    free(m->links);
    free(m->statics);
    free(m->nowrites);
    free(m->anons);
    free(m);
}
