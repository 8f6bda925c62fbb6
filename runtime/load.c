/*
 * load.c - read and validate a patch file.  Nothing in the file is trusted:
 * every size, offset, index and string is checked before any accessor hands
 * out a pointer, so the applier never acts on a malformed patch.
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

#include "lp_internal.h"

const char *const lp_file_sections[LP_FS_COUNT] = {
    LP_SEC_HEADER_NAME, LP_SEC_TEXT_NAME,    LP_SEC_RODATA_NAME, LP_SEC_DATA_NAME,
    LP_SEC_BSS_NAME,    LP_SEC_FUNCS_NAME,   LP_SEC_SYMS_NAME,   LP_SEC_RELOCS_NAME,
    LP_SEC_STRTAB_NAME, LP_SEC_SUMMARY_NAME,
};

#define MAX_SECTIONS 64

static int is_pow2_or_zero(uint64_t v)
{
    return (v & (v - 1)) == 0;
}

/* [off, off+size) inside [0, limit) without overflow. */
static int in_bounds(uint64_t off, uint64_t size, uint64_t limit)
{
    return off <= limit && size <= limit - off;
}

static int check_elf_header(const char *name, const uint8_t *buf, size_t len, char *err)
{
    if (len < sizeof(Elf64_Ehdr))
        return lp_fail(err, "%s: file too small (%zu bytes) for an ELF header", name, len);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return lp_fail(err, "%s: not an ELF file (bad magic)", name);
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_ident[EI_VERSION] != EV_CURRENT)
        return lp_fail(err, "%s: ELF header: not ELF64 little-endian version 1", name);
    if (eh->e_type != ET_REL || eh->e_machine != EM_X86_64)
        return lp_fail(err, "%s: ELF header: type %u machine %u, expected ET_REL EM_X86_64", name,
                       eh->e_type, eh->e_machine);
    if (eh->e_ehsize != sizeof(Elf64_Ehdr) || eh->e_shentsize != sizeof(Elf64_Shdr))
        return lp_fail(err, "%s: ELF header: unexpected header sizes", name);
    if (eh->e_shnum < 2 || eh->e_shnum > MAX_SECTIONS)
        return lp_fail(err, "%s: ELF header: %u sections (expected 2..%d)", name, eh->e_shnum,
                       MAX_SECTIONS);
    if (eh->e_shoff % 8 || !in_bounds(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), len))
        return lp_fail(err, "%s: section header table at 0x%llx beyond end of file (0x%zx)", name,
                       (unsigned long long)eh->e_shoff, len);
    if (eh->e_shstrndx == 0 || eh->e_shstrndx >= eh->e_shnum)
        return lp_fail(err, "%s: ELF header: bad .shstrtab index %u", name, eh->e_shstrndx);
    return 0;
}

static int check_section(const char *name, const uint8_t *buf, size_t len, unsigned i,
                         uint64_t shstr_size, char *err)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff) + i;
    if (sh->sh_name >= shstr_size)
        return lp_fail(err, "%s: section %u: name offset 0x%x beyond .shstrtab", name, i,
                       sh->sh_name);
    if (!is_pow2_or_zero(sh->sh_addralign) || sh->sh_addralign > LP_PAGE_SIZE)
        return lp_fail(err, "%s: section %u: bad alignment 0x%llx", name, i,
                       (unsigned long long)sh->sh_addralign);
    if (sh->sh_type == SHT_NOBITS)
        return 0;
    if (!in_bounds(sh->sh_offset, sh->sh_size, len))
        return lp_fail(err, "%s: section %u: [0x%llx, +0x%llx) beyond end of file (0x%zx)", name, i,
                       (unsigned long long)sh->sh_offset, (unsigned long long)sh->sh_size, len);
    if (sh->sh_addralign > 1 && sh->sh_offset % sh->sh_addralign)
        return lp_fail(err, "%s: section %u: offset 0x%llx not aligned to 0x%llx", name, i,
                       (unsigned long long)sh->sh_offset, (unsigned long long)sh->sh_addralign);
    return 0;
}

