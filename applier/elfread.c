/*
 * elfread.c - what lpatch reads from the ELF files a process maps (through
 * /proc/PID/map_files, so the very file mapped): build-id and load layout,
 * defined symbols by name, dynamic relocations.  libelf does the parsing.
 */
#include "elfread.h"
#include "proc.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

/* The ELF file at `path`, read-only: NULL with *fd < 0 if it cannot be
 * opened, NULL with *fd open if it is no ELF file (close with elf_done). */
static Elf *elf_open_ro(const char *path, int *fd)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return NULL;
    elf_version(EV_CURRENT);
    return elf_begin(*fd, ELF_C_READ_MMAP, NULL);
}

static void elf_done(Elf *e, int fd)
{
    if (e)
        elf_end(e);
    close(fd);
}

/* Look a defined symbol up by name in `path` (.dynsym only if dyn_only). */
int lpa_elf_find_sym(const char *path, const char *name, int dyn_only, struct lpa_elf_sym *out)
{
    memset(out, 0, sizeof *out);
    int fd;
    Elf *e = elf_open_ro(path, &fd);
    if (fd < 0)
        return -1;
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
    elf_done(e, fd);
    return 0;
}

int lpa_elf_each_rela(const char *path, lpa_rela_cb cb, void *ctx)
{
    int fd;
    Elf *e = elf_open_ro(path, &fd);
    if (fd < 0)
        return -1;
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
    elf_done(e, fd);
    return 0;
}

int lpa_elf_identify(const char *path, struct lpa_module *mod, uint64_t *first_load_vaddr,
                     uint64_t *first_load_off, char *err)
{
    int fd;
    Elf *e = elf_open_ro(path, &fd);
    if (fd < 0) {
        lpa_err(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    GElf_Ehdr eh;
    size_t nph = 0;
    int rc = -1, have_load = 0;
    if (!e || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nph) != 0) {
        lpa_err(err, "%s: not an ELF file", path);
        goto out;
    }
    mod->is_exec = eh.e_type == ET_EXEC;
    mod->build_id_len = 0;
    mod->has_tls = 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph))
            continue;
        if (ph.p_type == PT_LOAD && !have_load) {
            have_load = 1;
            *first_load_vaddr = ph.p_vaddr;
            *first_load_off = ph.p_offset;
        } else if (ph.p_type == PT_TLS) {
            mod->has_tls = 1;
            mod->tls_memsz = ph.p_memsz;
            mod->tls_align = ph.p_align ? ph.p_align : 1;
            mod->tls_vaddr = ph.p_vaddr;
        } else if (ph.p_type == PT_NOTE && !mod->build_id_len) {
            Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
            if (d && d->d_buf)
                mod->build_id_len = (uint32_t)lp_notes_build_id(d->d_buf, d->d_size, mod->build_id);
        }
    }
    if (!have_load) {
        lpa_err(err, "%s: no PT_LOAD segment", path);
        goto out;
    }
    rc = 0;
out:
    elf_done(e, fd);
    return rc;
}

int lpa_elf_needed(const char *path, int (*cb)(void *ctx, const char *name), void *ctx)
{
    int fd;
    Elf *e = elf_open_ro(path, &fd);
    if (fd < 0)
        return -1;
    Elf_Scn *scn = NULL;
    int rc = 0;
    while (e && !rc && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; d && !rc && i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Dyn dyn;
            const char *s;
            if (gelf_getdyn(d, (int)i, &dyn) && dyn.d_tag == DT_NEEDED &&
                (s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val)))
                rc = cb(ctx, s);
        }
    }
    elf_done(e, fd);
    return rc;
}
