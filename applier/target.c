/*
 * target.c - binding a patch to a process: module by build-id, function
 * places, old-code verification, and symbol resolution the way the
 * target's own link map resolves.
 */
#include "target.h"
#include "lp_entry.h"
#include "lpmeta_read.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

int lpa_target_open(struct lpa_target *t, pid_t pid, char *err)
{
    memset(t, 0, sizeof *t);
    t->pid = pid;
    t->memfd = -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    if (access(path, F_OK) != 0) {
        lpa_err(err, "no such process: %d", (int)pid);
        return 2;
    }
    t->memfd = lpa_mem_open(pid, err);
    if (t->memfd < 0)
        return errno == ENOENT || errno == ESRCH ? 2 : 3;
    if (lpa_maps_read(pid, &t->maps, err) != 0)
        return 2;
    if (lpa_modules(pid, &t->maps, &t->mods, &t->nmods, err) != 0)
        return 2;
    if (lps_load(pid, t->memfd, &t->state, err) != 0)
        return 1;
    return 0;
}

void lpa_target_close(struct lpa_target *t)
{
    if (t->memfd >= 0)
        close(t->memfd);
    lpa_maps_free(&t->maps);
    free(t->mods);
    lps_free(&t->state);
    free(t->fp);
    free(t->resolved);
    free(t->is_resolved);
    lpm_free(t->records);
    memset(t, 0, sizeof *t);
    t->memfd = -1;
}

int lpa_same_module(const struct lps_patch *a, const struct lps_patch *b)
{
    return a->load_bias == b->load_bias && strcmp(a->module, b->module) == 0;
}

/* ---- ELF symbol tables of mapped files -------------------------------- */

struct found_sym {
    uint64_t value;
    int type, count;
};

/* Look a defined symbol up by name in `path` (.dynsym only if dyn_only). */
static int elf_find_sym(const char *path, const char *name, int dyn_only, struct found_sym *out)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    Elf_Scn *scn = NULL;
    int have_symtab = 0;
    while (e && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
            have_symtab = 1;
    }
    scn = NULL;
    while (e && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        /* .symtab has every symbol .dynsym has: read one of them. */
        if (!(sh.sh_type == SHT_DYNSYM && (dyn_only || !have_symtab)) &&
            !(sh.sh_type == SHT_SYMTAB && !dyn_only))
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        for (size_t i = 1; d && i < n; i++) {
            GElf_Sym s;
            if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
                continue;
            const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
            if (!nm || strcmp(nm, name) != 0)
                continue;
            if (dyn_only && GELF_ST_BIND(s.st_info) == STB_LOCAL)
                continue;
            if (out->count++ == 0) {
                out->value = s.st_value;
                out->type = GELF_ST_TYPE(s.st_info);
            }
        }
    }
    if (e)
        elf_end(e);
    close(fd);
    return 0;
}

/* Visit the dynamic relocations of a module file: cb(type, offset, symbol
 * name, symbol value, addend) until it returns nonzero. */
typedef int (*rela_cb)(void *ctx, unsigned type, uint64_t off, const char *sym, uint64_t symval,
                       int64_t addend);

static int elf_each_rela(const char *path, rela_cb cb, void *ctx)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    Elf_Scn *scn = NULL;
    int stop = 0;
    while (e && !stop && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !(sh.sh_flags & SHF_ALLOC))
            continue;
        Elf_Scn *symscn = elf_getscn(e, sh.sh_link);
        GElf_Shdr symsh;
        if (!symscn || !gelf_getshdr(symscn, &symsh))
            continue;
        Elf_Data *d = elf_getdata(scn, NULL), *sd = elf_getdata(symscn, NULL);
        size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        for (size_t i = 0; d && sd && i < n && !stop; i++) {
            GElf_Rela r;
            GElf_Sym s = {0};
            if (!gelf_getrela(d, (int)i, &r))
                continue;
            const char *nm = "";
            if (GELF_R_SYM(r.r_info) && gelf_getsym(sd, (int)GELF_R_SYM(r.r_info), &s))
                nm = elf_strptr(e, symsh.sh_link, s.st_name);
            stop = cb(ctx, (unsigned)GELF_R_TYPE(r.r_info), r.r_offset, nm ? nm : "", s.st_value,
                      r.r_addend);
        }
    }
    if (e)
        elf_end(e);
    close(fd);
    return 0;
}

/* ---- Binding ---------------------------------------------------------- */

