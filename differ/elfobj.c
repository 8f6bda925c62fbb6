/* elfobj.c - see elfobj.h.  Everything is read through libelf. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elf.h>

#include "elfobj.h"
#include "liblivepatch.h"

static struct elfobj *fail(struct elfobj *f, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", f->path, what);
    elfobj_close(f);
    return NULL;
}

static int cmp_rela(const void *a, const void *b)
{
    const struct elfobj_rela *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int read_relas(struct elfobj *f, Elf_Scn *scn, const GElf_Shdr *sh)
{
    if (sh->sh_info >= f->nsecs || sh->sh_entsize != sizeof(Elf64_Rela))
        return -1;
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d)
        return -1;
    struct elfobj_sec *target = &f->secs[sh->sh_info];
    size_t n = d->d_size / sizeof(Elf64_Rela);
    target->relas = xcalloc(n, sizeof(*target->relas));
    for (size_t i = 0; i < n; i++) {
        GElf_Rela r;
        if (!gelf_getrela(d, (int)i, &r))
            return -1;
        uint32_t sym = GELF_R_SYM(r.r_info);
        if (sym >= f->nsyms)
            return -1;
        target->relas[i] = (struct elfobj_rela){r.r_offset, GELF_R_TYPE(r.r_info), sym, r.r_addend};
    }
    target->nrelas = n;
    qsort(target->relas, n, sizeof(*target->relas), cmp_rela);
    return 0;
}

static int read_symtab(struct elfobj *f, Elf_Scn *scn, const GElf_Shdr *sh, struct elfobj_sym **out,
                       size_t *nout)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || !sh->sh_entsize)
        return -1;
    size_t n = d->d_size / sh->sh_entsize;
    struct elfobj_sym *syms = xcalloc(n, sizeof(*syms));
    const char *file = "";
    for (size_t i = 0; i < n; i++) {
        GElf_Sym s;
        if (!gelf_getsym(d, (int)i, &s)) {
            free(syms);
            return -1;
        }
        const char *name = elf_strptr(f->elf, sh->sh_link, s.st_name);
        struct elfobj_sym *o = &syms[i];
        o->name = name ? name : "";
        o->value = s.st_value;
        o->size = s.st_size;
        o->type = GELF_ST_TYPE(s.st_info);
        o->bind = GELF_ST_BIND(s.st_info);
        o->vis = GELF_ST_VISIBILITY(s.st_other);
        o->shndx = s.st_shndx;
        if (o->type == STT_FILE)
            file = o->name;
        o->file = o->bind == STB_LOCAL ? file : "";
        if (o->type == STT_SECTION && s.st_shndx < f->nsecs && f->secs[s.st_shndx].name)
            o->name = f->secs[s.st_shndx].name;
    }
    *out = syms;
    *nout = n;
    return 0;
}

/* The first GNU build-id note of the file, through liblivepatch's reader. */
static void read_build_id(struct elfobj *f, Elf_Scn *scn)
{
    Elf_Data *d = elf_rawdata(scn, NULL);
    if (!f->build_id_len && d && d->d_buf)
        f->build_id_len = lp_notes_build_id(d->d_buf, d->d_size, f->build_id);
}

static void read_pie(struct elfobj *f)
{
    size_t n;
    if (f->eh.e_type != ET_DYN || elf_getphdrnum(f->elf, &n))
        return;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(f->elf, (int)i, &ph) && ph.p_type == PT_INTERP)
            f->is_pie = 1;
    }
    const struct elfobj_sec *dyn = elfobj_section_by_name(f, ".dynamic");
    if (dyn && dyn->data)
        for (uint64_t o = 0; o + sizeof(Elf64_Dyn) <= dyn->size; o += sizeof(Elf64_Dyn)) {
            Elf64_Dyn dd;
            memcpy(&dd, dyn->data + o, sizeof(dd));
            if (dd.d_tag == DT_FLAGS_1 && (dd.d_un.d_val & DF_1_PIE))
                f->is_pie = 1;
        }
}

