/*
 * pause.c - the transition: every thread held and proven outside replaced
 * code before anything switches.  Stop all threads, check them at once
 * (safety.h), release and retry with backoff when one is inside; lpatch
 * runs SCHED_FIFO meanwhile and keeps SIGINT and friends for after the
 * writes.  The kernel's kernel/livepatch/transition.c plays this part there.
 */
#include "pause.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

int lpa_stop_code(enum lpa_stop_err e)
{
    switch (e) {
    case LPA_STOP_OK:
        return LPA_OK;
    case LPA_STOP_GONE:
        return LPA_USAGE;
    case LPA_STOP_PERM:
        return LPA_PTRACE;
    default:
        return LPA_REFUSED;
    }
}

void lpa_fifo_raise(struct lpa_sched *s, const struct lpa_opts *o)
{
    s->raised = 0;
    if (o->no_fifo || sched_getscheduler(0) == SCHED_FIFO)
        return;
    s->policy = sched_getscheduler(0);
    sched_getparam(0, &s->param);
    struct sched_param p = {.sched_priority = sched_get_priority_min(SCHED_FIFO) + 1};
    s->raised = sched_setscheduler(0, SCHED_FIFO, &p) == 0;
}

void lpa_fifo_restore(struct lpa_sched *s)
{
    if (s->raised)
        sched_setscheduler(0, s->policy, &s->param);
    s->raised = 0;
}

void lpa_realtime(const struct lpa_opts *o, int on)
{
    static struct lpa_sched whole;
    if (on)
        lpa_fifo_raise(&whole, o);
    else
        lpa_fifo_restore(&whole);
}

void lpa_backoff_wait(const struct lpa_opts *o, unsigned *us)
{
    usleep(*us);
    *us = *us * 2 > o->backoff_max_us ? o->backoff_max_us : *us * 2;
}

/* Stop every thread, then check them all at once (registers, one batched
 * read of every stack, unwinding only where that fails, stepping threads
 * out of replaced code together), retrying with backoff.  Checking only
 * once all are stopped keeps lpatch off the CPUs while busy threads are
 * still on their way to their stop. */
int lpa_stop_safe(struct lpa_world *w, pid_t pid, struct lpa_safety *sf, const struct lpa_range *r,
                  size_t nr, int memfd, const struct lpa_opts *o, struct lpa_stats *st, char *err)
{
    unsigned backoff = o->backoff_us;
    char why[LP_ERR_MAX] = "";
    int tries = o->retries > 0 ? o->retries : 1;
    for (int i = 0; i < tries; i++) {
        st->tries = i + 1;
        /* The check's scratch, for the threads there are now and as many
         * again: made here, as the pause must not allocate. */
        pid_t *tids;
        size_t nt = 0;
        if (lpa_tids(pid, &tids, &nt) == 0)
            free(tids);
        if (lpa_safety_reserve(sf, 2 * nt + 16, nr) != 0) {
            lpa_err(err, "process %d: out of memory", (int)pid);
            return LPA_USAGE;
        }
        enum lpa_stop_err e = lpa_stop(w, pid, 0, o->timeout_ms, err);
        if (e != LPA_STOP_OK)
            return lpa_stop_code(e);
        int verdict = lpa_safety_all(sf, w, r, nr, memfd, why);
        uint64_t t_checked = lpa_now_ns();
        st->stop_ns = t_checked - w->t_first; /* the check is part of the stop */
        st->check_ns = t_checked - w->t_stopped;
        st->threads = w->n;
        st->stepped = lpa_safety_stepped(sf);
        st->emulated = lpa_safety_finished(sf, &st->emulated_insns);
        if (verdict == 0) {
            assert(w->n > 0); /* every thread held, none missing from the check */
            return LPA_OK;
        }
        lpa_release(w);
        if (verdict < 0) {
            lpa_err(err, "%s", why);
            return LPA_USAGE;
        }
        if (i + 1 < tries)
            lpa_backoff_wait(o, &backoff);
    }
    lpa_err(err, "process %d: not safe after %d tries: %s", (int)pid, tries, why);
    return LPA_REFUSED;
}

void lpa_finish_pause(struct lpa_world *w, struct lpa_stats *st, uint64_t t_write_end)
{
    lpa_release(w);
    st->resume_ns = w->t_released - t_write_end;
    st->pause_ns = w->t_released - w->t_first;
}

void lpa_block_signals(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    sigaddset(&s, SIGQUIT);
    sigprocmask(SIG_BLOCK, &s, old);
}