static int same_id(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    return alen == blen && alen > 0 && memcmp(a, b, alen) == 0;
}

static struct lpa_module *module_of_record(struct lpa_target *t, const struct lps_patch *r)
{
    for (size_t i = 0; i < t->nmods; i++)
        if (t->mods[i].load_bias == r->load_bias && strcmp(t->mods[i].path, r->module) == 0)
            return &t->mods[i];
    return NULL;
}

/* Newest applied record of this module redirecting sym_addr (or named). */
static struct lps_func *newest_redirect(struct lpa_target *t, uint64_t sym_addr, const char *name)
{
    struct lps_func *found = NULL;
    for (struct lps_patch *r = lps_next(&t->state, NULL); r; r = lps_next(&t->state, r)) {
        if (module_of_record(t, r) != t->mod)
            continue;
        for (uint32_t i = 0; i < r->nfuncs; i++) {
            struct lps_func *f = &lps_funcs(r)[i];
            if ((sym_addr && f->sym_addr == sym_addr) ||
                (!sym_addr && name && strcmp(f->name, name) == 0))
                found = f;
        }
    }
    return found;
}

static int in_list(char **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static int place_func(struct lpa_target *t, struct lpa_fplace *fp, char *err)
{
    const struct lp_func *f = fp->f;
    if (!t->stacked) {
        fp->sym_addr = f->old_addr + t->mod->load_bias;
    } else { /* addresses are of another build: find the function by name */
        struct lps_func *r = newest_redirect(t, 0, fp->name);
        if (r) {
            fp->sym_addr = r->sym_addr;
        } else {
            struct found_sym s;
            elf_find_sym(t->mod->open_path, fp->name, 0, &s);
            if (s.count != 1) {
                lpa_err(err, "%s: function %s %s", t->mod->path, fp->name,
                        s.count ? "is ambiguous (several static functions)" : "not found");
                return 1;
            }
            fp->sym_addr = s.value + t->mod->load_bias;
        }
    }
    fp->prev = newest_redirect(t, fp->sym_addr, NULL);
    size_t len = (size_t)f->old_prepad + f->old_size;
    uint8_t *code = malloc(len + LP_ENTRY_LEN);
    if (!code) {
        lpa_err(err, "process %d: out of memory", (int)t->pid);
        return 1;
    }
    if (lpa_mem_read(t->memfd, fp->sym_addr - f->old_prepad, code, len) != 0) {
        lpa_err(err, "process %d: cannot read %s at %#llx: %s", (int)t->pid, fp->name,
                (unsigned long long)fp->sym_addr, strerror(errno));
        free(code);
        return 1;
    }
    uint8_t *entry = code + f->old_prepad + f->old_entry_off;
    uint8_t nop[LP_ENTRY_LEN];
    lp_entry_nop(nop);
    const uint8_t *expect = fp->prev ? fp->prev->new_entry : nop;
    int rc = 0;
    if (f->old_entry_off + (unsigned)LP_ENTRY_LEN > f->old_size ||
        memcmp(entry, expect, LP_ENTRY_LEN) != 0) {
        lpa_err(err, "%s: %s at %#llx has no patchable entry (found %02x %02x)", t->mod->path,
                fp->name, (unsigned long long)fp->sym_addr, entry[0], entry[1]);
        rc = 1;
    } else if (!t->stacked && f->old_code_hash) {
        lp_entry_nop(entry); /* hash the code as the file has it */
        uint64_t h = XXH3_64bits(code + f->old_prepad, f->old_size);
        if (h != f->old_code_hash) {
            lpa_err(err, "%s: code of %s in process %d differs from the patch's old build",
                    t->mod->path, fp->name, (int)t->pid);
            rc = 1;
        }
    }
    free(code);
    return rc;
}

int lpa_target_bind(struct lpa_target *t, const struct lp_patch *p, char **allow, size_t nallow,
                    char *err)
{
    const struct lp_header *h = lp_patch_header(p);
    char hex[2 * LP_BUILD_ID_MAX + 1], idhex[33];
    free(t->resolved);
    free(t->is_resolved);
    lpm_free(t->records); /* of the module bound before */
    t->records = NULL;
    t->resolved = calloc(h->nsyms + 1u, sizeof *t->resolved);
    t->is_resolved = calloc(h->nsyms + 1u, 1);
    if (!t->resolved || !t->is_resolved)
        return lpa_err(err, "out of memory");
    t->patch = p;
    t->mod = NULL;
    t->stacked = 0;
    for (struct lps_patch *r = lps_next(&t->state, NULL); r; r = lps_next(&t->state, r))
        if (memcmp(r->patch_id, h->patch_id, 16) == 0) {
            lp_hex(h->patch_id, 16, idhex);
            if (r->status == LPS_APPLIED)
                lpa_err(err, "patch %s is already applied to process %d", idhex, (int)t->pid);
            else
                lpa_err(err,
                        "patch %s was interrupted while %s in process %d; run 'lpatch revert %d "
                        "%.12s' first",
                        idhex, r->status == LPS_APPLYING ? "applying" : "reverting", (int)t->pid,
                        (int)t->pid, idhex);
            return 1;
        }
    for (size_t i = 0; i < t->nmods && !t->mod; i++)
        if (same_id(t->mods[i].build_id, t->mods[i].build_id_len, h->old_build_id,
                    h->old_build_id_len))
            t->mod = &t->mods[i];
    if (!t->mod) { /* stacked: on top of the newest patch of some module */
        struct lps_patch *newest = NULL;
        for (struct lps_patch *r = lps_next(&t->state, NULL); r; r = lps_next(&t->state, r))
            if (same_id(r->new_build_id, r->new_build_id_len, h->old_build_id, h->old_build_id_len))
                newest = r;
        if (newest && (t->mod = module_of_record(t, newest)))
            t->stacked = 1;
    }
    if (!t->mod) {
        lpa_err(err, "process %d maps no module with build-id %s (patch is for %s)", (int)t->pid,
                lp_hex(h->old_build_id, h->old_build_id_len, hex), lp_patch_str(p, h->module_name));
        return 1;
    }
    uint32_t n;
    const struct lp_func *f = lp_patch_funcs(p, &n);
    free(t->fp);
    t->fp = calloc(n ? n : 1, sizeof *t->fp);
    t->nfp = 0;
    if (!t->fp) {
        lpa_err(err, "out of memory");
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (f[i].flags & LP_FUNC_NEW)
            continue;
        struct lpa_fplace *fp = &t->fp[t->nfp++];
        fp->f = &f[i];
        fp->name = lp_patch_str(p, f[i].name);
        fp->allow_active = (f[i].flags & LP_FUNC_ALLOW_ACTIVE) || in_list(allow, nallow, fp->name);
        if (place_func(t, fp, err) != 0)
            return 1;
    }
    return 0;
}

/* ---- Symbol resolution ------------------------------------------------ */

struct got_query {
    const char *name;
    uint64_t off;
    int found;
};

static int got_cb(void *ctx, unsigned type, uint64_t off, const char *sym, uint64_t v, int64_t a)
{
    struct got_query *q = ctx;
    (void)v;
    (void)a;
    if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) && strcmp(sym, q->name) == 0) {
        q->off = off;
        q->found = type;
        return type == R_X86_64_GLOB_DAT; /* a GLOB_DAT slot is always bound */
    }
    return 0;
}

