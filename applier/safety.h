/*
 * safety.h - is it safe to switch now?  No held thread may be executing, or
 * have a return address in, code that is being replaced or removed.
 */
#ifndef LPATCH_SAFETY_H
#define LPATCH_SAFETY_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "proc.h"
#include "stop.h"

struct lpa_range {
    uint64_t lo, hi;       /* forbidden: [lo, hi) */
    uint64_t ok_lo, ok_hi; /* but an IP (frame 0 only) in [ok_lo, ok_hi] is fine: the
                              thread has not started the function and will take the
                              new entry */
    int allow_active;      /* only the IP must avoid [lo, ok_lo): the pad */
    const char *name;
};

struct lpa_safety; /* cached unwind state, reused across retries */

struct lpa_safety *lpa_safety_new(pid_t pid, int memfd);
void lpa_safety_free(struct lpa_safety *s);
/* Code without unwind information (patch images): a frame there makes the
 * check fall back to scanning the raw stack. */
int lpa_safety_opaque(struct lpa_safety *s, uint64_t lo, uint64_t hi);
/* The image of an applied patch (state record): its text opaque as above,
 * unless it carries unwind information (lpatch_format.h, lp_unwind_table),
 * which the walk then uses for frames in it. */
int lpa_safety_image(struct lpa_safety *s, uint64_t image, uint64_t exec_size, uint64_t image_size);

/* The same, one held thread at a time (as threads reach their stop):
 * begin once per stop, then each thread. */
void lpa_safety_begin(struct lpa_safety *s);
int lpa_safety_thread(struct lpa_safety *s, struct lpa_world *w, size_t i,
                      const struct lpa_range *r, size_t nr, int memfd, char *why);

/* 0: safe; 1: a thread is inside (why says which thread, where); -1 error. */
int lpa_safety_check(struct lpa_safety *s, struct lpa_world *w, const struct lpa_range *r,
                     size_t nr, int memfd, char *why);

/* The same for every held thread at once, after all have stopped: one
 * batched read of all ordinary stacks for the cheap proof, unwinding only
 * where it fails, threads caught inside a replaced function stepped out
 * together.  Same verdicts as lpa_safety_check. */
int lpa_safety_all(struct lpa_safety *s, struct lpa_world *w, const struct lpa_range *r, size_t nr,
                   int memfd, char *why);

/* Room for checking up to `threads` threads against `nranges` ranges:
 * lpa_safety_all allocates nothing (it runs in the pause) and refuses (1,
 * retry) when more threads are held than there is room for.  -1 out of
 * memory. */
int lpa_safety_reserve(struct lpa_safety *s, size_t threads, size_t nranges);

/* Mappings read before the pause: lets the check prove a thread safe by
 * scanning its live stack words, without unwinding. */
void lpa_safety_stacks(struct lpa_safety *s, const struct lpa_maps *m);
/* Load the unwind tables of every mapped module now, not in the pause. */
void lpa_safety_warm(struct lpa_safety *s);

/* How many threads were single-stepped out of replaced code so far. */
unsigned lpa_safety_stepped(const struct lpa_safety *s);
/* How many threads lpatch ran out of replaced code itself (emulate.h), and
 * in how many instructions in all. */
unsigned lpa_safety_finished(const struct lpa_safety *s, unsigned *insns);

#endif
