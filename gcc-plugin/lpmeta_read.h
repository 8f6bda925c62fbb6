/*
 * lpmeta_read.h - reading the plugin's records (lpmeta.h, the contract beside
 * it) back out of an object file, executable or shared library.  The reader
 * is a small library (liblpmeta.a) that lpdiff links for `--list`, `--units`
 * and every diff, and lpatch links to name a stacked patch's function-scope
 * statics in the running module.  It validates every record it returns.
 */
#ifndef LPMETA_READ_H
#define LPMETA_READ_H

#include <stdint.h>
#include <libelf.h>

#include "lpmeta.h"

#define LPM_ERR_MAX 512

struct lpm_func {
    const char *name;   /* assembler name */
    const char *origin; /* clone/cold origin, "" if none */
    uint64_t addr;      /* linked module: link-time address; object: symbol value */
    uint64_t unit_id;
    uint8_t hash[16];
    uint32_t flags; /* enum lpmeta_func_flags */
    uint8_t prepad, entry_off;
};

struct lpm_unit {
    uint64_t unit_id;
    uint32_t format_version, nfuncs;
    const char *source, *gcc_version, *options;
};

struct lpm_link {
    uint64_t unit_id;
    uint32_t type; /* enum lpmeta_link_type */
    const char *from, *to;
};

struct lpm_static {
    uint64_t addr;
    uint64_t unit_id;
    const char *asm_name, *stable_name;
};

struct lpm_nowrite {
    uint64_t unit_id;
    const char *asm_name; /* a variable proven never written */
};

struct lpm_anon {
    uint64_t addr;  /* linked module: link-time address; object: offset in `shndx` */
    uint32_t shndx; /* object: section index of the object; 0 in a linked module */
    uint32_t flags; /* enum lpmeta_anon_flags */
    uint64_t unit_id, size;
    const char *user; /* the function that refers to it */
};

/* Everything one file holds; owns all strings. */
struct lpm_module {
    struct lpm_func *funcs;
    size_t nfuncs;
    struct lpm_unit *units;
    size_t nunits;
    struct lpm_link *links;
    size_t nlinks;
    struct lpm_static *statics;
    size_t nstatics;
    struct lpm_nowrite *nowrites;
    size_t nnowrites;
    struct lpm_anon *anons;
    size_t nanons;
    void *priv; /* reader's storage */
};

/* Read the records of `path` (or of an already open `elf`); for an ar
 * archive, of all its ELF members together.  A file with no
 * records is not an error: the module comes back empty and the caller decides
 * (built without the plugin).  Corrupt records are an error naming the file,
 * section and offset. */
int lpm_read(const char *path, struct lpm_module **out, char *err);
int lpm_read_elf(Elf *elf, const char *path, struct lpm_module **out, char *err);
void lpm_free(struct lpm_module *m);

#endif /* LPMETA_READ_H */