int lp_parse_sections(const char *name, const uint8_t *buf, size_t len, unsigned idx[LP_FS_COUNT],
                      char *err)
{
    if (check_elf_header(name, buf, len, err) < 0)
        return -1;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
    const Elf64_Shdr *ss = &sh[eh->e_shstrndx];
    if (ss->sh_type != SHT_STRTAB || !in_bounds(ss->sh_offset, ss->sh_size, len) ||
        ss->sh_size == 0 || buf[ss->sh_offset + ss->sh_size - 1] != 0)
        return lp_fail(err, "%s: .shstrtab is not a NUL-terminated string table inside the file",
                       name);
    const char *shstr = (const char *)buf + ss->sh_offset;

    for (int k = 0; k < LP_FS_COUNT; k++)
        idx[k] = 0;
    for (unsigned i = 1; i < eh->e_shnum; i++) {
        if (check_section(name, buf, len, i, ss->sh_size, err) < 0)
            return -1;
        for (int k = 0; k < LP_FS_COUNT; k++) {
            if (strcmp(shstr + sh[i].sh_name, lp_file_sections[k]) != 0)
                continue;
            if (idx[k])
                return lp_fail(err, "%s: section %s appears twice (sections %u and %u)", name,
                               lp_file_sections[k], idx[k], i);
            idx[k] = i;
        }
    }
    for (int k = 0; k < LP_FS_COUNT; k++) {
        if (!idx[k])
            return lp_fail(err, "%s: missing section %s", name, lp_file_sections[k]);
        assert(idx[k] < eh->e_shnum);
        int want_nobits = k == LP_FS_BSS;
        if ((sh[idx[k]].sh_type == SHT_NOBITS) != want_nobits)
            return lp_fail(err, "%s: section %s: type %u, expected %s", name, lp_file_sections[k],
                           sh[idx[k]].sh_type, want_nobits ? "SHT_NOBITS" : "file contents");
    }
    const Elf64_Shdr *h = &sh[idx[LP_FS_HEADER]];
    if (h->sh_size != sizeof(struct lp_header) || h->sh_offset % 8)
        return lp_fail(err, "%s: %s: size 0x%llx, expected 0x%zx (8-byte aligned)", name,
                       LP_SEC_HEADER_NAME, (unsigned long long)h->sh_size,
                       sizeof(struct lp_header));
    return 0;
}

/* ---- contents --------------------------------------------------------- */

const char *lp_section_name(uint32_t s)
{
    switch (s) {
    case LP_SEC_TEXT:
        return LP_SEC_TEXT_NAME;
    case LP_SEC_RODATA:
        return LP_SEC_RODATA_NAME;
    case LP_SEC_DATA:
        return LP_SEC_DATA_NAME;
    case LP_SEC_BSS:
        return LP_SEC_BSS_NAME;
    }
    return "?";
}

static int valid_str(const struct lp_patch *p, uint32_t off)
{
    return off < p->strtab_size;
}

/* A table section: exactly `count` records of `size` bytes, 8-byte aligned. */
static const void *table(struct lp_patch *p, const Elf64_Shdr *sh, uint32_t count, size_t size,
                         const char *what, const char *field, char *err)
{
    if (sh->sh_size != (uint64_t)count * size || sh->sh_offset % 8) {
        lp_fail(err, "%s: %s: size 0x%llx does not hold header.%s = %u records of %zu bytes",
                p->name, what, (unsigned long long)sh->sh_size, field, count, size);
        return NULL;
    }
    return p->buf + sh->sh_offset;
}

