/*
 * safety.c - the stack check's driver: is it safe to switch now?  It owns
 * the check's state (made before the pause, with room reserved so the
 * pause allocates nothing), and runs the steps over the held threads:
 * registers and IPs, the batched cheap proof (stackscan.c), unwinding
 * where that fails (unwind.c), threads caught inside replaced code run out
 * of it (runout.c).  The range search is ranges.c.  Retrying with backoff
 * is the caller's (pause.c).
 */
#include "safety_int.h"
#include "emulate.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>

struct lpa_safety *lpa_safety_new(pid_t pid, int memfd)
{
    struct lpa_safety *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->pid = pid;
    s->memfd = memfd;
    s->page = malloc(NPAGES * sizeof *s->page);
    if (!s->page || lpa_unwind_new(s) != 0) {
        lpa_safety_free(s);
        return NULL;
    }
    lpa_pages_init(&s->mem, memfd, NPAGES, s->page_addr, s->page);
    s->emulate = lpa_emu_allowed(pid);
    return s;
}

void lpa_safety_free(struct lpa_safety *s)
{
    if (!s)
        return;
    lpa_unwind_free(s);
    free(s->words);
    if (s->batch)
        munmap(s->batch, s->batch_size);
    free(s->page);
    free(s->idx);
    free(s->idx_max);
    free(s->tid);
    free(s->ftid);
    free(s->tregs);
    free(s->fregs);
    free(s->state);
    free(s->got);
    free(s->fok);
    free(s->sidx);
    free(s->len);
    free(s->off);
    free(s->sp);
    free(s->v);
    free(s->raw);
    free(s);
}

int lpa_check_thread(struct lpa_safety *s, pid_t tid, const struct lpa_range *r, size_t nr,
                     int memfd, char *why)
{
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0)
        return 0; /* the thread is gone */
    return lpa_check_regs(s, tid, &regs, r, nr, memfd, 0, why);
}

void lpa_safety_begin(struct lpa_safety *s)
{
    lpa_unwind_use(s);
    s->idx_r = NULL; /* the range index is rebuilt for the array checked now */
    s->emu_budget = MAX_EMULATED;
    lpa_pages_forget(&s->mem); /* memory moved since the last stop */
}

int lpa_safety_thread(struct lpa_safety *s, struct lpa_world *w, size_t i,
                      const struct lpa_range *r, size_t nr, int memfd, char *why)
{
    lpa_unwind_use(s);
    pid_t tid = w->t[i].tid;
    int rc = lpa_check_thread(s, tid, r, nr, memfd, why);
    struct user_regs_struct x;
    if (rc == 2 && ptrace(PTRACE_GETREGS, tid, 0, &x) == 0 &&
        lpa_run_here(s, tid, &x, r, nr, memfd)) {
        lpa_pages_forget(&s->mem);
        rc = lpa_check_thread(s, tid, r, nr, memfd, why);
    }
    /* A thread caught inside a replaced function (its IP, not a caller's
     * frame), or in a leaf it called, usually leaves within a few
     * instructions: step it out instead of releasing everyone and retrying. */
    for (int steps = 0; (rc == 2 || rc == 3) && steps < MAX_STEPS; steps++) {
        uint64_t ip;
        if (lpa_step(w, i, &ip) != 0 || i >= w->n || w->t[i].tid != tid)
            break;
        if (rc == 3 ? ip == s->ret_target : !lpa_hit(s, r, nr, ip, 0)) {
            lpa_pages_forget(&s->mem);
            rc = lpa_check_thread(s, tid, r, nr, memfd, why);
            if (rc == 0)
                s->stepped++;
        }
    }
    return rc >= 2 ? 1 : rc;
}

int lpa_safety_check(struct lpa_safety *s, struct lpa_world *w, const struct lpa_range *r,
                     size_t nr, int memfd, char *why)
{
    lpa_safety_begin(s);
    int rc = 0;
    for (size_t i = 0; i < w->n && !rc; i++)
        rc = lpa_safety_thread(s, w, i, r, nr, memfd, why);
    return rc;
}

enum { T_SAFE, T_CHECK, T_UNCLEAN };

int lpa_safety_reserve(struct lpa_safety *s, size_t threads, size_t nranges)
{
#define RESERVE(field, n)                                                                          \
    do {                                                                                           \
        void *p_ = realloc(s->field, (n) * sizeof *s->field);                                      \
        if (!p_)                                                                                   \
            return -1;                                                                             \
        s->field = p_;                                                                             \
    } while (0)
    if (!s->words && !(s->words = malloc(RAW_SCAN)))
        return -1;
    if (!s->raw && !(s->raw = malloc(RAW_SCAN + 8)))
        return -1;
    if (nranges > s->idx_cap) {
        RESERVE(idx, nranges);
        RESERVE(idx_max, nranges);
        s->idx_cap = nranges;
        s->idx_r = NULL;
    }
    if (threads <= s->thr_cap)
        return 0;
    RESERVE(tid, threads);
    RESERVE(ftid, threads);
    RESERVE(tregs, threads);
    RESERVE(fregs, threads);
    RESERVE(state, threads);
    RESERVE(got, threads);
    RESERVE(fok, threads);
    RESERVE(sidx, threads);
    RESERVE(len, threads);
    RESERVE(off, threads);
    RESERVE(sp, threads);
    RESERVE(v, threads);
#undef RESERVE
    s->thr_cap = threads;
    return 0;
}

