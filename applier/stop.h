/*
 * stop.h - stopping a process's threads with ptrace and resuming them, and
 * running a system call inside a stopped thread.
 *
 * Waits are bounded (a target that dies or hangs never hangs lpatch), and
 * signals that arrive while a thread is held are handed back on release.
 */
#ifndef LPATCH_STOP_H
#define LPATCH_STOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* Why a stop failed: map to lpatch's exit codes. */
enum lpa_stop_err {
    LPA_STOP_OK = 0,
    LPA_STOP_GONE = 1,    /* process exited or was killed */
    LPA_STOP_PERM = 2,    /* ptrace refused (permissions, already traced) */
    LPA_STOP_TIMEOUT = 3, /* a thread did not stop in time */
    LPA_STOP_OTHER = 4,
};

struct lpa_thread {
    pid_t tid;
    int stopped;
    int sig; /* signal to re-inject when released */
};

struct lpa_world {
    pid_t pid;
    struct lpa_thread *t;
    size_t n, cap;
    int timeout_ms;      /* bound on every wait */
    int memfd;           /* /proc/PID/mem, opened when needed */
    uint64_t t_first;    /* ns: first thread asked to stop */
    uint64_t t_stopped;  /* ns: last thread stopped */
    uint64_t t_released; /* ns: last thread released */
    int oom;             /* a thread could not be recorded (out of memory): stop failed */
};

uint64_t lpa_now_ns(void);

/* Seize and stop every thread (rescanning until no new one appears); with
 * one_thread, only one thread (the leader if it lives). */
enum lpa_stop_err lpa_stop(struct lpa_world *w, pid_t pid, int one_thread, int timeout_ms,
                           char *err);
/* Detach every held thread, handing back pending signals. */
void lpa_release(struct lpa_world *w);
/* Run syscall `nr` in held thread index `ti`, using the `syscall`
 * instruction at `insn`; its registers are restored afterwards. */
int lpa_rsys(struct lpa_world *w, size_t ti, uint64_t insn, long nr, const uint64_t args[6],
             int64_t *ret, char *err);

/* lpa_rsys in the first held thread with the arguments spelled out: the
 * syscall's return value (-errno on failure), INT64_MIN with err when it
 * could not be run. */
int64_t lpa_rsys_val(struct lpa_world *w, uint64_t insn, long nr, uint64_t a0, uint64_t a1,
                     uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, char *err);

/* Call a function in held thread `ti`: fn(arg) on the stack below
 * stack_top (16-byte aligned), returning to ret_addr, which must be
 * mapped but not executable (the return is the fault there).  Registers,
 * FP/vector state and signal mask are saved and restored; all signals are
 * blocked during the call.  0 (LPA_RCALL_OK) with *ret = rax; LPA_RCALL_CRASH
 * or LPA_RCALL_HANG (after timeout_ms) with err saying how, the thread
 * restored and held again; -1 on other errors (the process died). */
struct lpa_rcall {
    uint64_t fn, arg, stack_top, ret_addr;
    int timeout_ms;
};
enum { LPA_RCALL_OK = 0, LPA_RCALL_CRASH = 1, LPA_RCALL_HANG = 2 };
int lpa_rcall(struct lpa_world *w, size_t ti, int memfd, const struct lpa_rcall *c, uint64_t *ret,
              char *err);

/* Single-step held thread `ti` once; its new IP in *rip.  -1 if it
 * blocked (it is stopped again) or died. */
int lpa_step(struct lpa_world *w, size_t ti, uint64_t *rip);

/* Single-step several held threads (by id) once each, all at the same
 * time; regs[k].rip holds thread k's IP before, and regs[k] its registers
 * after.  ok[k] is 0 if it was not stepped (at a syscall instruction), its
 * step did not finish in time (lpa_release stops it before detaching) or
 * it died.  memfd: the process's /proc/PID/mem. */
void lpa_step_many(struct lpa_world *w, int memfd, const pid_t *tids, size_t n,
                   struct user_regs_struct *regs, int *ok);
/* lpa_step_many in two halves, so that other work can be done while the
 * steps run: issue (ok[k] -1: under way, 0: not stepped), then wait. */
void lpa_step_issue(struct lpa_world *w, int memfd, const pid_t *tids, size_t n,
                    const struct user_regs_struct *regs, int *ok);
void lpa_step_wait(struct lpa_world *w, const pid_t *tids, size_t n, struct user_regs_struct *regs,
                   int *ok);

/* Test-only fault injection: the k-th call (counting from 1) SIGKILLs
 * lpatch when LPATCH_TEST_KILL_AT=k, and so does every call named `name`
 * when LPATCH_TEST_KILL_AT=name; LPATCH_TEST_TRACE=1 prints each point
 * ("lpatch: test point K NAME") to stderr.  Called after every step of
 * apply and revert that changes the target, so a test can kill lpatch at
 * each one in turn (tests/applier/killed.bats).
 * LPATCH_TEST_KILL_TARGET_AT=k SIGKILLs the target instead (the process
 * named by lpa_test_target) at the k-th point, as if it died there. */
void lpa_test_point(const char *name);
void lpa_test_target(pid_t pid);

/* Address of a `syscall` instruction the target can run (vDSO, else text). */
int lpa_find_syscall_insn(pid_t pid, int memfd, uint64_t *insn, char *err);

#endif