static int check_header(struct lp_patch *p, const Elf64_Shdr *sh, const unsigned idx[], char *err)
{
    const struct lp_header *h = p->hdr;
    if (memcmp(h->magic, LP_MAGIC, sizeof h->magic) != 0)
        return lp_fail(err, "%s: %s: bad magic (not a livepatch patch)", p->name,
                       LP_SEC_HEADER_NAME);
    if (h->version != LP_FORMAT_VERSION)
        return lp_fail(err, "%s: %s: format version %u, this liblivepatch reads version %d",
                       p->name, LP_SEC_HEADER_NAME, h->version, LP_FORMAT_VERSION);
    if (h->file_size != p->len)
        return lp_fail(err, "%s: %s: file_size %llu but the file has %zu bytes (truncated?)",
                       p->name, LP_SEC_HEADER_NAME, (unsigned long long)h->file_size, p->len);
    size_t csum_off = sh[idx[LP_FS_HEADER]].sh_offset + offsetof(struct lp_header, checksum);
    uint64_t sum = lp_compute_checksum(p->buf, p->len, csum_off);
    if (sum != h->checksum)
        return lp_fail(err, "%s: checksum mismatch (file says %016llx, contents give %016llx)",
                       p->name, (unsigned long long)h->checksum, (unsigned long long)sum);
    uint8_t id[16];
    lp_compute_patch_id(p->buf, id);
    if (memcmp(id, h->patch_id, 16) != 0)
        return lp_fail(err, "%s: %s: patch_id does not match the patch contents", p->name,
                       LP_SEC_HEADER_NAME);
    uint32_t known = LP_HDR_MODULE_PIC | LP_HDR_MODULE_SHARED | LP_HDR_HOOKS | LP_HDR_UNWIND;
    if (h->flags & ~known)
        return lp_fail(err, "%s: %s: unknown flags 0x%x", p->name, LP_SEC_HEADER_NAME,
                       h->flags & ~known);
    if (h->old_build_id_len > LP_BUILD_ID_MAX || h->new_build_id_len > LP_BUILD_ID_MAX)
        return lp_fail(err, "%s: %s: build-id length %u/%u exceeds %d", p->name, LP_SEC_HEADER_NAME,
                       h->old_build_id_len, h->new_build_id_len, LP_BUILD_ID_MAX);
    return 0;
}

static int check_sections(struct lp_patch *p, const Elf64_Shdr *sh, const unsigned idx[], char *err)
{
    static const int loadable[LP_NSECTIONS] = {0, LP_FS_TEXT, LP_FS_RODATA, LP_FS_DATA, LP_FS_BSS};
    for (int s = LP_SEC_TEXT; s <= LP_SEC_BSS; s++) {
        const Elf64_Shdr *h = &sh[idx[loadable[s]]];
        p->sec[s].data = s == LP_SEC_BSS ? NULL : p->buf + h->sh_offset;
        p->sec[s].size = h->sh_size;
        p->sec[s].align = h->sh_addralign ? h->sh_addralign : 1;
        if (h->sh_size > (1ull << 32))
            return lp_fail(err, "%s: %s: size 0x%llx exceeds 4 GiB", p->name, lp_section_name(s),
                           (unsigned long long)h->sh_size);
    }
    const Elf64_Shdr *st = &sh[idx[LP_FS_STRTAB]];
    p->strtab = (const char *)p->buf + st->sh_offset;
    p->strtab_size = st->sh_size;
    if (st->sh_size == 0 || p->strtab[0] != 0 || p->strtab[st->sh_size - 1] != 0)
        return lp_fail(err, "%s: %s: must start and end with a NUL byte", p->name,
                       LP_SEC_STRTAB_NAME);
    const Elf64_Shdr *sm = &sh[idx[LP_FS_SUMMARY]];
    p->summary = (const char *)p->buf + sm->sh_offset;
    p->summary_len = sm->sh_size;

    const struct lp_header *h = p->hdr;
    if (!valid_str(p, h->module_name))
        return lp_fail(err, "%s: %s: module_name offset 0x%x beyond %s (size 0x%llx)", p->name,
                       LP_SEC_HEADER_NAME, h->module_name, LP_SEC_STRTAB_NAME,
                       (unsigned long long)p->strtab_size);
    p->funcs = table(p, &sh[idx[LP_FS_FUNCS]], h->nfuncs, sizeof(struct lp_func), LP_SEC_FUNCS_NAME,
                     "nfuncs", err);
    if (!p->funcs)
        return -1;
    p->syms = table(p, &sh[idx[LP_FS_SYMS]], h->nsyms, sizeof(struct lp_sym), LP_SEC_SYMS_NAME,
                    "nsyms", err);
    if (!p->syms)
        return -1;
    p->relocs = table(p, &sh[idx[LP_FS_RELOCS]], h->nrelocs, sizeof(struct lp_reloc),
                      LP_SEC_RELOCS_NAME, "nrelocs", err);
    return p->relocs ? 0 : -1;
}

