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

struct eo_rela {
    uint64_t off;
    uint32_t type;
    uint32_t sym; /* index into the file's symbols */
    int64_t addend;
};

struct eo_sec {
    const char *name;
    GElf_Shdr sh;
    const uint8_t *data; /* NULL for SHT_NOBITS */
    uint64_t size;
    struct eo_rela *relas; /* sorted by offset */
    size_t nrelas;
};

struct eo_sym {
    const char *name;
    const char *file; /* STT_FILE name of the block holding a local; "" */
    uint64_t value, size;
    uint8_t type, bind, vis;
    uint16_t shndx;
};

struct eo_file {
    char *path;
    int fd;
    Elf *elf;
    GElf_Ehdr eh;
    struct eo_sec *secs;
    size_t nsecs;
    struct eo_sym *syms; /* .symtab */
    size_t nsyms;
    struct eo_sym *dsyms; /* .dynsym (linked modules) */
    size_t ndsyms;
    uint8_t build_id[LP_BUILD_ID_MAX];
    size_t build_id_len;
    int is_pie; /* ET_DYN with DF_1_PIE or PT_INTERP */
};

/* Open and read `path`; on error returns NULL with one line in err. */
struct eo_file *eo_open(const char *path, char *err, size_t errlen);
void eo_close(struct eo_file *f);

const struct eo_sec *eo_section_by_name(const struct eo_file *f, const char *name);
/* Bytes of a linked module at link-time address [addr, addr+len); NULL if
 * not inside one loaded section with contents. */
const uint8_t *eo_bytes_at(const struct eo_file *f, uint64_t addr, uint64_t len);
/* Section index containing link-time address addr, 0 if none. */
size_t eo_section_at(const struct eo_file *f, uint64_t addr);

/* Relocations of section `sec` with offset in [lo, hi): first index and count. */
size_t eo_relas_in(const struct eo_sec *sec, uint64_t lo, uint64_t hi, size_t *count);

int eo_is_pcrel(uint32_t type);

#endif /* DIFFER_ELFOBJ_H */