/* What the module's own GOT says the symbol is: exactly ld.so's answer,
 * including IFUNC selections.  A lazy PLT slot still points at a working
 * call target (the PLT stub), so it is a fallback only. */
static int resolve_by_got(struct lpa_target *t, const char *name, uint64_t *addr, int *lazy)
{
    struct got_query q = {.name = name};
    elf_each_rela(t->mod->open_path, got_cb, &q);
    if (!q.found)
        return -1;
    uint64_t v = 0;
    if (lpa_mem_read(t->memfd, q.off + t->mod->load_bias, &v, 8) != 0 || !v)
        return -1;
    *lazy = q.found == R_X86_64_JUMP_SLOT && v >= t->mod->base && v < t->mod->end;
    *addr = v;
    return 0;
}

static const struct lpa_module *module_by_path(struct lpa_target *t, const char *path)
{
    for (size_t i = 0; i < t->nmods; i++)
        if (strcmp(t->mods[i].path, path) == 0)
            return &t->mods[i];
    return NULL;
}

/* Walk r_debug's link map from the executable's DT_DEBUG: search order of
 * the dynamic linker, first definition wins. */
static int resolve_by_link_map(struct lpa_target *t, const char *name, uint64_t *addr, char *err)
{
    const struct lpa_module *exe = NULL;
    for (size_t i = 0; i < t->nmods && !exe; i++)
        if (t->mods[i].is_main)
            exe = &t->mods[i];
    if (!exe)
        return -1;
    int fd = open(exe->open_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    size_t nph = 0;
    uint64_t dyn = 0;
    if (e && elf_getphdrnum(e, &nph) == 0)
        for (size_t i = 0; i < nph; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_DYNAMIC)
                dyn = ph.p_vaddr + exe->load_bias;
        }
    if (e)
        elf_end(e);
    close(fd);
    if (!dyn)
        return -1; /* static executable: no link map */
    uint64_t rdebug = 0;
    for (int i = 0; i < 512; i++) {
        uint64_t d[2];
        if (lpa_mem_read(t->memfd, dyn + 16u * (unsigned)i, d, 16) != 0 || d[0] == DT_NULL)
            break;
        if (d[0] == DT_DEBUG)
            rdebug = d[1];
    }
    uint64_t lm = 0;
    if (!rdebug || lpa_mem_read(t->memfd, rdebug + 8, &lm, 8) != 0)
        return -1;
    for (int guard = 0; lm && guard < 4096; guard++) {
        uint64_t l[4]; /* l_addr, l_name, l_ld, l_next */
        char path[4096] = "";
        if (lpa_mem_read(t->memfd, lm, l, sizeof l) != 0)
            break;
        if (l[1])
            pread(t->memfd, path, sizeof path - 1, (off_t)l[1]);
        path[sizeof path - 1] = 0;
        /* l_name may spell the path another way (/lib vs /usr/lib): the
         * load bias identifies the mapping */
        const struct lpa_module *m = path[0] ? module_by_path(t, path) : exe;
        for (size_t i = 0; i < t->nmods && !m; i++)
            if (t->mods[i].load_bias == l[0])
                m = &t->mods[i];
        struct found_sym s;
        if (m && elf_find_sym(m->open_path, name, 1, &s) == 0 && s.count) {
            if (s.type == STT_GNU_IFUNC) {
                lpa_err(err, "symbol %s is an IFUNC in %s and %s does not import it", name, m->path,
                        t->mod->path);
                return -2;
            }
            *addr = l[0] + s.value;
            return 0;
        }
        lm = l[3];
    }
    return -1;
}