static int check_func(struct lp_patch *p, uint32_t i, char *err)
{
    const struct lp_func *f = &p->funcs[i];
    const uint64_t text = p->sec[LP_SEC_TEXT].size;
    if (!valid_str(p, f->name) || !p->strtab[f->name])
        return lp_fail(err, "%s: %s[%u]: name offset 0x%x is not a string in %s", p->name,
                       LP_SEC_FUNCS_NAME, i, f->name, LP_SEC_STRTAB_NAME);
    const char *fn = p->strtab + f->name;
    if (!valid_str(p, f->file))
        return lp_fail(err, "%s: %s[%u] '%s': file offset 0x%x beyond %s", p->name,
                       LP_SEC_FUNCS_NAME, i, fn, f->file, LP_SEC_STRTAB_NAME);
    uint32_t known = LP_FUNC_NEW | LP_FUNC_ALLOW_ACTIVE | LP_FUNC_LOCAL;
    if (f->flags & ~known)
        return lp_fail(err, "%s: %s[%u] '%s': unknown flags 0x%x", p->name, LP_SEC_FUNCS_NAME, i,
                       fn, f->flags & ~known);
    if (f->new_size == 0 || !in_bounds(f->new_off, f->new_size, text))
        return lp_fail(err, "%s: %s[%u] '%s': new code [0x%llx, +0x%x) not inside %s (size 0x%llx)",
                       p->name, LP_SEC_FUNCS_NAME, i, fn, (unsigned long long)f->new_off,
                       f->new_size, LP_SEC_TEXT_NAME, (unsigned long long)text);
    if (f->flags & LP_FUNC_NEW)
        return 0;
    if (f->old_addr == 0)
        return lp_fail(err, "%s: %s[%u] '%s': replaced function without an old address", p->name,
                       LP_SEC_FUNCS_NAME, i, fn);
    if (f->old_prepad < LP_ENTRY_PAD_MIN)
        return lp_fail(err, "%s: %s[%u] '%s': pad of %u bytes before the entry, %d needed", p->name,
                       LP_SEC_FUNCS_NAME, i, fn, f->old_prepad, LP_ENTRY_PAD_MIN);
    if ((uint32_t)f->old_entry_off + LP_ENTRY_LEN > f->old_size)
        return lp_fail(err, "%s: %s[%u] '%s': entry at +%u outside the old function (size %u)",
                       p->name, LP_SEC_FUNCS_NAME, i, fn, f->old_entry_off, f->old_size);
    if (!lp_entry_jump_reaches(f->old_prepad, f->old_entry_off))
        return lp_fail(err,
                       "%s: %s[%u] '%s': pad start is %ld bytes before the entry, beyond a "
                       "short jump",
                       p->name, LP_SEC_FUNCS_NAME, i, fn,
                       -lp_entry_jump_disp(f->old_prepad, f->old_entry_off));
    return 0;
}

struct addr_index {
    uint64_t addr;
    uint32_t index;
};

