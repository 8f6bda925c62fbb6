/*
 * runout.c - running held threads out of replaced code instead of
 * releasing everyone and retrying: a thread whose IP is in a replaced
 * function (or whose current callee returns into one) usually leaves it
 * within a few instructions.  Those instructions are done here on its
 * registers when emulate.c can (no context switch each), else
 * single-stepped, all such threads at once, each until it is out and
 * checked again, or a bound is reached (then: unsafe, retry).
 */
#include "safety_int.h"
#include "emulate.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>

int lpa_run_here(struct lpa_safety *s, pid_t tid, struct user_regs_struct *regs,
                 const struct lpa_range *r, size_t nr, int memfd)
{
    if (!s->emulate || regs->orig_rax != (unsigned long long)-1)
        return 0; /* shadow stack; or in a system call, which may restart */
    struct user_regs_struct x = *regs;
    struct lpa_emu e = {.memfd = memfd};
    int k = 0;
    while (s->emu_budget && lpa_hit(s, r, nr, x.rip, 0) && lpa_emu_step(&e, &x)) {
        s->emu_budget--;
        k++;
    }
    if (!k || ptrace(PTRACE_SETREGS, tid, 0, &x) != 0)
        return 0;
    *regs = x;
    s->emulated += (unsigned)k;
    if (!lpa_hit(s, r, nr, x.rip, 0))
        s->finished++;
    return 1;
}

/* After one step of each of v[0..live): regs[k] its registers, ok[k]
 * whether the step was made.  Threads now out are checked again; those
 * still to step are kept, in order.  Returns how many remain; *rc 1 (why)
 * if unsafe. */
size_t lpa_step_done(struct lpa_safety *s, struct stepping *v, size_t live,
                     struct user_regs_struct *regs, const int *ok, const struct lpa_range *r,
                     size_t nr, int memfd, int *rc, char *why)
{
    size_t keep = 0;
    for (size_t k = 0; k < live; k++) {
        v[k].rip = regs[k].rip;
        v[k].steps++;
        if (!ok[k]) { /* could not step it, or it did not stop again */
            *rc = 1;
            lpa_err(why, "%s", v[k].why);
            return 0;
        }
        if (!v[k].ret && lpa_hit(s, r, nr, v[k].rip, 0) &&
            lpa_run_here(s, v[k].tid, &regs[k], r, nr, memfd))
            v[k].rip = regs[k].rip;
        if (v[k].ret ? v[k].rip == v[k].ret : !lpa_hit(s, r, nr, v[k].rip, 0)) {
            lpa_pages_forget(&s->mem); /* it moved */
            int c = lpa_check_thread(s, v[k].tid, r, nr, memfd, v[k].why);
            if (c == 0) {
                s->stepped++;
                continue;
            }
            if (c == 1) {
                *rc = 1;
                lpa_err(why, "%s", v[k].why);
                return 0;
            }
            v[k].ret = c == 3 ? s->ret_target : 0;
        }
        if (v[k].steps >= MAX_STEPS) {
            *rc = 1;
            lpa_err(why, "%s", v[k].why);
            return 0;
        }
        if (keep != k)
            v[keep] = v[k];
        keep++;
    }
    return keep;
}

int lpa_step_out(struct lpa_safety *s, struct lpa_world *w, struct stepping *v, size_t live,
                 const struct lpa_range *r, size_t nr, int memfd, char *why)
{
    /* The first-step scratch is free again by now (lpa_safety_all). */
    assert(live <= s->thr_cap);
    pid_t *tids = s->ftid;
    struct user_regs_struct *regs = s->fregs;
    int *ok = s->fok, rc = 0;
    while (live && !rc) {
        for (size_t k = 0; k < live; k++) {
            tids[k] = v[k].tid;
            regs[k].rip = v[k].rip;
        }
        lpa_step_many(w, memfd, tids, live, regs, ok);
        live = lpa_step_done(s, v, live, regs, ok, r, nr, memfd, &rc, why);
    }
    return rc;
}

enum { T_SAFE, T_CHECK, T_UNCLEAN };
