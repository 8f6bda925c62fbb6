/*
 * elfobj.h - an ELF file (relocatable object, executable or shared library)
 * loaded once: sections with their bytes and RELA relocations, symbols with
 * the STT_FILE block they belong to, build-id.
 */
#ifndef DIFFER_ELFOBJ_H
#define DIFFER_ELFOBJ_H

#include <gelf.h>
#include <stdint.h>

#include "liblivepatch.h" /* LP_BUILD_ID_MAX */
#include "util.h"

struct elfobj_rela {
    uint64_t off;
    uint32_t type;
    uint32_t sym; /* index into the file's symbols */
    int64_t addend;
};

struct elfobj_sec {
    const char *name;
    GElf_Shdr sh;
    const uint8_t *data; /* NULL for SHT_NOBITS */
    uint64_t size;
    struct elfobj_rela *relas; /* sorted by offset */
    size_t nrelas;
};

struct elfobj_sym {
    const char *name;
    const char *file; /* STT_FILE name of the block holding a local; "" */
    uint64_t value, size;
    uint8_t type, bind, vis;
    uint16_t shndx;
};

struct elfobj {
    char *path;
    int fd;
    Elf *elf;
    GElf_Ehdr eh;
    struct elfobj_sec *secs;
    size_t nsecs;
    struct elfobj_sym *syms; /* .symtab */
    size_t nsyms;
    struct elfobj_sym *dsyms; /* .dynsym (linked modules) */
    size_t ndsyms;
    uint8_t build_id[LP_BUILD_ID_MAX];
    size_t build_id_len;
    int is_pie; /* ET_DYN with DF_1_PIE or PT_INTERP */
};

/* Open and read `path`; on error returns NULL with one line in err. */
struct elfobj *elfobj_open(const char *path, char *err, size_t errlen);
void elfobj_close(struct elfobj *f);

const struct elfobj_sec *elfobj_section_by_name(const struct elfobj *f, const char *name);
/* Bytes of a linked module at link-time address [addr, addr+len); NULL if
 * not inside one loaded section with contents. */
const uint8_t *elfobj_bytes_at(const struct elfobj *f, uint64_t addr, uint64_t len);
/* Section index containing link-time address addr, 0 if none. */
size_t elfobj_section_at(const struct elfobj *f, uint64_t addr);

/* Relocations of section `sec` with offset in [lo, hi): first index and count. */
size_t elfobj_relas_in(const struct elfobj_sec *sec, uint64_t lo, uint64_t hi, size_t *count);

int elfobj_is_pcrel(uint32_t type);

#endif /* DIFFER_ELFOBJ_H */