static int by_addr_then_index(const void *a, const void *b)
{
    const struct addr_index *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* No old function may be redirected twice by one patch (sorted: n log n). */
static int check_unique_old(struct lp_patch *p, char *err)
{
    uint32_t n = 0;
    struct addr_index *v = malloc(((size_t)p->hdr->nfuncs + 1) * sizeof *v);
    if (!v)
        return lp_fail(err, "%s: out of memory", p->name);
    for (uint32_t i = 0; i < p->hdr->nfuncs; i++)
        if (!(p->funcs[i].flags & LP_FUNC_NEW))
            v[n++] = (struct addr_index){p->funcs[i].old_addr, i};
    qsort(v, n, sizeof *v, by_addr_then_index);
    int rc = 0;
    for (uint32_t k = 1; k < n && rc == 0; k++)
        if (v[k].addr == v[k - 1].addr)
            rc = lp_fail(err, "%s: %s[%u] '%s': old function 0x%llx already redirected by [%u]",
                         p->name, LP_SEC_FUNCS_NAME, v[k].index,
                         p->strtab + p->funcs[v[k].index].name, (unsigned long long)v[k].addr,
                         v[k - 1].index);
    free(v);
    return rc;
}

static int check_sym(struct lp_patch *p, uint32_t i, char *err)
{
    const struct lp_sym *s = &p->syms[i];
    if (!valid_str(p, s->name))
        return lp_fail(err, "%s: %s[%u]: name offset 0x%x beyond %s", p->name, LP_SEC_SYMS_NAME, i,
                       s->name, LP_SEC_STRTAB_NAME);
    const char *sn = p->strtab + s->name;
    if (s->kind < LP_SYM_PATCH || s->kind > LP_SYM_TLS)
        return lp_fail(err, "%s: %s[%u] '%s': unknown kind %u", p->name, LP_SEC_SYMS_NAME, i, sn,
                       s->kind);
    if (s->kind != LP_SYM_PATCH) {
        if (s->section)
            return lp_fail(err, "%s: %s[%u] '%s': section %u on a symbol outside the patch",
                           p->name, LP_SEC_SYMS_NAME, i, sn, s->section);
        if (s->kind == LP_SYM_DYNAMIC && !*sn)
            return lp_fail(err, "%s: %s[%u]: dynamic symbol without a name", p->name,
                           LP_SEC_SYMS_NAME, i);
        return 0;
    }
    if (s->section < LP_SEC_TEXT || s->section > LP_SEC_BSS)
        return lp_fail(err, "%s: %s[%u] '%s': unknown section %u", p->name, LP_SEC_SYMS_NAME, i, sn,
                       s->section);
    uint64_t size = p->sec[s->section].size;
    if (!in_bounds(s->value, s->size, size))
        return lp_fail(err, "%s: %s[%u] '%s': [0x%llx, +0x%x) beyond %s (size 0x%llx)", p->name,
                       LP_SEC_SYMS_NAME, i, sn, (unsigned long long)s->value, s->size,
                       lp_section_name(s->section), (unsigned long long)size);
    return 0;
}

static int check_reloc(struct lp_patch *p, uint32_t i, char *err)
{
    const struct lp_reloc *r = &p->relocs[i];
    int width = lp_reloc_width(r->type);
    if (width < 0)
        return lp_fail(err, "%s: %s[%u]: unsupported relocation type %u", p->name,
                       LP_SEC_RELOCS_NAME, i, r->type);
    if (r->section < LP_SEC_TEXT || r->section > LP_SEC_DATA)
        return lp_fail(err, "%s: %s[%u]: section %u cannot hold fixups", p->name,
                       LP_SEC_RELOCS_NAME, i, r->section);
    uint64_t size = p->sec[r->section].size;
    if (!in_bounds(r->offset, (uint64_t)width, size))
        return lp_fail(err, "%s: %s[%u]: offset 0x%llx beyond %s (size 0x%llx)", p->name,
                       LP_SEC_RELOCS_NAME, i, (unsigned long long)r->offset,
                       lp_section_name(r->section), (unsigned long long)size);
    if (r->sym >= p->hdr->nsyms)
        return lp_fail(err, "%s: %s[%u]: symbol index %u beyond %s (%u symbols)", p->name,
                       LP_SEC_RELOCS_NAME, i, r->sym, LP_SEC_SYMS_NAME, p->hdr->nsyms);
    const struct lp_sym *s = &p->syms[r->sym];
    if (lp_reloc_is_tls(r->type) != (s->kind == LP_SYM_TLS))
        return lp_fail(err, "%s: %s[%u]: %s against %s symbol '%s'", p->name, LP_SEC_RELOCS_NAME, i,
                       lp_reloc_name(r->type), s->kind == LP_SYM_TLS ? "a TLS" : "a non-TLS",
                       p->strtab + s->name);
    return 0;
}

/* LP_HDR_HOOKS: the table at the start of .lp.rodata, each field after the
 * magic filled by at most one R_X86_64_64 against a patch symbol in the
 * right section (self: the table; ctx: writable data; callbacks: text). */
static int check_hooks(struct lp_patch *p, char *err)
{
    if (!(p->hdr->flags & LP_HDR_HOOKS))
        return 0;
    const struct lp_hook_table *t = (const void *)p->sec[LP_SEC_RODATA].data;
    if (p->sec[LP_SEC_RODATA].size < sizeof(*t) || !t ||
        memcmp(t->magic, LP_HOOKS_MAGIC, sizeof(t->magic)))
        return lp_fail(err, "%s: %s: the hook table is missing", p->name, LP_SEC_RODATA_NAME);
    int seen[sizeof(*t) / 8] = {0};
    for (uint32_t i = 0; i < p->hdr->nrelocs; i++) {
        const struct lp_reloc *r = &p->relocs[i];
        if (r->section != LP_SEC_RODATA || r->offset >= sizeof(*t))
            continue;
        if (r->sym >= p->hdr->nsyms) /* check_reloc rejects it */
            return lp_fail(err, "%s: %s[%u]: symbol %u of %u", p->name, LP_SEC_RELOCS_NAME, i,
                           r->sym, p->hdr->nsyms);
        const struct lp_sym *s = &p->syms[r->sym];
        size_t field = r->offset / 8;
        uint32_t want = field == 1 ? LP_SEC_RODATA : field == 2 ? 0 : LP_SEC_TEXT;
        int ok =
            r->offset % 8 == 0 && field >= 1 && field <= 6 && r->type == R_X86_64_64 &&
            s->kind == LP_SYM_PATCH && !seen[field] &&
            (want ? s->section == want : (s->section == LP_SEC_DATA || s->section == LP_SEC_BSS));
        if (field == 1 && ok)
            ok = s->value + (uint64_t)r->addend == 0;
        if (!ok)
            return lp_fail(err, "%s: %s[%u]: not a valid hook table entry", p->name,
                           LP_SEC_RELOCS_NAME, i);
        seen[field] = 1;
    }
    if (!seen[1] || !seen[2])
        return lp_fail(err, "%s: the hook table lacks its own address or its context", p->name);
    return 0;
}

static uint32_t le32(const uint8_t *b)
{
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

/* LP_HDR_UNWIND: the table at LP_UNWIND_OFF of .lp.rodata (lpatch_format.h),
 * its eh_frame a sequence of CIEs and FDEs ending in a zero length, each
 * FDE's CIE pointer at an earlier CIE, its pc_begin filled by one PC32
 * relocation into .lp.text; the index sorted, each entry at an FDE. */
static int check_unwind(struct lp_patch *p, char *err)
{
    if (!(p->hdr->flags & LP_HDR_UNWIND))
        return 0;
    const uint8_t *ro = p->sec[LP_SEC_RODATA].data;
    uint64_t rosz = p->sec[LP_SEC_RODATA].size, off = LP_UNWIND_OFF(p->hdr->flags);
    struct lp_unwind_table t;
    if (!ro || rosz < off + sizeof(t))
        return lp_fail(err, "%s: %s: the unwind table is missing", p->name, LP_SEC_RODATA_NAME);
    memcpy(&t, ro + off, sizeof(t));
    static const uint8_t zero[sizeof(t) - offsetof(struct lp_unwind_table, frame_dereg)];
    if (memcmp(t.magic, LP_UNWIND_MAGIC, sizeof(t.magic)) ||
        memcmp((const uint8_t *)&t + offsetof(struct lp_unwind_table, frame_dereg), zero,
               sizeof(zero)))
        return lp_fail(err, "%s: %s+0x%llx: not an unwind table", p->name, LP_SEC_RODATA_NAME,
                       (unsigned long long)off);
    uint64_t eo = t.eh_frame_off, es = t.eh_frame_size, io = t.index_off;
    if (eo % 4 || es < 4 || eo < off + sizeof(t) || eo > rosz || es > rosz - eo ||
        le32(ro + eo + es - 4) != 0 || io % 4 || io > rosz ||
        (uint64_t)t.nfde * sizeof(struct lp_unwind_index) > rosz - io)
        return lp_fail(err, "%s: unwind table: eh_frame or index outside %s", p->name,
                       LP_SEC_RODATA_NAME);
    uint64_t tsz = p->sec[LP_SEC_TEXT].size;
    if (t.text_lo > t.text_hi || t.text_hi > tsz)
        return lp_fail(err, "%s: unwind table: covered range beyond %s", p->name, LP_SEC_TEXT_NAME);
    uint64_t *fdes = calloc(t.nfde ? t.nfde : 1, sizeof(*fdes));
    if (!fdes)
        return lp_fail(err, "%s: out of memory", p->name);
    uint32_t nfde = 0;
    uint64_t at = 0, end = es - 4;
    int bad = 0;
    while (at < end && !bad) {
        uint32_t len = at + 8 <= end ? le32(ro + eo + at) : 0;
        if (len < 4 || len > end - at - 4 || len % 4) {
            bad = 1;
            break;
        }
        uint32_t id = le32(ro + eo + at + 4);
        if (id) { /* an FDE: CIE pointer back to an entry with id 0 */
            uint64_t cie = at + 4 - id;
            int found = 0;
            if (id <= at + 4 && len >= 16 && nfde < t.nfde)
                for (uint64_t c = 0; c <= cie && !found;) {
                    uint32_t cl = le32(ro + eo + c);
                    found = c == cie && le32(ro + eo + c + 4) == 0;
                    c += 4 + (uint64_t)cl;
                }
            uint32_t nrel = 0;
            for (uint32_t i = 0; i < p->hdr->nrelocs && found; i++) {
                const struct lp_reloc *r = &p->relocs[i];
                if (r->section != LP_SEC_RODATA || r->offset != eo + at + 8)
                    continue;
                const struct lp_sym *s = &p->syms[r->sym];
                found = r->type == R_X86_64_PC32 && s->kind == LP_SYM_PATCH &&
                        s->section == LP_SEC_TEXT;
                nrel++;
            }
            if (!found || nrel != 1) {
                bad = 1;
                break;
            }
            fdes[nfde++] = at;
        }
        at += 4 + (uint64_t)len;
    }
    if (!bad && nfde != t.nfde)
        bad = 1;
    const struct lp_unwind_index *ix = (const void *)(ro + io);
    for (uint32_t i = 0; i < t.nfde && !bad; i++) {
        struct lp_unwind_index e;
        memcpy(&e, ix + i, sizeof(e));
        int64_t prev = 0;
        if (i) {
            struct lp_unwind_index q;
            memcpy(&q, ix + i - 1, sizeof(q));
            prev = q.start;
        }
        int hit = 0;
        for (uint32_t k = 0; k < nfde && !hit; k++)
            hit = fdes[k] == (uint64_t)(int64_t)e.fde;
        bad = !hit || e.start < prev || e.start < 0 || (uint64_t)e.start >= tsz;
    }
    free(fdes);
    if (bad)
        return lp_fail(err, "%s: unwind table: malformed eh_frame or index at %s+0x%llx", p->name,
                       LP_SEC_RODATA_NAME, (unsigned long long)(eo + at));
    return 0;
}

static int check_contents(struct lp_patch *p, char *err)
{
    if (check_hooks(p, err) < 0)
        return -1;
    for (uint32_t i = 0; i < p->hdr->nfuncs; i++)
        if (check_func(p, i, err) < 0)
            return -1;
    if (check_unique_old(p, err) < 0)
        return -1;
    for (uint32_t i = 0; i < p->hdr->nsyms; i++)
        if (check_sym(p, i, err) < 0)
            return -1;
    for (uint32_t i = 0; i < p->hdr->nrelocs; i++)
        if (check_reloc(p, i, err) < 0)
            return -1;
    /* after the relocations: it follows their symbol indexes */
    return check_unwind(p, err);
}

static struct lp_patch *parse_owned(const char *name, uint8_t *buf, size_t len, char *err)
{
    struct lp_patch *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name))) {
        free(p);
        free(buf);
        lp_fail(err, "%s: out of memory", name);
        return NULL;
    }
    p->buf = buf;
    p->len = len;
    unsigned idx[LP_FS_COUNT];
    if (lp_parse_sections(p->name, buf, len, idx, err) < 0)
        goto fail;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + ((const Elf64_Ehdr *)buf)->e_shoff);
    p->hdr = (const struct lp_header *)(buf + sh[idx[LP_FS_HEADER]].sh_offset);
    if (check_header(p, sh, idx, err) < 0 || check_sections(p, sh, idx, err) < 0 ||
        check_contents(p, err) < 0)
        goto fail;
    assert(p->hdr && p->funcs && p->syms && p->relocs && p->strtab);
    return p;
