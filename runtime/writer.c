/*
 * writer.c - serialise a patch (lpatch_format.h).  The one place that knows
 * the byte layout of a .lpatch file; differ/ feeds it, the loader reads it.
 *
 * The ELF container is written directly from <elf.h> structs rather than
 * through libelf: the layout is fixed and tiny, the output must be
 * byte-for-byte deterministic, and liblivepatch then depends on libxxhash
 * only (a future in-process patcher links it into the target).
 *
 * File layout: Elf64_Ehdr, then the sections in lp_file_sections[] order
 * (each at its alignment; .lp.bss takes no bytes), .shstrtab, and the
 * section header table last.
 */
#include <assert.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "lp_internal.h"

struct buf {
    uint8_t *data;
    uint64_t len, cap;
};

struct lp_writer {
    struct buf sec[LP_NSECTIONS]; /* text, rodata, data: bytes */
    uint64_t sec_align[LP_NSECTIONS];
    uint64_t bss_size;
    struct buf funcs, syms, relocs, strtab, summary;
    uint32_t *str_hash; /* open addressing: strtab offset + 1, 0 empty */
    uint32_t str_hash_cap, str_count;
    uint32_t nfuncs, nsyms, nrelocs;
    struct lp_header hdr;
    char error[LP_ERR_MAX]; /* first misuse or allocation failure */
};

static void writer_error(struct lp_writer *w, const char *what)
{
    if (!w->error[0])
        snprintf(w->error, sizeof w->error, "patch writer: %s", what);
}

