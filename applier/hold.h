/*
 * hold.h - lpatchd --hold: keep a process that has just called execve()
 * from running its program until lpatchd has patched it.  The process is
 * caught in its loader, run to its entry point under a hardware execute
 * breakpoint (a debug register: no byte of its code is written), and left
 * there in a group-stop (SIGSTOP), so that lpa_apply can attach to it like
 * to any process; lpa_unhold (SIGCONT) lets it go.
 */
#ifndef LPATCH_HOLD_H
#define LPATCH_HOLD_H

#include <sys/types.h>

enum lpa_hold {
    LPA_HOLD_OK,    /* stopped at its entry point: lpa_unhold it */
    LPA_HOLD_LATE,  /* it ran its program already: not held (err says where) */
    LPA_HOLD_GONE,  /* exited */
    LPA_HOLD_ERROR, /* cannot hold it (err): it runs on */
};

/* Hold pid, which has just exec'd, at its entry point (AT_ENTRY); wait at
 * most timeout_ms for it to get there. */
enum lpa_hold lpa_hold(pid_t pid, int timeout_ms, char *err);
/* Let a held process run on. */
void lpa_unhold(pid_t pid);

#endif