fail:
    lp_patch_free(p);
    return NULL;
}

int lp_patch_parse_named(const void *buf, size_t len, const char *name, struct lp_patch **out,
                         char *err)
{
    *out = NULL;
    /* malloc'd copy: 16-byte aligned, so aligned sections give aligned structs. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return lp_fail(err, "%s: out of memory (%zu bytes)", name, len);
    memcpy(copy, buf, len);
    *out = parse_owned(name, copy, len, err);
    return *out ? 0 : -1;
}

int lp_patch_parse(const void *buf, size_t len, struct lp_patch **out, char *err)
{
    return lp_patch_parse_named(buf, len, "<memory>", out, err);
}

#define MAX_PATCH_FILE (1ull << 32)

int lp_patch_load(const char *path, struct lp_patch **out, char *err)
{
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; a regular
     * file ignores the flag, and anything else is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return lp_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lp_fail(err, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > MAX_PATCH_FILE) {
        close(fd);
        return lp_fail(err, "%s: larger than 4 GiB, not a patch", path);
    }
    size_t len = (size_t)st.st_size;
    /* calloc, not malloc: the read loop below fills every byte, but zeroing
     * makes that visible (large sizes come zeroed from mmap at no cost). */
    uint8_t *buf = calloc(1, len ? len : 1);
    if (!buf) {
        close(fd);
        return lp_fail(err, "%s: out of memory (%zu bytes)", path, len);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            free(buf);
            return lp_fail(err, "%s: read failed: %s", path, strerror(e));
        }
        got += (size_t)n;
    }
    close(fd);
    *out = parse_owned(path, buf, len, err);
    return *out ? 0 : -1;
}

