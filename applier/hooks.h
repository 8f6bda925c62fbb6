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

/* 0 if held thread `tid` (registers r) may run code for lpatch now (the
 * rules above), else 1 with why (LP_ERR_MAX).  arena: the shadow store's
 * address, or 0. */
struct user_regs_struct;
int lpa_hooks_borrowable(pid_t pid, pid_t tid, const struct user_regs_struct *r, int memfd,
                         uint64_t arena, char *why);

#endif
