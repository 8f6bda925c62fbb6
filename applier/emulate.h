/*
 * emulate.h - run a held thread's next instructions on its saved registers.
 *
 * A thread stopped inside a function being replaced must leave it before
 * the switch.  Single-stepping it costs two context switches per
 * instruction (20-80 us on a small VM); most instructions near a
 * function's end only move registers, read memory, compare, branch, pop
 * and return, and lpatch can do those itself, exactly as the CPU would,
 * while every thread of the process is held.  What is not done here
 * (memory writes, calls, system calls, SIMD...) is still single-stepped.
 */
#ifndef LPATCH_EMULATE_H
#define LPATCH_EMULATE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "pages.h"

/* Whether threads of process pid may be run here: not when a hardware
 * shadow stack is on (a return done in software would leave it out of
 * step).  Read from /proc, before the pause. */
int lpa_emu_allowed(pid_t pid);

/* Code and stack bytes of one thread, read a page at a time (pages.h):
 * set memfd, the rest zero; the cache is made on the first step. */
struct lpa_emu {
    int memfd; /* /proc/PID/mem */
    struct lpa_pages mem;
    uint64_t tag[4];
    uint8_t page[4][LPA_PAGE];
};

/* Do the instruction at regs->rip on *regs: 1 done, 0 not one done here
 * (or its memory could not be read), *regs untouched.  The thread must
 * be held with all others, and not inside a system call (orig_rax == -1:
 * a restart would move its IP back). */
int lpa_emu_step(struct lpa_emu *e, struct user_regs_struct *regs);

#endif
