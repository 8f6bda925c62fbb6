/*
 * unwreg.h - making a patch's code visible to the target's unwinders and
 * profilers: its CFI registered with libgcc (__register_frame) and with
 * libunwind (_U_dyn_register), and its functions named in perf's map file
 * /tmp/perf-PID.map.  See docs/first-class.md.
 */
#ifndef LPATCH_UNWREG_H
#define LPATCH_UNWREG_H

#include <stdint.h>
#include <sys/types.h>

#include "apply.h"
#include "liblivepatch.h"
#include "target.h"

/* Register the unwind information of the image just mapped at `image`
 * with the unwinders the target has loaded, each call made on a borrowed
 * thread.  An unwinder that is not loaded is skipped with a warning on
 * stderr.  LPA_OK; else an exit code with err, everything this call
 * registered undone. */
int lpa_unwind_register(struct lpa_target *t, const struct lp_layout *lay, uint64_t image,
                        uint64_t insn, const struct lpa_opts *o, char *err);

/* Undo what lpa_unwind_register recorded in the image's unwind table
 * (found at image + exec_size, after the hook table if there is one).
 * 0 (also when nothing was registered); -1 with err if a registration
 * could not be undone: the image must then stay mapped. */
int lpa_unwind_deregister(pid_t pid, int memfd, uint64_t insn, uint64_t image, uint64_t exec_size,
                          uint64_t image_size, const struct lpa_opts *o, char *err);

/* perf's JIT map: one line "ADDR SIZE NAME" per function of the patch,
 * appended to /tmp/perf-PID.map; removed again (every line inside
 * [lo, hi)) at revert.  Failures are warnings: profiling is not the
 * patch's function. */
void lpa_perfmap_add(pid_t pid, const struct lp_patch *p, uint64_t image, uint64_t text_off);
void lpa_perfmap_remove(pid_t pid, uint64_t lo, uint64_t hi);

#endif
