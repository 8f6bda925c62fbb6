/*
 * apply.h - the two transactions lpatch performs on a running process:
 * apply a patch, revert an applied one.  Each either completes or leaves
 * the process as it was; the in-target state records the outcome.
 */
#ifndef LPATCH_APPLY_H
#define LPATCH_APPLY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "liblivepatch.h"

/* Exit codes of lpatch (see --help). */
enum {
    LPA_OK = 0,
    LPA_REFUSED = 1, /* not applicable, not safe after retries, dependency */
    LPA_USAGE = 2,   /* bad arguments, bad patch file, no such process */
    LPA_PTRACE = 3,  /* ptrace or /proc access refused */
};

struct lpa_opts {
    int retries;         /* safety-check attempts */
    unsigned backoff_us; /* first wait between attempts, doubled each time */
    unsigned backoff_max_us;
    int timeout_ms;      /* bound on every wait for the target */
    int no_fifo;         /* don't raise lpatch to SCHED_FIFO during the pause */
    char **allow_active; /* function names that may stay active */
    size_t nallow;
};

struct lpa_stats {
    int tries;
    size_t threads;
    unsigned stepped;  /* threads single-stepped (at least once) out of replaced code */
    unsigned emulated; /* threads lpatch ran out of it itself */
    unsigned emulated_insns;
    uint64_t prep_ns;   /* map + write the image (one thread held briefly) */
    uint64_t stop_ns;   /* first thread asked to stop -> all stopped */
    uint64_t check_ns;  /* stack check */
    uint64_t write_ns;  /* pads, entries, state */
    uint64_t resume_ns; /* release of every thread */
    uint64_t pause_ns;  /* first thread stopped -> last resumed */
    uint64_t image_addr, image_size;
    int image_kept; /* revert: image left mapped (a thread still in it) */
};

void lpa_opts_default(struct lpa_opts *o);
/* Run lpatch SCHED_FIFO (unless o->no_fifo or not permitted) / back. */
void lpa_realtime(const struct lpa_opts *o, int on);

int lpa_apply(pid_t pid, const struct lp_patch *p, const char *source, const struct lpa_opts *o,
              struct lpa_stats *st, char *err);
/* id_prefix NULL: the newest patch.  The reverted id goes to id_out (33 bytes). */
int lpa_revert(pid_t pid, const char *id_prefix, const struct lpa_opts *o, struct lpa_stats *st,
               char *id_out, char *err);

#endif