void lp_patch_free(struct lp_patch *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p->name);
    free(p);
}

int lp_patch_seal(void *buf, size_t len, char *err)
{
    unsigned idx[LP_FS_COUNT];
    if (lp_parse_sections("<memory>", buf, len, idx, err) < 0)
        return -1;
    uint8_t *b = buf;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(b + ((const Elf64_Ehdr *)b)->e_shoff);
    uint64_t hoff = sh[idx[LP_FS_HEADER]].sh_offset;
    uint8_t id[16];
    lp_compute_patch_id(b, id);
    memcpy(b + hoff + offsetof(struct lp_header, patch_id), id, 16);
    uint64_t sum = lp_compute_checksum(b, len, hoff + offsetof(struct lp_header, checksum));
    memcpy(b + hoff + offsetof(struct lp_header, checksum), &sum, 8);
    return 0;
}

/* ---- accessors -------------------------------------------------------- */

const char *lp_patch_name(const struct lp_patch *p)
{
    return p->name;
}

const struct lp_header *lp_patch_header(const struct lp_patch *p)
{
    return p->hdr;
}

const struct lp_func *lp_patch_funcs(const struct lp_patch *p, uint32_t *n)
{
    assert(p && p->hdr);
    if (n)
        *n = p->hdr->nfuncs;
    return p->funcs;
}

