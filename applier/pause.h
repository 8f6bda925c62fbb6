/*
 * pause.h - the transition of apply and revert: hold every thread, prove
 * none is in replaced code (retrying with backoff), and release; lpatch's
 * scheduling and signals around it.
 */
#ifndef LPATCH_PAUSE_H
#define LPATCH_PAUSE_H

#include <signal.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "apply.h"
#include "safety.h"
#include "stop.h"

/* lpatch's exit code (LPA_*) for a failed stop. */
int lpa_stop_code(enum lpa_stop_err e);

/* lpatch's scheduling, saved while it runs SCHED_FIFO. */
struct lpa_sched {
    int raised, policy;
    struct sched_param param;
};
void lpa_fifo_raise(struct lpa_sched *s, const struct lpa_opts *o);
void lpa_fifo_restore(struct lpa_sched *s);

/* Wait *us microseconds between two attempts, then double *us, up to
 * o->backoff_max_us (start from o->backoff_us). */
void lpa_backoff_wait(const struct lpa_opts *o, unsigned *us);

/* Stop every thread and check them all (lpa_safety_all), retrying with
 * backoff: LPA_OK with every thread held, else an exit code and err. */
int lpa_stop_safe(struct lpa_world *w, pid_t pid, struct lpa_safety *sf, const struct lpa_range *r,
                  size_t nr, int memfd, const struct lpa_opts *o, struct lpa_stats *st, char *err);
/* Release every thread; the pause's last timings into st. */
void lpa_finish_pause(struct lpa_world *w, struct lpa_stats *st, uint64_t t_write_end);
/* Hold off SIGINT, SIGTERM, SIGHUP, SIGQUIT while code is switched. */
void lpa_block_signals(sigset_t *old);

#endif
