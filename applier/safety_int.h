/*
 * safety_int.h - what the files of the stack check share, and nothing
 * outside them sees: the check's state (struct lpa_safety), its limits,
 * and the internal entry points of ranges.c, stackscan.c, unwind.c and
 * runout.c.  safety.c drives them; safety.h is the interface the rest of
 * lpatch uses.
 */
#ifndef LPATCH_SAFETY_INT_H
#define LPATCH_SAFETY_INT_H

#include "safety.h"
#include "proc.h"
#include "pages.h"

#include <libunwind-ptrace.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#define MAX_FRAMES   256
#define RAW_SCAN     (64u << 10)
#define MAX_STEPS    200   /* single steps to leave a replaced function */
#define MAX_EMULATED 20000 /* instructions run here per stop, all threads: ~40 ns each */

#define NPAGES 64 /* the unwinder's page cache over target memory */

/* One libunwind-ptrace handle per module (unwind.c). */
struct upt_slot {
    uint64_t lo, hi;
    void *upt;
};

/* Threads to step out of replaced code, stepped all at once: each until
 * its IP leaves every range (ret 0) or reaches ret (the return address into
 * replaced code of the callee it is in), then checked again. */
struct stepping {
    pid_t tid;
    uint64_t rip, ret;
    int steps;
    char why[LP_ERR_MAX];
};

struct lpa_safety {
    pid_t pid;
    int memfd;
    /* unwind.c */
    unw_addr_space_t as;
    unw_accessors_t acc;
    uint64_t (*opaque)[2];
    size_t nopaque;
    unw_dyn_info_t *dyn; /* patch images with unwind information (lpa_safety_opaque) */
    size_t ndyn;
    struct upt_slot *upts; /* made before the pause (lpa_safety_warm) */
    size_t nupts;
    void *upt_any;
    struct user_regs_struct regs;
    struct lpa_pages mem; /* NPAGES, valid for one stop (forgotten when a thread moves) */
    uint64_t page_addr[NPAGES];
    uint8_t (*page)[LPA_PAGE];
    uint64_t ret_target; /* check_regs 3: where the current callee returns */
    /* stackscan.c */
    const struct lpa_maps *premaps; /* read before the pause: stack bounds */
    uint64_t *words;                /* RAW_SCAN bytes */
    uint64_t *batch;                /* every stack of a stop, mapped and faulted in before it */
    size_t batch_size;
    uint64_t *raw; /* RAW_SCAN + 8 bytes */
    /* runout.c */
    unsigned stepped;    /* threads stepped out of a function */
    unsigned finished;   /* threads lpatch ran out of replaced code itself */
    unsigned emulated;   /* instructions it ran for them */
    int emulate;         /* no shadow stack: instructions may be run here */
    unsigned emu_budget; /* left for this stop */
    /* ranges.c: the ranges sorted by lo, for a binary search (built once
     * per stop, for the array being checked). */
    const struct lpa_range *idx_r;
    size_t idx_n;
    uint32_t *idx;     /* range indices by lo */
    uint64_t *idx_max; /* idx_max[k]: highest hi among idx[0..k] */
    uint64_t idx_lo, idx_hi;
    size_t idx_cap; /* ranges idx and idx_max have room for */
    /* safety.c: scratch of lpa_safety_all for up to thr_cap threads:
     * allocated by lpa_safety_reserve before the pause, never in it. */
    size_t thr_cap;
    pid_t *tid, *ftid;
    struct user_regs_struct *tregs, *fregs;
    int *state, *got, *fok;
    size_t *sidx, *len, *off;
    uint64_t *sp;
    struct stepping *v;
};

/* ranges.c */
/* The range an address hits, or NULL; frame 0 is the exact IP, deeper
 * frames are return addresses (checked as ip-1: the call instruction). */
const struct lpa_range *lpa_hit(struct lpa_safety *s, const struct lpa_range *r, size_t nr,
                                uint64_t ip, int frame);
/* Sort the range set (once per stop: lpa_safety_begin forgets it); -1 if
 * there is too little room (search linearly). */
int lpa_ranges_index(struct lpa_safety *s, const struct lpa_range *r, size_t nr);

/* stackscan.c */
/* An ordinary thread stack holding sp in m, or NULL. */
const struct lpa_map *lpa_plain_stack(const struct lpa_maps *m, uint64_t sp);
const struct lpa_map *lpa_clean_span(struct lpa_safety *s, uint64_t sp);
int lpa_words_clean(struct lpa_safety *s, const uint64_t *words, size_t n,
                    const struct lpa_range *r, size_t nr);
int lpa_stack_clean(struct lpa_safety *s, uint64_t sp, const struct lpa_range *r, size_t nr,
                    int memfd);
int lpa_raw_scan(struct lpa_safety *s, pid_t tid, uint64_t sp, const struct lpa_range *r, size_t nr,
                 int memfd, char *why);
void lpa_read_stacks(pid_t pid, int memfd, const uint64_t *sp, const size_t *len, size_t n,
                     uint64_t *buf, const size_t *off, int *got);

/* unwind.c */
int lpa_unwind_new(struct lpa_safety *s); /* -1 out of memory */
void lpa_unwind_free(struct lpa_safety *s);
void lpa_unwind_use(struct lpa_safety *s); /* the check libunwind's callbacks serve */
/* 1 unsafe (why), 2 unsafe only by its IP (it may step out), 3 unsafe only
 * because its current function returns into replaced code (ret_target), 0
 * safe.  regs: as read in this stop; unclean: the cheap proof already failed. */
int lpa_check_regs(struct lpa_safety *s, pid_t tid, const struct user_regs_struct *regsp,
                   const struct lpa_range *r, size_t nr, int memfd, int unclean, char *why);

/* safety.c */
/* lpa_check_regs on the thread's registers now; 0 if it is gone. */
int lpa_check_thread(struct lpa_safety *s, pid_t tid, const struct lpa_range *r, size_t nr,
                     int memfd, char *why);

/* runout.c */
int lpa_run_here(struct lpa_safety *s, pid_t tid, struct user_regs_struct *regs,
                 const struct lpa_range *r, size_t nr, int memfd);
size_t lpa_step_done(struct lpa_safety *s, struct stepping *v, size_t live,
                     struct user_regs_struct *regs, const int *ok, const struct lpa_range *r,
                     size_t nr, int memfd, int *rc, char *why);
int lpa_step_out(struct lpa_safety *s, struct lpa_world *w, struct stepping *v, size_t live,
                 const struct lpa_range *r, size_t nr, int memfd, char *why);

#endif
