/*
 * lpstate.c - pure helpers on a copy of the in-target patch record
 * (lpstate.h).  No I/O: the applier reads and writes the bytes.
 */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "lp_internal.h"
#include "lpstate.h"

/* XXH3-64 of the header with checksum 0, then the `used` record bytes. */
static uint64_t area_checksum(const uint8_t *area, uint64_t used)
{
    struct lps_header h;
    memcpy(&h, area, sizeof h);
    h.checksum = 0;
    XXH3_state_t state;
    XXH3_INITSTATE(&state);
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, &h, sizeof h);
    XXH3_64bits_update(&state, area + sizeof h, used);
    return XXH3_64bits_digest(&state);
}

void lps_area_init(void *area, uint64_t size)
{
    struct lps_header *h = area;
    assert(size >= sizeof *h);
    memset(h, 0, sizeof *h);
    memcpy(h->magic, LPS_MAGIC, sizeof LPS_MAGIC);
    h->version = LPS_VERSION;
    h->size = size;
    h->next_seq = 1;
    lps_area_seal(area);
}

uint64_t lps_area_seal(void *area)
{
    struct lps_header *h = area;
    h->checksum = area_checksum(area, h->used);
    return sizeof *h + h->used;
}

static int terminated(const char *s, size_t n)
{
    return memchr(s, 0, n) != NULL;
}

static int check_func(const struct lps_func *f, uint32_t rec, uint32_t i, char *err)
{
    if (!terminated(f->name, sizeof f->name))
        return lp_fail(err, "patch state: record %u function %u: name not terminated", rec, i);
    if (f->pad_len > sizeof f->prev_pad || f->pad_len == 0)
        return lp_fail(err, "patch state: record %u '%s': pad length %u", rec, f->name, f->pad_len);
    if (f->pad_addr >= f->entry_addr || f->entry_addr - f->pad_addr > -LP_JMP_REL8_MIN ||
        !lp_entry_jump_reaches((unsigned)(f->entry_addr - f->pad_addr), 0) ||
        f->pad_addr + f->pad_len > f->entry_addr)
        return lp_fail(err,
                       "patch state: record %u '%s': pad 0x%" PRIx64 "+%u does not end before "
                       "entry 0x%" PRIx64 " within a short jump",
                       rec, f->name, f->pad_addr, f->pad_len, f->entry_addr);
    return 0;
}

static int check_record(const struct lps_patch *p, uint32_t rec, uint64_t room, uint64_t last_seq,
                        uint64_t next_seq, char *err)
{
    if (room < sizeof *p)
        return lp_fail(err, "patch state: record %u truncated", rec);
    if (p->rec_size != sizeof *p + (uint64_t)p->nfuncs * sizeof(struct lps_func) ||
        p->rec_size > room)
        return lp_fail(err, "patch state: record %u: size %u does not match %u functions", rec,
                       p->rec_size, p->nfuncs);
    if (p->status < LPS_APPLYING || p->status > LPS_REVERTING)
        return lp_fail(err, "patch state: record %u: unknown status %u", rec, p->status);
    if (p->seq <= last_seq || p->seq >= next_seq)
        return lp_fail(err, "patch state: record %u: sequence %" PRIu64 " out of order", rec,
                       p->seq);
    if (p->old_build_id_len > sizeof p->old_build_id ||
        p->new_build_id_len > sizeof p->new_build_id)
        return lp_fail(err, "patch state: record %u: bad build-id length", rec);
    if (!terminated(p->module, sizeof p->module) || !terminated(p->source, sizeof p->source))
        return lp_fail(err, "patch state: record %u: module or source name not terminated", rec);
    if (p->exec_size > p->image_size)
        return lp_fail(err, "patch state: record %u: exec size beyond image", rec);
    const struct lps_func *f = (const struct lps_func *)(p + 1);
    for (uint32_t i = 0; i < p->nfuncs; i++)
        if (check_func(&f[i], rec, i, err) < 0)
            return -1;
    return 0;
}

