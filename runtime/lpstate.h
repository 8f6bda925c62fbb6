/*
 * lpstate.h - the record of applied patches kept INSIDE the target process.
 *
 * Where it lives: lpatch creates a memfd named LPS_NAME in the target and
 * maps it there (MAP_PRIVATE, so a fork()ed child gets its own copy along
 * with its own copy of the patched text).  /proc/PID/maps then shows
 * "/memfd:livepatch-state (deleted)" at offset 0, and any later lpatch run
 * finds it there and reads/writes it through /proc/PID/mem.  The area is
 * LPS_AREA_SIZE bytes: struct lps_header, then `used` bytes of records, one
 * per applied patch in order of application:
 *
 *     struct lps_patch, then struct lps_func[nfuncs]   (rec_size bytes)
 *
 * How it is used (the helpers below are pure functions on a copy of the
 * area in the caller's memory; they never do I/O):
 *   1. read the header (sizeof(struct lps_header)) and then header.used
 *      more bytes into one buffer; lps_area_check() it - nothing in it is
 *      trusted before that;
 *   2. walk the records with lps_area_next(), find one with lps_area_find();
 *   3. change the copy: lps_area_append() a new record (status
 *      LPS_APPLYING), set status, lps_area_remove() a reverted one;
 *   4. lps_area_seal() recomputes the checksum and returns how many bytes to
 *      write back; one write of those bytes is the commit point.
 * The applier commits twice per change (APPLYING/REVERTING, then the final
 * state) so a crashed lpatch leaves a record saying what was in flight.
 *
 * What revert needs is here: per redirected function, the pad and entry
 * bytes as they were BEFORE this patch (prev_pad/prev_entry), which for a
 * stacked patch are the previous patch's redirect, so revert restores
 * exactly.  Which patch may be reverted is the applier's rule
 * (applier/apply.c: none applied later may depend on it).
 */
#ifndef LPSTATE_H
#define LPSTATE_H

#include <stdint.h>
#include "lp_entry.h"

#define LPS_MAGIC     "LPSTATE" /* 8 bytes with its NUL */
#define LPS_VERSION   1
#define LPS_NAME      "livepatch-state"
#define LPS_AREA_SIZE (256u << 10)

enum lps_status {
    LPS_APPLYING = 1, /* image mapped, entries being switched */
    LPS_APPLIED = 2,
    LPS_REVERTING = 3, /* entries being restored */
};

struct lps_header {
    char magic[8];         /* LPS_MAGIC */
    uint32_t version;      /* LPS_VERSION */
    uint32_t npatches;     /* records that follow */
    uint64_t used;         /* bytes of records after this header */
    uint64_t size;         /* bytes of the whole area (the mapping) */
    uint64_t next_seq;     /* sequence number for the next applied patch */
    uint64_t checksum;     /* XXH3-64 of header (checksum as 0) + `used` record bytes */
    uint64_t shadow_arena; /* the shadow store (lpatch_format.h), 0 until a patch with hooks */
    uint8_t reserved[8];
};

/* One redirected function of an applied patch (new functions are not listed). */
struct lps_func {
    char name[64];     /* assembler name, NUL-terminated (truncated if longer) */
    uint64_t sym_addr; /* runtime address of the old function */
    uint64_t sym_size;
    uint64_t new_addr;   /* runtime address of the new code */
    uint64_t pad_addr;   /* where the pad jump was written (sym_addr - prepad) */
    uint64_t entry_addr; /* the 2-byte entry (sym_addr + entry_off) */
    uint32_t new_size;
    uint32_t flags;   /* enum lp_func_flags */
    uint32_t pad_len; /* bytes of the pad jump (LP_JMP_REL32_LEN or LP_JMP_ABS_LEN) */
    uint8_t prev_entry[LP_ENTRY_LEN], new_entry[LP_ENTRY_LEN];
    uint8_t prev_pad[LP_ENTRY_PAD], new_pad[LP_ENTRY_PAD]; /* first pad_len bytes meaningful */
};

/* One applied patch. */
struct lps_patch {
    uint32_t rec_size; /* this record + its lps_func array */
    uint32_t nfuncs;   /* redirected functions */
    uint32_t status;   /* enum lps_status */
    uint32_t nnew;     /* functions added by the patch */
    uint64_t seq;      /* order of application, from header.next_seq */
    uint8_t patch_id[16];
    uint8_t old_build_id[32], new_build_id[32];
    uint32_t old_build_id_len, new_build_id_len;
    uint64_t load_bias;
    uint64_t image_addr, image_size, exec_size;
    uint64_t applied_at; /* unix seconds */
    char module[256];    /* module path, NUL-terminated */
    char source[128];    /* patch file name as given, NUL-terminated */
    /* struct lps_func funcs[nfuncs] follows */
};

_Static_assert(sizeof(struct lps_header) == 64, "lps_header layout");
_Static_assert(sizeof(struct lps_func) == 152, "lps_func layout");
_Static_assert(sizeof(struct lps_patch) == 536, "lps_patch layout");

static inline struct lps_func *lps_patch_funcs(struct lps_patch *p)
{
    return (struct lps_func *)(p + 1);
}

/* Write an empty area header (size = bytes of the mapping) and seal it. */
void lps_area_init(void *area, uint64_t size);
/* Validate `len` bytes read from the target: header, checksum, every record
 * and string in bounds, sequence numbers increasing.  0 or -1 with err
 * (LP_ERR_MAX bytes). */
int lps_area_check(const void *area, uint64_t len, char *err);
/* Records in order of application; NULL starts, NULL ends. */
struct lps_patch *lps_area_next(void *area, const struct lps_patch *prev);
/* The record of patch `id`, or NULL. */
struct lps_patch *lps_area_find(void *area, const uint8_t id[16]);
/* Append a copy of `p` (+ funcs) with rec_size and seq filled in.  `cap` is
 * the buffer size (at least sizeof header + used + the record, and never
 * more than header.size).  Returns the copy inside the area, or NULL and err. */
struct lps_patch *lps_area_append(void *area, uint64_t cap, const struct lps_patch *p,
                                  const struct lps_func *funcs, char *err);
void lps_area_remove(void *area, struct lps_patch *p);
/* Recompute the checksum; returns the bytes to write back (header + used). */
uint64_t lps_area_seal(void *area);

#endif /* LPSTATE_H */