/* A function-scope static of the running module by the plugin's stable
 * name ("fn::var") in unit unit_id, from its .livepatch.static records
 * (read once per bound module through lpmeta_read.h): a stacked patch was
 * made against another build, whose "var.N" numbering may differ.
 * 0 found; -1 not (err says why). */
static int find_static(struct lpa_target *t, uint64_t unit_id, const char *stable, uint64_t *addr,
                       char *err)
{
    const struct lpa_module *m = t->mod;
    char e[LPM_ERR_MAX];
    if (!t->records && lpm_read(m->open_path, &t->records, e) != 0)
        return lpa_err(err, "%s", e);
    const struct lpm_module *rec = t->records;
    for (size_t i = 0; i < rec->nstatics; i++) {
        const struct lpm_static *v = &rec->statics[i];
        /* addr 0 or -1: the linker dropped the variable */
        if (v->unit_id == unit_id && v->addr + 1 > 1 && strcmp(v->stable_name, stable) == 0) {
            *addr = v->addr + m->load_bias;
            return 0;
        }
    }
    return lpa_err(err,
                   rec->nfuncs ? "%s: stacked patch refers to the function-scope static %s, which "
                                 "the running build does not have (an earlier patch may have "
                                 "added it)"
                               : "%s: stacked patch refers to the function-scope static %s, and "
                                 "the running build has no livepatch records to find it by that "
                                 "name",
                   m->path, stable);
}

/* GCC names function-scope statics "var.N", N counted across the unit:
 * the same N may name another variable in another build. */