int lps_area_check(const void *area, uint64_t len, char *err)
{
    const uint8_t *a = area;
    struct lps_header h;
    if (len < sizeof h)
        return lp_fail(err, "patch state: %" PRIu64 " bytes, header needs %zu", len, sizeof h);
    memcpy(&h, a, sizeof h);
    if (memcmp(h.magic, LPS_MAGIC, sizeof LPS_MAGIC) != 0)
        return lp_fail(err, "patch state: bad magic");
    if (h.version != LPS_VERSION)
        return lp_fail(err, "patch state: version %u, this lpatch knows %d", h.version,
                       LPS_VERSION);
    if (h.size < sizeof h || h.used > h.size - sizeof h || h.used > len - sizeof h)
        return lp_fail(err,
                       "patch state: %" PRIu64 " bytes of records do not fit the area (%" PRIu64
                       " bytes, %" PRIu64 " read)",
                       h.used, h.size, len);
    if (area_checksum(a, h.used) != h.checksum)
        return lp_fail(err, "patch state: checksum mismatch");
    uint64_t off = 0, last_seq = 0;
    for (uint32_t i = 0; i < h.npatches; i++) {
        /* records are 8-byte multiples; `a` must be 8-byte aligned (malloc) */
        const struct lps_patch *p = (const struct lps_patch *)(a + sizeof h + off);
        if (check_record(p, i, h.used - off, last_seq, h.next_seq, err) < 0)
            return -1;
        last_seq = p->seq;
        off += p->rec_size;
    }
    if (off != h.used)
        return lp_fail(err, "patch state: %" PRIu64 " bytes after the last record", h.used - off);
    return 0;
}

struct lps_patch *lps_area_next(void *area, const struct lps_patch *prev)
{
    struct lps_header *h = area;
    uint8_t *recs = (uint8_t *)area + sizeof *h;
    uint64_t off = prev ? (uint64_t)((const uint8_t *)prev - recs) + prev->rec_size : 0;
    return off < h->used ? (struct lps_patch *)(recs + off) : NULL;
}

struct lps_patch *lps_area_find(void *area, const uint8_t id[16])
{
    for (struct lps_patch *p = lps_area_next(area, NULL); p; p = lps_area_next(area, p))
        if (memcmp(p->patch_id, id, 16) == 0)
            return p;
    return NULL;
}

struct lps_patch *lps_area_append(void *area, uint64_t cap, const struct lps_patch *p,
                                  const struct lps_func *funcs, char *err)
{
    struct lps_header *h = area;
    uint64_t size = sizeof *p + (uint64_t)p->nfuncs * sizeof *funcs;
    uint64_t limit = cap < h->size ? cap : h->size;
    if (sizeof *h + h->used + size > limit) {
        lp_fail(err,
                "patch state: no room for another record (%" PRIu64 " of %" PRIu64 " bytes used)",
                sizeof *h + h->used, h->size);
        return NULL;
    }
    assert(h->used % 8 == 0 && size % 8 == 0); /* records stay 8-byte aligned */
    struct lps_patch *q = (struct lps_patch *)((uint8_t *)area + sizeof *h + h->used);
    memcpy(q, p, sizeof *p);
    if (p->nfuncs)
        memcpy(q + 1, funcs, (size_t)p->nfuncs * sizeof *funcs);
    q->rec_size = (uint32_t)size;
    q->seq = h->next_seq++;
    h->used += size;
    h->npatches++;
    return q;
}

void lps_area_remove(void *area, struct lps_patch *p)
{
    struct lps_header *h = area;
    uint8_t *recs = (uint8_t *)area + sizeof *h;
    uint64_t off = (uint64_t)((uint8_t *)p - recs), size = p->rec_size;
    /* p is a record of this area (lps_area_next/find/append), not a copy */
    assert((uint8_t *)p >= recs && off + size <= h->used && h->npatches > 0);
    memmove(recs + off, recs + off + size, h->used - off - size);
    h->used -= size;
    h->npatches--;
}