int lpa_safety_all(struct lpa_safety *s, struct lpa_world *w, const struct lpa_range *r, size_t nr,
                   int memfd, char *why)
{
    lpa_safety_begin(s);
    size_t n = w->n, nstack = 0, total = 0, nstep = 0;
    int rc = 0;
    if (n > s->thr_cap) { /* threads appeared since lpa_safety_reserve */
        lpa_err(why, "process %d: %zu threads, room made for %zu", (int)s->pid, n, s->thr_cap);
        return 1;
    }
    pid_t *tid = s->tid;
    struct user_regs_struct *regs = s->tregs;
    int *state = s->state, *got = s->got;
    size_t *sidx = s->sidx, *len = s->len, *off = s->off;
    uint64_t *sp = s->sp;
    struct stepping *v = s->v;
    /* 1. Registers of every thread; its IP against every range. */
    for (size_t i = 0; i < n; i++) {
        tid[i] = w->t[i].tid;
        state[i] = T_CHECK;
        if (ptrace(PTRACE_GETREGS, tid[i], 0, &regs[i]) != 0) {
            state[i] = T_SAFE; /* the thread is gone */
            continue;
        }
        const struct lpa_range *h = lpa_hit(s, r, nr, regs[i].rip, 0);
        if (h && lpa_run_here(s, tid[i], &regs[i], r, nr, memfd))
            h = lpa_hit(s, r, nr, regs[i].rip, 0);
        if (h) {
            state[i] = T_SAFE; /* stepped out below, then checked again */
            v[nstep] = (struct stepping){.tid = tid[i], .rip = regs[i].rip};
            lpa_err(v[nstep++].why, "thread %d is executing %s (ip %#llx)", (int)tid[i], h->name,
                    (unsigned long long)regs[i].rip);
            continue;
        }
        const struct lpa_map *mp = lpa_clean_span(s, regs[i].rsp);
        size_t bytes = mp ? (size_t)((mp->end - regs[i].rsp) / 8) * 8 : 0;
        if (mp && nr && total + bytes <= s->batch_size) {
            sidx[nstack] = i;
            sp[nstack] = regs[i].rsp;
            len[nstack] = bytes;
            off[nstack] = total / 8;
            total += len[nstack++];
        } else if (mp && !nr) {
            state[i] = T_SAFE; /* no range to hit */
        } /* else T_CHECK: a stack beyond the batch buffer is read on its own */
    }
    /* Threads caught inside a replaced function (by their IP) usually
     * leave within a few instructions: they are stepped out (4. below),
     * their first step under way while the others are checked. */
    size_t nfirst = nstep;
    pid_t *ftid = s->ftid;
    struct user_regs_struct *fregs = s->fregs;
    int *fok = s->fok;
    for (size_t k = 0; k < nfirst; k++) {
        ftid[k] = v[k].tid;
        fregs[k].rip = v[k].rip;
    }
    if (nfirst)
        lpa_step_issue(w, memfd, ftid, nfirst, fregs, fok);
    /* 2. The cheap proof for every ordinary stack, all read in one go. */
    if (nstack) {
        uint64_t *buf = s->batch; /* only stacks that fit were batched */
        assert(buf && total <= s->batch_size);
        lpa_read_stacks(s->pid, memfd, sp, len, nstack, buf, off, got);
        for (size_t k = 0; k < nstack; k++)
            if (got[k]) /* else T_CHECK: the slow path reads it again */
                state[sidx[k]] =
                    lpa_words_clean(s, buf + off[k], len[k] / 8, r, nr) ? T_SAFE : T_UNCLEAN;
    }
    /* 3. The rest: unwind; a return address in replaced code fails, unless
     * it is the current function's (it may return soon: step it). */
    for (size_t i = 0; i < n && !rc; i++) {
        if (state[i] == T_SAFE)
            continue;
        assert(nstep < n); /* each thread enters v at most once */
        int c =
            lpa_check_regs(s, tid[i], &regs[i], r, nr, memfd, state[i] == T_UNCLEAN, v[nstep].why);
        if (c == 1) {
            rc = 1;
            lpa_err(why, "%s", v[nstep].why);
        } else if (c == 2 || c == 3) {
            v[nstep].tid = tid[i];
            v[nstep].rip = regs[i].rip;
            v[nstep].ret = c == 3 ? s->ret_target : 0;
            v[nstep++].steps = 0;
        }
    }
    /* 4. Threads caught inside a replaced function (by their IP), or in a
     * leaf it called, usually leave within a few instructions: step them
     * out, all at once, instead of releasing everyone and retrying. */
    if (nfirst) {
        lpa_step_wait(w, ftid, nfirst, fregs, fok); /* even if unsafe: stopped again */
        if (!rc) {
            size_t kept = lpa_step_done(s, v, nfirst, fregs, fok, r, nr, memfd, &rc, why);
            memmove(v + kept, v + nfirst, (nstep - nfirst) * sizeof *v);
            nstep = kept + (nstep - nfirst);
        }
    }
    if (!rc && nstep)
        rc = lpa_step_out(s, w, v, nstep, r, nr, memfd, why);
    return rc;
}

unsigned lpa_safety_stepped(const struct lpa_safety *s)
{
    return s->stepped;
}

unsigned lpa_safety_finished(const struct lpa_safety *s, unsigned *insns)
{
    *insns = s->emulated;
    return s->finished;
}