const struct lp_sym *lp_patch_syms(const struct lp_patch *p, uint32_t *n)
{
    assert(p && p->hdr);
    if (n)
        *n = p->hdr->nsyms;
    return p->syms;
}

const struct lp_reloc *lp_patch_relocs(const struct lp_patch *p, uint32_t *n)
{
    assert(p && p->hdr);
    if (n)
        *n = p->hdr->nrelocs;
    return p->relocs;
}

const char *lp_patch_str(const struct lp_patch *p, uint32_t off)
{
    return off < p->strtab_size ? p->strtab + off : NULL;
}

const uint8_t *lp_patch_section(const struct lp_patch *p, enum lp_section s, uint64_t *size)
{
    if (s < LP_SEC_TEXT || s > LP_SEC_BSS) {
        if (size)
            *size = 0;
        return NULL;
    }
    if (size)
        *size = p->sec[s].size;
    return p->sec[s].data;
}

const struct lp_unwind_table *lp_patch_unwind(const struct lp_patch *p)
{
    if (!(p->hdr->flags & LP_HDR_UNWIND))
        return NULL;
    return (const void *)(p->sec[LP_SEC_RODATA].data + LP_UNWIND_OFF(p->hdr->flags));
}

const char *lp_patch_summary(const struct lp_patch *p, size_t *len)
{
    if (len)
        *len = p->summary_len;
    return p->summary;
}