static int gcc_numbered_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || !dot[1])
        return 0;
    for (const char *p = dot + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

static int resolve_sym(struct lpa_target *t, const struct lp_patch *p, const struct lp_sym *s,
                       uint64_t *addr, char *err)
{
    const char *name = lp_patch_str(p, s->name);
    if (s->kind == LP_SYM_DYNAMIC) {
        int lazy = 0;
        uint64_t got = 0;
        int have_got = resolve_by_got(t, name, &got, &lazy) == 0;
        if (have_got && !lazy) {
            *addr = got;
            return 0;
        }
        int rc = resolve_by_link_map(t, name, addr, err);
        if (rc == 0)
            return 0;
        if (have_got) {
            *addr = got;
            return 0;
        }
        if (rc == -2)
            return -1;
        /* static executables: the symbol lives in the module itself */
        struct found_sym fs;
        elf_find_sym(t->mod->open_path, name, 0, &fs);
        if (fs.count) {
            *addr = fs.value + t->mod->load_bias;
            return 0;
        }
        lpa_err(err, "process %d: cannot resolve dynamic symbol %s", (int)t->pid, name);
        return -1;
    }
    if (s->kind == LP_SYM_MODULE) { /* a stacked patch: by name in this build */

        struct lps_func *r = t->stacked ? newest_redirect(t, 0, name) : NULL;
        if (r) { /* the newest code of a function earlier patches replaced */
            *addr = r->sym_addr;
            return 0;
        }
        if (strstr(name, "::")) /* lpdiff's stable name for a function-scope static */
            return find_static(t, s->unit_id, name, addr, err) == 0 ? 0 : -1;
        struct found_sym fs;
        elf_find_sym(t->mod->open_path, name, 0, &fs);
        if (fs.count == 1 && fs.type == STT_OBJECT && gcc_numbered_name(name)) {
            lpa_err(err,
                    "%s: stacked patch refers to the function-scope static %s, whose "
                    "number may name another variable in the running build; make one "
                    "patch from the deployed revision instead (make livepatch "
                    "OLD=<deployed> NEW=...)",
                    t->mod->path, name);
            return -1;
        }
        if (fs.count == 1) {
            *addr = fs.value + t->mod->load_bias;
            return 0;
        }
        lpa_err(err, "%s: symbol %s %s", t->mod->path, name,
                fs.count ? "is ambiguous" : "not found");
        return -1;
    }
    lpa_err(err, "symbol %s: kind %u cannot be resolved by name", name, s->kind);
    return -1;
}

int lpa_target_resolve(void *ctx, const struct lp_patch *p, const struct lp_sym *s, uint64_t *addr,
                       char *err)
{
    struct lpa_target *t = ctx;
    uint32_t nsyms = 0;
    const struct lp_sym *syms = lp_patch_syms(p, &nsyms);
    int cacheable = p == t->patch && t->resolved && s >= syms && s < syms + nsyms;
    size_t i = cacheable ? (size_t)(s - syms) : 0;
    if (cacheable && t->is_resolved[i]) {
        *addr = t->resolved[i];
        return 0;
    }
    int rc = resolve_sym(t, p, s, addr, err);
    if (rc == 0 && cacheable) {
        t->resolved[i] = *addr;
        t->is_resolved[i] = 1;
    }
    return rc;
}

/* ---- TLS -------------------------------------------------------------- */

struct tls_query {
    struct lpa_target *t;
    int have_tpoff, have_modid;
    int64_t tpoff;
    uint64_t modid;
};

static int tls_cb(void *ctx, unsigned type, uint64_t off, const char *sym, uint64_t v, int64_t a)
{
    struct tls_query *q = ctx;
    uint64_t mem = 0;
    (void)sym;
    if (type != R_X86_64_TPOFF64 && type != R_X86_64_DTPMOD64)
        return 0;
    if (lpa_mem_read(q->t->memfd, off + q->t->mod->load_bias, &mem, 8) != 0)
        return 0;
    if (type == R_X86_64_TPOFF64 && !q->have_tpoff) {
        q->tpoff = (int64_t)mem - (int64_t)v - a; /* value = block start + symbol + addend */
        q->have_tpoff = 1;
    } else if (type == R_X86_64_DTPMOD64 && !q->have_modid) {
        q->modid = mem;
        q->have_modid = 1;
    }
    return q->have_tpoff && q->have_modid;
}

void lpa_target_tls(struct lpa_target *t, struct lp_target *lt)
{
    struct lpa_module *m = t->mod;
    lt->has_static_tls = 0;
    lt->tls_tpoff = 0;
    lt->tls_modid = 0;
    if (!m->has_tls)
        return;
    if (m->is_main) { /* the executable's block sits right below the thread pointer */
        uint64_t a = m->tls_align, first = (0 - m->tls_vaddr) & (a - 1);
        lt->has_static_tls = 1;
        lt->tls_tpoff = -(int64_t)((m->tls_memsz + first + a - 1) & ~(a - 1));
        lt->tls_modid = 1;
        return;
    }
    struct tls_query q = {.t = t};
    elf_each_rela(m->open_path, tls_cb, &q);
    lt->has_static_tls = q.have_tpoff;
    lt->tls_tpoff = q.tpoff;
    lt->tls_modid = q.modid;
}