struct elfobj *elfobj_open(const char *path, char *err, size_t errlen)
{
    struct elfobj *f = xcalloc(1, sizeof(*f));
    f->path = xstrdup(path);
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return fail(f, err, errlen, "cannot open");
    elf_version(EV_CURRENT);
    f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
    if (!f->elf || elf_kind(f->elf) != ELF_K_ELF)
        return fail(f, err, errlen, "not an ELF file");
    if (!gelf_getehdr(f->elf, &f->eh))
        return fail(f, err, errlen, "corrupt ELF header");
    if (f->eh.e_ident[EI_CLASS] != ELFCLASS64 || f->eh.e_machine != EM_X86_64)
        return fail(f, err, errlen, "not an x86-64 ELF64 file");
    size_t shstrndx;
    if (elf_getshdrnum(f->elf, &f->nsecs) || elf_getshdrstrndx(f->elf, &shstrndx))
        return fail(f, err, errlen, "corrupt section headers");
    struct stat st;
    if (fstat(f->fd, &st) ||
        f->eh.e_shoff + (uint64_t)f->nsecs * f->eh.e_shentsize > (uint64_t)st.st_size)
        return fail(f, err, errlen, "truncated: section header table beyond the end of the file");
    f->secs = xcalloc(f->nsecs, sizeof(*f->secs));
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(f->elf, scn))) {
        size_t i = elf_ndxscn(scn);
        struct elfobj_sec *s = &f->secs[i];
        if (!gelf_getshdr(scn, &s->sh))
            return fail(f, err, errlen, "corrupt section header");
        s->name = elf_strptr(f->elf, shstrndx, s->sh.sh_name);
        if (!s->name)
            return fail(f, err, errlen, "corrupt section name table");
        s->size = s->sh.sh_size;
        if (s->sh.sh_type != SHT_NOBITS && s->sh.sh_offset + s->size > (uint64_t)st.st_size) {
            snprintf(err, errlen, "%s: truncated: section %s extends beyond the end of the file",
                     f->path, s->name);
            elfobj_close(f);
            return NULL;
        }
        if (s->sh.sh_type != SHT_NOBITS) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d || d->d_size != s->size)
                return fail(f, err, errlen, "truncated or corrupt section data");
            s->data = d->d_buf;
        }
    }
    if (!f->secs[0].name)
        f->secs[0].name = "";
    scn = NULL;
    while ((scn = elf_nextscn(f->elf, scn))) {
        struct elfobj_sec *s = &f->secs[elf_ndxscn(scn)];
        if ((s->sh.sh_type == SHT_SYMTAB && f->syms) || (s->sh.sh_type == SHT_DYNSYM && f->dsyms))
            return fail(f, err, errlen, "corrupt: two symbol tables");
        if (s->sh.sh_type == SHT_SYMTAB && read_symtab(f, scn, &s->sh, &f->syms, &f->nsyms))
            return fail(f, err, errlen, "corrupt .symtab");
        if (s->sh.sh_type == SHT_DYNSYM && read_symtab(f, scn, &s->sh, &f->dsyms, &f->ndsyms))
            return fail(f, err, errlen, "corrupt .dynsym");
        if (s->sh.sh_type == SHT_NOTE)
            read_build_id(f, scn);
    }
    if (f->eh.e_type == ET_REL) {
        scn = NULL;
        while ((scn = elf_nextscn(f->elf, scn))) {
            struct elfobj_sec *s = &f->secs[elf_ndxscn(scn)];
            if (s->sh.sh_type != SHT_RELA)
                continue;
            if (s->sh.sh_info >= f->nsecs)
                return fail(f, err, errlen, "corrupt relocation section (bad target)");
            if ((f->secs[s->sh.sh_info].sh.sh_flags & SHF_ALLOC) && read_relas(f, scn, &s->sh))
                return fail(f, err, errlen, "corrupt relocation section");
        }
    }
    read_pie(f);
    return f;
}

void elfobj_close(struct elfobj *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nsecs; i++)
        free(f->secs[i].relas);
    free(f->secs);
    free(f->syms);
    free(f->dsyms);
    if (f->elf)
        elf_end(f->elf);
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

const struct elfobj_sec *elfobj_section_by_name(const struct elfobj *f, const char *name)
{
    for (size_t i = 1; i < f->nsecs; i++)
        if (!strcmp(f->secs[i].name, name))
            return &f->secs[i];
    return NULL;
}

size_t elfobj_section_at(const struct elfobj *f, uint64_t addr)
{
    for (size_t i = 1; i < f->nsecs; i++) {
        const GElf_Shdr *sh = &f->secs[i].sh;
        if ((sh->sh_flags & SHF_ALLOC) && addr >= sh->sh_addr && addr < sh->sh_addr + sh->sh_size)
            return i;
    }
    return 0;
}

const uint8_t *elfobj_bytes_at(const struct elfobj *f, uint64_t addr, uint64_t len)
{
    size_t i = elfobj_section_at(f, addr);
    if (!i || !f->secs[i].data)
        return NULL;
    const struct elfobj_sec *s = &f->secs[i];
    if (addr + len > s->sh.sh_addr + s->size)
        return NULL;
    return s->data + (addr - s->sh.sh_addr);
}

size_t elfobj_relas_in(const struct elfobj_sec *sec, uint64_t lo, uint64_t hi, size_t *count)
{
    size_t a = 0, b = sec->nrelas;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (sec->relas[m].off < lo)
            a = m + 1;
        else
            b = m;
    }
    size_t e = a;
    while (e < sec->nrelas && sec->relas[e].off < hi)
        e++;
    *count = e - a;
    return a;
}

int elfobj_is_pcrel(uint32_t type)
{
    switch (type) {
    case R_X86_64_PC32:
    case R_X86_64_PLT32:
    case R_X86_64_GOTPCREL:
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
    case R_X86_64_GOTTPOFF:
    case R_X86_64_TLSGD:
    case R_X86_64_TLSLD:
        return 1;
    }
    return 0;
}
