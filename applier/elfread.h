/*
 * elfread.h - reading the ELF files a process maps: build-id and load layout,
 * symbols by name, dynamic relocations.
 */
#ifndef LPATCH_ELFREAD_H
#define LPATCH_ELFREAD_H

#include <stdint.h>

#include "proc.h"

/* Read the build-id and load layout of an ELF file; load_bias left 0. */
int lpa_elf_identify(const char *path, struct lpa_module *mod, uint64_t *first_load_vaddr,
                     uint64_t *first_load_off, char *err);

/* A defined symbol found by name: the first one's value and type, and how
 * many there are. */
struct lpa_elf_sym {
    uint64_t value;
    int type, count;
};

/* Look a defined symbol up by name in `path` (.dynsym only if dyn_only);
 * -1 if the file cannot be opened. */
int lpa_elf_find_sym(const char *path, const char *name, int dyn_only, struct lpa_elf_sym *out);

/* Visit the dynamic relocations of a module file: cb(type, offset, symbol
 * name, symbol value, addend) until it returns nonzero. */
typedef int (*lpa_rela_cb)(void *ctx, unsigned type, uint64_t off, const char *sym, uint64_t symval,
                           int64_t addend);
int lpa_elf_each_rela(const char *path, lpa_rela_cb cb, void *ctx);

/* cb(ctx, name) for each DT_NEEDED entry of `path` until it returns
 * nonzero (returned); -1 if the file cannot be opened. */
int lpa_elf_needed(const char *path, int (*cb)(void *ctx, const char *name), void *ctx);

#endif