static int buf_reserve(struct lp_writer *w, struct buf *b, uint64_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    uint64_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        writer_error(w, "out of memory");
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Append `len` bytes (zeros when data is NULL) after padding to `align`. */
static uint64_t buf_append(struct lp_writer *w, struct buf *b, const void *data, uint64_t len,
                           uint64_t align)
{
    uint64_t off = lp_align_up(b->len, align);
    if (buf_reserve(w, b, off - b->len + len) < 0)
        return 0;
    memset(b->data + b->len, 0, off - b->len);
    if (data)
        memcpy(b->data + off, data, len);
    else
        memset(b->data + off, 0, len);
    b->len = off + len;
    return off;
}

struct lp_writer *lp_writer_new(void)
{
    struct lp_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    for (int s = 0; s < LP_NSECTIONS; s++)
        w->sec_align[s] = 1;
    memcpy(w->hdr.magic, LP_MAGIC, sizeof w->hdr.magic);
    w->hdr.version = LP_FORMAT_VERSION;
    buf_append(w, &w->strtab, "", 1, 1); /* offset 0 is "" */
    return w;
}

void lp_writer_free(struct lp_writer *w)
{
    if (!w)
        return;
    for (int s = 0; s < LP_NSECTIONS; s++)
        free(w->sec[s].data);
    free(w->funcs.data);
    free(w->syms.data);
    free(w->relocs.data);
    free(w->strtab.data);
    free(w->summary.data);
    free(w->str_hash);
    free(w);
}

static uint32_t str_slot(const struct lp_writer *w, const char *s, uint64_t h)
{
    uint32_t mask = w->str_hash_cap - 1, i = (uint32_t)h & mask;
    while (w->str_hash[i] && strcmp((const char *)w->strtab.data + w->str_hash[i] - 1, s) != 0)
        i = (i + 1) & mask;
    return i;
}

static int str_grow(struct lp_writer *w)
{
    uint32_t old_cap = w->str_hash_cap, *old = w->str_hash;
    uint32_t cap = old_cap ? old_cap * 2 : 256;
    uint32_t *tab = calloc(cap, sizeof *tab);
    if (!tab) {
        writer_error(w, "out of memory");
        return -1;
    }
    w->str_hash = tab;
    w->str_hash_cap = cap;
    for (uint32_t i = 0; i < old_cap; i++) {
        if (!old[i])
            continue;
        const char *s = (const char *)w->strtab.data + old[i] - 1;
        tab[str_slot(w, s, XXH3_64bits(s, strlen(s)))] = old[i];
    }
    free(old);
    return 0;
}

uint32_t lp_writer_str(struct lp_writer *w, const char *s)
{
    if (!s || !*s)
        return 0;
    if ((w->str_count + 1) * 2 > w->str_hash_cap && str_grow(w) < 0)
        return 0;
    size_t n = strlen(s);
    assert(w->str_hash && (w->str_count + 1) * 2 <= w->str_hash_cap); /* half full at most */
    uint32_t slot = str_slot(w, s, XXH3_64bits(s, n));
    if (w->str_hash[slot])
        return w->str_hash[slot] - 1;
    if (w->strtab.len + n + 1 > UINT32_MAX - 1) {
        writer_error(w, "string table exceeds 4 GiB");
        return 0;
    }
    uint64_t off = w->strtab.len;
    if (buf_reserve(w, &w->strtab, n + 1) < 0)
        return 0;
    buf_append(w, &w->strtab, s, n + 1, 1);
    w->str_hash[slot] = (uint32_t)off + 1;
    w->str_count++;
    return (uint32_t)off;
}

uint64_t lp_writer_append(struct lp_writer *w, enum lp_section s, const void *data, uint64_t len,
                          uint64_t align)
{
    if (align == 0)
        align = 1;
    if (align & (align - 1) || align > LP_PAGE_SIZE) {
        writer_error(w, "section alignment must be a power of two up to 4096");
        return 0;
    }
    if (s < LP_SEC_TEXT || s > LP_SEC_BSS) {
        writer_error(w, "lp_writer_append: unknown section");
        return 0;
    }
    if (align > w->sec_align[s])
        w->sec_align[s] = align;
    if (s == LP_SEC_BSS) {
        if (data) {
            writer_error(w, "lp_writer_append: .lp.bss takes no data");
            return 0;
        }
        uint64_t off = lp_align_up(w->bss_size, align);
        w->bss_size = off + len;
        return off;
    }
    return buf_append(w, &w->sec[s], data, len, align);
}

void lp_writer_put(struct lp_writer *w, enum lp_section s, uint64_t off, const void *data,
                   uint64_t len)
{
    if (s < LP_SEC_TEXT || s >= LP_SEC_BSS || off > w->sec[s].len || len > w->sec[s].len - off) {
        writer_error(w, "lp_writer_put: outside what was appended");
        return;
    }
    memcpy(w->sec[s].data + off, data, len);
}

uint32_t lp_writer_sym(struct lp_writer *w, const struct lp_sym *sym)
{
    buf_append(w, &w->syms, sym, sizeof *sym, 8);
    return w->nsyms++;
}

/* Reserved fields are written as zero whatever the caller left in them, so
 * the output depends on the patch content only. */
void lp_writer_reloc(struct lp_writer *w, const struct lp_reloc *r)
{
    struct lp_reloc c = *r;
    c.reserved = 0;
    buf_append(w, &w->relocs, &c, sizeof c, 8);
    w->nrelocs++;
}

void lp_writer_func(struct lp_writer *w, const struct lp_func *f)
{
    struct lp_func c = *f;
    c.reserved = 0;
    c.reserved2 = 0;
    buf_append(w, &w->funcs, &c, sizeof c, 8);
    w->nfuncs++;
}

void lp_writer_header(struct lp_writer *w, uint32_t flags, const uint8_t *old_build_id,
                      uint32_t old_len, const uint8_t *new_build_id, uint32_t new_len,
                      const char *module_name)
{
    if (old_len > LP_BUILD_ID_MAX || new_len > LP_BUILD_ID_MAX) {
        writer_error(w, "build-id longer than 32 bytes");
        return;
    }
    w->hdr.flags = flags;
    memset(w->hdr.old_build_id, 0, LP_BUILD_ID_MAX);
    memset(w->hdr.new_build_id, 0, LP_BUILD_ID_MAX);
    if (old_len)
        memcpy(w->hdr.old_build_id, old_build_id, old_len);
    if (new_len)
        memcpy(w->hdr.new_build_id, new_build_id, new_len);
    w->hdr.old_build_id_len = old_len;
    w->hdr.new_build_id_len = new_len;
    w->hdr.module_name = lp_writer_str(w, module_name);
}

void lp_writer_summary(struct lp_writer *w, const char *text)
{
    w->summary.len = 0;
    if (text)
        buf_append(w, &w->summary, text, strlen(text), 1);
}

/* ---- serialisation ---------------------------------------------------- */

struct out_sec {
    const char *name;
    uint32_t type;
    uint64_t flags, align, entsize;
    const void *data;
    uint64_t size;
};

static void describe_sections(struct lp_writer *w, struct out_sec s[LP_FS_COUNT])
{
    s[LP_FS_HEADER] = (struct out_sec){
        LP_SEC_HEADER_NAME, SHT_PROGBITS, 0, 8, sizeof(struct lp_header), &w->hdr, sizeof w->hdr};
    s[LP_FS_TEXT] = (struct out_sec){LP_SEC_TEXT_NAME,
                                     SHT_PROGBITS,
                                     SHF_ALLOC | SHF_EXECINSTR,
                                     w->sec_align[LP_SEC_TEXT],
                                     0,
                                     w->sec[LP_SEC_TEXT].data,
                                     w->sec[LP_SEC_TEXT].len};
    s[LP_FS_RODATA] = (struct out_sec){LP_SEC_RODATA_NAME,
                                       SHT_PROGBITS,
                                       SHF_ALLOC,
                                       w->sec_align[LP_SEC_RODATA],
                                       0,
                                       w->sec[LP_SEC_RODATA].data,
                                       w->sec[LP_SEC_RODATA].len};
    s[LP_FS_DATA] = (struct out_sec){LP_SEC_DATA_NAME,
                                     SHT_PROGBITS,
                                     SHF_ALLOC | SHF_WRITE,
                                     w->sec_align[LP_SEC_DATA],
                                     0,
                                     w->sec[LP_SEC_DATA].data,
                                     w->sec[LP_SEC_DATA].len};
    s[LP_FS_BSS] = (struct out_sec){
        LP_SEC_BSS_NAME, SHT_NOBITS, SHF_ALLOC | SHF_WRITE, w->sec_align[LP_SEC_BSS], 0, NULL,
        w->bss_size};
    s[LP_FS_FUNCS] = (struct out_sec){LP_SEC_FUNCS_NAME,      SHT_PROGBITS,  0,           8,
                                      sizeof(struct lp_func), w->funcs.data, w->funcs.len};
    s[LP_FS_SYMS] = (struct out_sec){LP_SEC_SYMS_NAME,      SHT_PROGBITS, 0,          8,
                                     sizeof(struct lp_sym), w->syms.data, w->syms.len};
    s[LP_FS_RELOCS] =
        (struct out_sec){LP_SEC_RELOCS_NAME, SHT_PROGBITS, 0, 8, sizeof(struct lp_reloc),
                         w->relocs.data,     w->relocs.len};
    s[LP_FS_STRTAB] = (struct out_sec){LP_SEC_STRTAB_NAME, SHT_STRTAB,   SHF_STRINGS, 1, 0,
                                       w->strtab.data,     w->strtab.len};
    s[LP_FS_SUMMARY] = (struct out_sec){LP_SEC_SUMMARY_NAME, SHT_PROGBITS,  0, 1, 0,
                                        w->summary.data,     w->summary.len};
}

/* Build the whole file in memory; *out is malloc'd. */
static int serialise(struct lp_writer *w, uint8_t **out, size_t *out_len, uint8_t id[16])
{
    struct out_sec s[LP_FS_COUNT];
    w->hdr.nfuncs = w->nfuncs;
    w->hdr.nsyms = w->nsyms;
    w->hdr.nrelocs = w->nrelocs;
    w->hdr.created = 0;
    w->hdr.checksum = 0;
    memset(w->hdr.patch_id, 0, sizeof w->hdr.patch_id);
    describe_sections(w, s);

    /* .shstrtab: "" then every name, in order. */
    char shstr[256];
    uint32_t name_off[LP_FS_COUNT + 1] = {0}, shstr_len = 1;
    shstr[0] = 0;
    for (int i = 0; i <= LP_FS_COUNT; i++) {
        const char *n = i < LP_FS_COUNT ? s[i].name : ".shstrtab";
        assert(shstr_len + strlen(n) + 1 <= sizeof shstr); /* fixed names fit */
        name_off[i] = shstr_len;
        memcpy(shstr + shstr_len, n, strlen(n) + 1);
        shstr_len += (uint32_t)strlen(n) + 1;
    }

    Elf64_Shdr sh[LP_FS_COUNT + 2];
    memset(sh, 0, sizeof sh);
    uint64_t off = sizeof(Elf64_Ehdr);
    for (int i = 0; i < LP_FS_COUNT; i++) {
        Elf64_Shdr *h = &sh[i + 1];
        h->sh_name = name_off[i];
        h->sh_type = s[i].type;
        h->sh_flags = s[i].flags;
        h->sh_addralign = s[i].align;
        h->sh_entsize = s[i].entsize;
        h->sh_size = s[i].size;
        off = lp_align_up(off, s[i].align);
        h->sh_offset = off;
        if (s[i].type != SHT_NOBITS)
            off += s[i].size;
    }
    Elf64_Shdr *hs = &sh[LP_FS_COUNT + 1];
    hs->sh_name = name_off[LP_FS_COUNT];
    hs->sh_type = SHT_STRTAB;
    hs->sh_addralign = 1;
    hs->sh_offset = off;
    hs->sh_size = shstr_len;
    off = lp_align_up(off + shstr_len, 8);
    uint64_t shoff = off;
    size_t len = shoff + sizeof sh;

    uint8_t *file = calloc(1, len);
    if (!file) {
        writer_error(w, "out of memory");
        return -1;
    }
    w->hdr.file_size = len;
    assert(hs->sh_offset + shstr_len <= shoff && shoff % 8 == 0);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)file;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
    eh->e_type = ET_REL;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_shoff = shoff;
    eh->e_ehsize = sizeof(Elf64_Ehdr);
    eh->e_shentsize = sizeof(Elf64_Shdr);
    eh->e_shnum = LP_FS_COUNT + 2;
    eh->e_shstrndx = LP_FS_COUNT + 1;
    for (int i = 0; i < LP_FS_COUNT; i++)
        if (s[i].type != SHT_NOBITS && s[i].size) {
            assert(s[i].data && sh[i + 1].sh_offset + s[i].size <= hs->sh_offset);
            memcpy(file + sh[i + 1].sh_offset, s[i].data, s[i].size);
        }
    memcpy(file + hs->sh_offset, shstr, shstr_len);
    memcpy(file + shoff, sh, sizeof sh);

    struct lp_header *hdr = (struct lp_header *)(file + sh[1].sh_offset);
    lp_compute_patch_id(file, hdr->patch_id);
    hdr->checksum =
        lp_compute_checksum(file, len, sh[1].sh_offset + offsetof(struct lp_header, checksum));
    if (id)
        memcpy(id, hdr->patch_id, 16);
    *out = file;
    *out_len = len;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int lp_writer_bytes(struct lp_writer *w, uint8_t **buf, size_t *len, uint8_t patch_id[16],
                    char *err)
{
    if (w->error[0] || serialise(w, buf, len, patch_id) < 0)
        return lp_fail(err, "%s", w->error);
    return 0;
}

int lp_file_replace(const char *path, const void *data, size_t len, char *err)
{
    /* The temp file is created, never opened: O_EXCL (mkostemp) neither
     * follows a symlink planted at its name nor reuses a file there.  The
     * rename replaces whatever path names, a symlink included, and never
     * writes through it. */
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return lp_fail(err, "%s: path too long", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return lp_fail(err, "%s: cannot create a temporary file beside it: %s", path,
                       strerror(errno));
    mode_t mask = umask(0); /* mkostemp makes 0600: give the mode creat(0644) would */
    umask(mask);
    int rc = fchmod(fd, 0644 & ~mask);
    if (rc == 0)
        rc = write_all(fd, data, len);
    int e = errno;
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -1;
        e = errno;
    }
    if (rc < 0) {
        unlink(tmp);
        return lp_fail(err, "%s: cannot write: %s", path, strerror(e));
    }
    return 0;
}

int lp_writer_write(struct lp_writer *w, const char *path, uint8_t patch_id[16], char *err)
{
    uint8_t *file;
    size_t len;
    if (w->error[0] || serialise(w, &file, &len, patch_id) < 0)
        return lp_fail(err, "%s: %s", path, w->error);
    int rc = lp_file_replace(path, file, len, err);
    free(file);
    return rc;
}
