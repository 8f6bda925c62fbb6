/*
 * stackscan.c - proofs over a thread's raw stack words, no unwinding: the
 * cheap proof (no word of an ordinary thread stack points into replaced
 * code, so no return address can), the batched read of every stack of a
 * stop with process_vm_readv, and the conservative raw scan used where
 * unwinding cannot go (frames without unwind information, a lost chain).
 */
#include "safety_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

int lpa_raw_scan(struct lpa_safety *s, pid_t tid, uint64_t sp, const struct lpa_range *r, size_t nr,
                 int memfd, char *why)
{
    /* Bounded by the stack's mapping as read before the pause (nothing is
     * read from /proc in it); a stack mapped since: as far as memory reads,
     * up to RAW_SCAN. */
    const struct lpa_map *mp = s->premaps ? lpa_maps_find(s->premaps, sp) : NULL;
    uint64_t end = mp && mp->end > sp ? mp->end : sp + RAW_SCAN;
    if (end - sp > RAW_SCAN)
        end = sp + RAW_SCAN;
    size_t n = (size_t)((end - sp) / 8);
    uint64_t *words = s->raw; /* RAW_SCAN bytes or more, made before the pause */
    assert(n * 8 <= RAW_SCAN);
    if (!words) {
        n = 0;
    } else if (mp) {
        if (lpa_mem_read(memfd, sp, words, n * 8) != 0)
            n = 0;
    } else {
        ssize_t got = pread(memfd, words, n * 8, (off_t)sp); /* short at the mapping's end */
        n = got > 0 ? (size_t)got / 8 : 0;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct lpa_range *h = lpa_hit(s, r, nr, words[i], 1);
        if (h) {
            lpa_err(why, "thread %d may be inside %s (stack word %#llx at sp+%#zx; no unwind info)",
                    (int)tid, h->name, (unsigned long long)words[i], i * 8);
            rc = 1;
        }
    }
    return rc;
}

/* A thread stack as glibc or the kernel makes them: [stack], or an
 * anonymous mapping right above its guard page.  (Not a sigaltstack: the
 * interrupted frames of a signal handler live on another stack.) */
const struct lpa_map *lpa_plain_stack(const struct lpa_maps *m, uint64_t sp)
{
    size_t lo = 0, hi = m->n; /* /proc/PID/maps is sorted: the first mapping ending above sp */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].end <= sp)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    if (i >= m->n || sp < m->v[i].start)
        return NULL;
    const struct lpa_map *mp = &m->v[i];
    if (!strcmp(mp->path, "[stack]"))
        return mp;
    if (!mp->path[0] && i > 0 && m->v[i - 1].end == mp->start && !strcmp(m->v[i - 1].perms, "---p"))
        return mp;
    return NULL;
}

/* The live stack above sp, if the cheap proof may be used on it: an
 * ordinary thread stack, at most RAW_SCAN bytes from sp to its top. */
const struct lpa_map *lpa_clean_span(struct lpa_safety *s, uint64_t sp)
{
    const struct lpa_map *mp = s->premaps ? lpa_plain_stack(s->premaps, sp) : NULL;
    return mp && mp->end > sp && mp->end - sp <= RAW_SCAN ? mp : NULL;
}

/* 1: no word points into any range (as a return address would). */
int lpa_words_clean(struct lpa_safety *s, const uint64_t *words, size_t n,
                    const struct lpa_range *r, size_t nr)
{
    if (nr == 0)
        return 1;
    if (lpa_ranges_index(s, r, nr) != 0) { /* no index: each word the slow way */
        for (size_t i = 0; i < n; i++)
            if (lpa_hit(s, r, nr, words[i], 1))
                return 0;
        return 1;
    }
    const uint64_t lo = s->idx_lo, hi = s->idx_hi;
    /* Most words point nowhere near: a branch-free pass over each block
     * (vectorised) finds the blocks worth a closer look. */
    const uint64_t span = hi - lo;
    for (size_t b = 0; b < n; b += 32) {
        size_t e = n - b < 32 ? n - b : 32;
        int near = 0;
        for (size_t i = b; i < b + e; i++)
            near |= words[i] - 1 - lo < span;
        if (!near)
            continue;
        for (size_t i = b; i < b + e; i++)
            if (words[i] - 1 - lo < span && lpa_hit(s, r, nr, words[i], 1))
                return 0;
    }
    return 1;
}

/* Cheap proof of safety: no word of the live stack points into any range,
 * so no return address can.  1 proven clean, 0 unknown (unwind). */
int lpa_stack_clean(struct lpa_safety *s, uint64_t sp, const struct lpa_range *r, size_t nr,
                    int memfd)
{
    const struct lpa_map *mp = lpa_clean_span(s, sp);
    if (!mp)
        return 0;
    if (nr == 0)
        return 1;
    if (!s->words) /* made by lpa_safety_reserve; none: prove nothing */
        return 0;
    size_t n = (size_t)((mp->end - sp) / 8);
    if (lpa_mem_read(memfd, sp, s->words, n * 8) != 0)
        return 0;
    return lpa_words_clean(s, s->words, n, r, nr);
}

/* Read the live stacks of many threads with as few system calls as
 * possible: process_vm_readv takes up to IOV_MAX remote ranges at once.
 * got[k]: stack k was read whole. */
void lpa_read_stacks(pid_t pid, int memfd, const uint64_t *sp, const size_t *len, size_t n,
                     uint64_t *buf, const size_t *off, int *got)
{
    enum { BATCH = 512 };
    struct iovec l[BATCH], rm[BATCH];
    for (size_t k0 = 0; k0 < n; k0 += BATCH) {
        size_t m = n - k0 < BATCH ? n - k0 : BATCH, want = 0;
        for (size_t j = 0; j < m; j++) {
            l[j] = (struct iovec){buf + off[k0 + j], len[k0 + j]};
            rm[j] = (struct iovec){(void *)(uintptr_t)sp[k0 + j], len[k0 + j]};
            want += len[k0 + j];
        }
        ssize_t r = process_vm_readv(pid, l, m, rm, m, 0);
        for (size_t j = 0; j < m; j++) /* a short read: the rest one by one */
            got[k0 + j] = r == (ssize_t)want ||
                          lpa_mem_read(memfd, sp[k0 + j], buf + off[k0 + j], len[k0 + j]) == 0;
    }
}

void lpa_safety_stacks(struct lpa_safety *s, const struct lpa_maps *m)
{
    s->premaps = m;
    /* A buffer for the batched stack read, its pages faulted in now rather
     * than in the pause (a fresh 256 KiB costs ~200 us of page faults):
     * 16 KiB per thread stack (a glibc thread uses ~4.5 KiB from its stack
     * pointer to the top, struct pthread included); larger needs malloc. */
    size_t stacks = 0;
    for (size_t i = 0; i < m->n; i++)
        stacks += lpa_plain_stack(m, m->v[i].start) != NULL;
    size_t want = (stacks + 2) * (16u << 10);
    if (s->batch && s->batch_size >= want)
        return;
    if (s->batch)
        munmap(s->batch, s->batch_size);
    s->batch =
        mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    s->batch_size = s->batch == MAP_FAILED ? 0 : want;
    if (s->batch == MAP_FAILED)
        s->batch = NULL;
}
