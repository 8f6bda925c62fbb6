/*
 * hooks.h - running a patch's callbacks (runtime/livepatch-hooks.h) inside
 * the target, and the shadow store they and the patch's code share.
 */
#ifndef LPATCH_HOOKS_H
#define LPATCH_HOOKS_H

#include <stdint.h>
#include <sys/types.h>

#include "apply.h"
#include "livepatch-hooks.h" /* enum lp_hook_kind */
#include "lpatch_format.h"
#include "state.h"

/* The hook table of the image mapped at `image` (exec_size bytes of text,
 * image_size in all), read back from the target: 1 and *out if the image
 * has one whose `self` is where it was read, 0 if none. */
int lpa_hooks_read(int memfd, uint64_t image, uint64_t exec_size, uint64_t image_size,
                   struct lp_hook_table *out);

/* Run callback `kind` (enum lp_hook_kind) of table `t`, if the patch has
 * one, on a borrowed thread: one whose stack shows it is not inside the
 * allocator or the dynamic loader and that does not hold the shadow store's
 * lock (else released and tried again, o->retries times with backoff).
 * LPA_OK, or LPA_REFUSED with err: vetoed (pre-callbacks), crashed, hung;
 * the thread's registers and signal mask are back as they were. */
int lpa_hooks_run(pid_t pid, int memfd, uint64_t insn, const struct lpa_state *st,
                  const struct lp_hook_table *t, unsigned kind, const struct lpa_opts *o,
                  char *err);

/* A function called in the target for lpatch on a borrowed thread: the
 * rules above (not in the allocator or the loader, not holding the shadow
 * store's lock), plus no frame in a file named by `avoid`. */
struct lpa_borrow {
    uint64_t fn, arg;
    uint64_t ret_addr;        /* mapped, not executable (lpa_rcall) */
    uint64_t arena;           /* the shadow store, or 0 */
    const char *const *avoid; /* file name prefixes (NULL-ended), or NULL */
    const char *what;         /* "pre-apply callback", "__register_frame" */
    const char *how;          /* "no thread to HOW WHAT on": "run the", "call" */
};

/* Call b->fn(b->arg) on a borrowed thread (o->retries tries with backoff);
 * its return value in *ret.  LPA_OK; LPA_REFUSED with err when it crashed,
 * hung or no thread could be borrowed; another exit code if the process
 * died.  The thread is back as it was in every case. */
int lpa_borrow_call(pid_t pid, int memfd, uint64_t insn, const struct lpa_borrow *b,
                    const struct lpa_opts *o, uint64_t *ret, char *err);

#endif
