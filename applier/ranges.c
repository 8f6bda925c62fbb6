/*
 * ranges.c - which replaced (or removed) code an address is in: the
 * forbidden ranges of one check, searched linearly when few and through an
 * index sorted by start (built once per stop, in room lpa_safety_reserve
 * made) when many.  An address may be excused: a thread about to enter a
 * function takes its new entry, and an allowed-active function only
 * forbids its pad.
 */
#include "safety_int.h"

#include <assert.h>
#include <stdlib.h>

/* Whether range r excuses address a (frame 0: the exact IP). */
static int excused(const struct lpa_range *r, uint64_t a, int frame)
{
    if (frame == 0 && a >= r->ok_lo && a <= r->ok_hi)
        return 1;
    return r->allow_active && (frame > 0 || a >= r->ok_lo);
}

const struct lpa_range *hit_linear(const struct lpa_range *r, size_t nr, uint64_t a, int frame)
{
    for (size_t i = 0; i < nr; i++)
        if (a >= r[i].lo && a < r[i].hi && !excused(&r[i], a, frame))
            return &r[i];
    return NULL;
}

const struct lpa_range *sort_r; /* qsort has no context argument */

static int by_lo(const void *a, const void *b)
{
    uint64_t x = sort_r[*(const uint32_t *)a].lo, y = sort_r[*(const uint32_t *)b].lo;
    return x < y ? -1 : x > y;
}

/* Sort the range set (once per stop: lpa_safety_begin forgets it), in the
 * room lpa_safety_reserve made; -1 if there is too little (search linearly). */
int lpa_ranges_index(struct lpa_safety *s, const struct lpa_range *r, size_t nr)
{
    if (s->idx_r == r && s->idx_n == nr)
        return 0;
    if (nr > s->idx_cap)
        return -1;
    assert(s->idx && s->idx_max);
    for (size_t i = 0; i < nr; i++)
        s->idx[i] = (uint32_t)i;
    sort_r = r;
    qsort(s->idx, nr, sizeof *s->idx, by_lo);
    s->idx_lo = UINT64_MAX;
    s->idx_hi = 0;
    for (size_t k = 0; k < nr; k++) {
        const struct lpa_range *x = &r[s->idx[k]];
        s->idx_max[k] = k && s->idx_max[k - 1] > x->hi ? s->idx_max[k - 1] : x->hi;
        s->idx_lo = x->lo < s->idx_lo ? x->lo : s->idx_lo;
        s->idx_hi = x->hi > s->idx_hi ? x->hi : s->idx_hi;
    }
    s->idx_r = r;
    s->idx_n = nr;
    return 0;
}

/* The range an address hits, or NULL; frame 0 is the exact IP, deeper
 * frames are return addresses (checked as ip-1: the call instruction).
 * Every range holding the address is considered (ranges may overlap); the
 * first one in array order that does not excuse it is returned. */
const struct lpa_range *lpa_hit(struct lpa_safety *s, const struct lpa_range *r, size_t nr,
                                uint64_t ip, int frame)
{
    uint64_t a = frame ? ip - 1 : ip;
    if (!s || nr < 8 || lpa_ranges_index(s, r, nr) != 0)
        return hit_linear(r, nr, a, frame);
    if (a < s->idx_lo || a >= s->idx_hi)
        return NULL;
    size_t lo = 0, hi = nr; /* first k with r[idx[k]].lo > a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[s->idx[mid]].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct lpa_range *best = NULL;
    for (size_t k = lo; k-- > 0 && s->idx_max[k] > a;) {
        const struct lpa_range *x = &r[s->idx[k]];
        if (a < x->hi && !excused(x, a, frame) && (!best || x < best))
            best = x;
    }
    return best;
}
