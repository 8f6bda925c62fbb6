/*
 * lp_internal.h - what runtime/ modules share and the public API hides.
 */
#ifndef LP_INTERNAL_H
#define LP_INTERNAL_H

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "liblivepatch.h"

/* Shared between runtime/ modules but not part of liblivepatch.so's ABI. */
#pragma GCC visibility push(hidden)

#define LP_PAGE_SIZE 4096u
#define LP_NSECTIONS 5 /* enum lp_section values 1..4, index 0 unused */

/* A loaded patch: the file bytes (owned, 16-byte aligned by malloc) and
 * pointers into them, all checked by the loader. */
struct lp_patch {
    char *name; /* for messages: the path, or "<memory>" */
    uint8_t *buf;
    size_t len;
    const struct lp_header *hdr;
    const struct lp_func *funcs;
    const struct lp_sym *syms;
    const struct lp_reloc *relocs;
    const char *strtab;
    uint64_t strtab_size;
    const char *summary;
    uint64_t summary_len;
    struct {
        const uint8_t *data; /* NULL for BSS */
        uint64_t size;
        uint64_t align;
    } sec[LP_NSECTIONS];
};

/* Format one error line into err (LP_ERR_MAX). */
void lp_vfail(char *err, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Format one error line into err; always returns -1.  Inline so that every
 * caller (and gcc -fanalyzer) sees the -1 and follows only the error path. */
static inline __attribute__((format(printf, 2, 3))) int lp_fail(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_vfail(err, fmt, ap);
    va_end(ap);
    return -1;
}

static inline uint64_t lp_align_up(uint64_t v, uint64_t a)
{
    assert(a && (a & (a - 1)) == 0); /* alignments are checked powers of two */
    return (v + a - 1) & ~(a - 1);
}

/* Bytes a relocation of `type` writes (0, 4 or 8); -1 if unsupported. */
int lp_reloc_width(uint32_t type);
/* 1 if the relocation type addresses thread-local storage. */
int lp_reloc_is_tls(uint32_t type);

/* Section table of a patch file: the part of the parse that lp_patch_seal
 * shares with the loader.  Fills idx[] with section-header indices in the
 * order of lp_file_sections[]. */
enum {
    LP_FS_HEADER,
    LP_FS_TEXT,
    LP_FS_RODATA,
    LP_FS_DATA,
    LP_FS_BSS,
    LP_FS_FUNCS,
    LP_FS_SYMS,
    LP_FS_RELOCS,
    LP_FS_STRTAB,
    LP_FS_SUMMARY,
    LP_FS_COUNT
};
extern const char *const lp_file_sections[LP_FS_COUNT];
int lp_parse_sections(const char *name, const uint8_t *buf, size_t len, unsigned idx[LP_FS_COUNT],
                      char *err);
/* patch_id over the sections after .lp.header (already bounds-checked). */
void lp_compute_patch_id(const uint8_t *buf, uint8_t id[16]);
uint64_t lp_compute_checksum(const uint8_t *buf, size_t len, size_t checksum_off);

/* GOT slots and call stubs, assigned in relocation order so layout and
 * relocation agree.  LP_NONE marks "not needed". */
#define LP_NONE UINT32_MAX
struct lp_slots {
    uint32_t *addr;     /* per symbol: slot holding its address */
    uint32_t *tpoff;    /* per symbol: slot holding its thread-pointer offset */
    uint32_t *gd;       /* per symbol: first of (module id, offset) */
    uint32_t *stub;     /* per symbol: call stub index */
    uint32_t *desc;     /* per symbol: first of a TLS descriptor (resolver, TP offset) */
    uint32_t ld;        /* first of (module id, 0) for TLSLD */
    uint32_t desc_stub; /* stub index of the static-TLS descriptor resolver */
    uint32_t ngot, nstubs;
};
int lp_slots_assign(const struct lp_patch *p, struct lp_slots *s, char *err);
void lp_slots_free(struct lp_slots *s);

#pragma GCC visibility pop

#endif /* LP_INTERNAL_H */
