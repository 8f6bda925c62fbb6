/*
 * stop.c - seize/interrupt/release threads, bounded waits, remote syscalls.
 */
#include "stop.h"
#include "pages.h"
#include "proc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t lpa_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* waitpid with a deadline: 0 got a status, -1 timed out (ETIMEDOUT) or
 * nothing to wait for (ECHILD...).
 *
 * Race-free: SIGCHLD (which the kernel sends lpatch for every stop and
 * exit of a tracee) is blocked, so one that arrives between the
 * non-blocking waitpid and sigtimedwait stays pending and ends the sleep.
 * (A one-shot alarm around a blocking waitpid could fire before the wait
 * began, and the wait then never ended.) */
static int wait_bounded(pid_t want, pid_t *got, int *status, uint64_t deadline)
{
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    int rc = -1, e = 0;
    for (;;) {
        pid_t r = waitpid(want, status, __WALL | WNOHANG);
        if (r > 0) {
            *got = r;
            rc = 0;
            break;
        }
        if (r < 0 && errno != EINTR) {
            e = errno;
            break;
        }
        uint64_t now = lpa_now_ns();
        if (now >= deadline) {
            e = ETIMEDOUT;
            break;
        }
        uint64_t left = deadline - now;
        struct timespec ts = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull)};
        sigtimedwait(&chld, NULL, &ts); /* woken by SIGCHLD, or timed out */
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        errno = e;
    return rc;
}

/* /proc/PID/task/TID/NAME into buf (NUL-terminated; empty if the thread is
 * gone).  open/read into the caller's stack, not stdio: this runs in the
 * pause (on its error paths). */
static void read_task_file(pid_t pid, pid_t tid, const char *name, char *buf, size_t len)
{
    assert(len > 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, len - 1);
        close(fd);
    }
    buf[n > 0 ? n : 0] = 0;
}

/* Scheduler state letter of a thread (R, S, D, T, t, Z...), '?' if unknown
 * (a thread that did not stop in time is named with it). */
static char thread_state(pid_t pid, pid_t tid)
{
    char buf[512];
    read_task_file(pid, tid, "stat", buf, sizeof buf);
    const char *p = strrchr(buf, ')');
    return p && p[1] && p[2] ? p[2] : '?';
}

/* TracerPid of a thread (0: none, -1: unknown). */
static pid_t tracer_of(pid_t pid, pid_t tid)
{
    char buf[2048];
    read_task_file(pid, tid, "status", buf, sizeof buf);
    const char *p = strstr(buf, "\nTracerPid:");
    return p ? (pid_t)atoi(p + 11) : -1;
}

static struct lpa_thread *find_thread(struct lpa_world *w, pid_t tid)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->t[i].tid == tid)
            return &w->t[i];
    return NULL;
}

/* Room for `want` threads; done before the pause so that threads created
 * while it starts do not make it allocate.  -1 out of memory. */
static int reserve_threads(struct lpa_world *w, size_t want)
{
    if (want <= w->cap)
        return 0;
    struct lpa_thread *t = realloc(w->t, want * sizeof *w->t);
    if (!t)
        return -1;
    w->t = t;
    w->cap = want;
    return 0;
}

/* NULL when out of memory (w->oom set).
 *
 * The one allocation the pause may make: lpa_stop reserves room for 2n+16
 * threads before it, and a process that creates more while its threads
 * stop grows the table here.  Refusing instead would leave a new thread
 * unheld (it would run during the switch) or need it detached mid-clone;
 * so the table grows, and failure to grow fails the stop (w->oom). */
static struct lpa_thread *add_thread(struct lpa_world *w, pid_t tid)
{
    assert(w->n <= w->cap);
    if (w->n == w->cap && reserve_threads(w, w->cap ? 2 * w->cap : 16) != 0) {
        w->oom = 1;
        return NULL;
    }
    assert(w->n < w->cap);
    struct lpa_thread *t = &w->t[w->n++];
    *t = (struct lpa_thread){.tid = tid};
    return t;
}

static void drop_thread(struct lpa_world *w, pid_t tid)
{
    assert(w->n <= w->cap);
    for (size_t i = 0; i < w->n; i++)
        if (w->t[i].tid == tid) {
            w->t[i] = w->t[--w->n];
            return;
        }
}

/* Account for one wait status; returns 1 if a thread became stopped. */
static int note_status(struct lpa_world *w, pid_t tid, int status)
{
    struct lpa_thread *t = find_thread(w, tid);
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        drop_thread(w, tid);
        return 0;
    }
    if (!WIFSTOPPED(status))
        return 0;
    if (!t) /* a clone child auto-attached before we saw the clone event */
        t = add_thread(w, tid);
    if (!t) { /* cannot hold it: let it go, and fail this stop */
        ptrace(PTRACE_DETACH, tid, 0, 0);
        return 0;
    }
    int event = status >> 16;
    if (event == PTRACE_EVENT_CLONE) {
        unsigned long child = 0;
        if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0 && !find_thread(w, (pid_t)child) &&
            !add_thread(w, (pid_t)child))
            ptrace(PTRACE_DETACH, (pid_t)child, 0, 0);
    } else if (event == 0 && WSTOPSIG(status) != SIGTRAP) {
        t->sig = WSTOPSIG(status); /* signal-delivery-stop: give it back later */
    }
    if (t->stopped)
        return 0;
    t->stopped = 1;
    return 1;
}

#define SLICE_NS 2000000ull /* longest wait for one particular thread */

static enum lpa_stop_err wait_all_stopped(struct lpa_world *w, char *err)
{
    uint64_t deadline = lpa_now_ns() + (uint64_t)w->timeout_ms * 1000000ull;
    int any = 0;
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < w->n; i++)
            pending += !w->t[i].stopped;
        if (!pending)
            break;
        /* Wait for one particular thread, the last asked to stop: the
         * others' stops then do not wake lpatch one by one (each wake-up
         * would take the CPU from threads still on their way), and their
         * statuses are collected without blocking when their turn comes. */
        pid_t want = -1;
        for (size_t i = w->n; i-- > 0 && want < 0 && !any;)
            if (!w->t[i].stopped)
                want = w->t[i].tid;
        uint64_t now = lpa_now_ns(), until = deadline;
        if (want > 0 && now + SLICE_NS < deadline)
            until = now + SLICE_NS;
        pid_t got;
        int st;
        if (wait_bounded(want, &got, &st, until) != 0) {
            if (errno == ECHILD && want > 0) { /* reaped meanwhile: gone */
                drop_thread(w, want);
                continue;
            }
            if (errno == ECHILD) { /* every thread vanished */
                w->n = 0;
                break;
            }
            if (want > 0 && until < deadline) {
                any = 1; /* it is slow: take whichever reports */
                continue;
            }
            pid_t late = 0;
            for (size_t i = 0; i < w->n && !late; i++)
                if (!w->t[i].stopped)
                    late = w->t[i].tid;
            lpa_err(err,
                    "process %d: %zu thread(s) did not stop within %d ms (thread %d, state %c)",
                    (int)w->pid, pending, w->timeout_ms, (int)late, thread_state(w->pid, late));
            return LPA_STOP_TIMEOUT;
        }
        note_status(w, got, st);
    }
    if (w->oom) {
        lpa_err(err, "process %d: out of memory recording its threads", (int)w->pid);
        return LPA_STOP_OTHER;
    }
    if (w->n == 0) {
        lpa_err(err, "process %d exited", (int)w->pid);
        return LPA_STOP_GONE;
    }
    w->t_stopped = lpa_now_ns();
    return LPA_STOP_OK;
}

/* Attach to one thread; with `interrupt`, also ask it to stop. */
static enum lpa_stop_err seize(struct lpa_world *w, pid_t tid, int opts, int interrupt, char *err)
{
    if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)opts) != 0) {
        /* ptrace refuses a thread that has exited with EPERM, and the
         * thread may be reaped before we look (thread-per-connection
         * servers end threads all the time): gone, zombie or dead, it runs
         * nothing. */
        int e = errno;
        if (e == EPERM && tracer_of(w->pid, tid) == getpid()) {
            /* A thread a held one created since the scan: PTRACE_O_TRACECLONE
             * attached it to us already, and its stop is on its way. */
            if (!find_thread(w, tid) && !add_thread(w, tid)) {
                lpa_err(err, "process %d: out of memory recording its threads", (int)w->pid);
                return LPA_STOP_OTHER;
            }
            return LPA_STOP_OK;
        }
        /* A thread that has exited is refused with EPERM too (a zombie; a
         * detached one may be reaped before we look): it runs nothing. */
        char state = e == EPERM ? thread_state(w->pid, tid) : 0;
        if (e == ESRCH || state == 'Z' || state == 'X' || (state == '?' && w->pid != tid))
            return LPA_STOP_GONE;
        errno = e;
        lpa_err(err, "cannot ptrace process %d (thread %d): %s%s", (int)w->pid, (int)tid,
                strerror(errno),
                errno == EPERM ? " (not permitted: another tracer, or no CAP_SYS_PTRACE)" : "");
        return LPA_STOP_PERM;
    }
    if (!add_thread(w, tid)) {
        ptrace(PTRACE_DETACH, tid, 0, 0);
        lpa_err(err, "process %d: out of memory recording its threads", (int)w->pid);
        return LPA_STOP_OTHER;
    }
    if (interrupt) {
        if (!w->t_first)
            w->t_first = lpa_now_ns();
        ptrace(PTRACE_INTERRUPT, tid, 0, 0);
    }
    return LPA_STOP_OK;
}

enum lpa_stop_err lpa_stop(struct lpa_world *w, pid_t pid, int one_thread, int timeout_ms,
                           char *err)
{
    *w = (struct lpa_world){.pid = pid, .timeout_ms = timeout_ms, .memfd = -1};
    if (kill(pid, 0) != 0 && errno == ESRCH) {
        lpa_err(err, "no such process: %d", (int)pid);
        return LPA_STOP_GONE;
    }
    for (;;) {
        pid_t *tids;
        size_t n, fresh = 0;
        if (lpa_tids(pid, &tids, &n) != 0) {
            lpa_err(err, "no such process: %d", (int)pid);
            lpa_release(w);
            return LPA_STOP_GONE;
        }
        if (one_thread) { /* the leader, unless it already exited */
            for (size_t i = 0; i < n && !fresh; i++) {
                if (thread_state(pid, tids[i]) == 'Z')
                    continue; /* a main thread gone with pthread_exit() cannot run */
                enum lpa_stop_err e = seize(w, tids[i], 0, 1, err);
                if (e == LPA_STOP_PERM || e == LPA_STOP_OTHER) {
                    free(tids);
                    lpa_release(w);
                    return e;
                }
                fresh += e == LPA_STOP_OK;
            }
            free(tids);
            if (!fresh) {
                lpa_err(err, "process %d exited", (int)pid);
                return LPA_STOP_GONE;
            }
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (find_thread(w, tids[i]))
                continue;
            enum lpa_stop_err e = seize(w, tids[i], PTRACE_O_TRACECLONE, 0, err);
            if (e == LPA_STOP_PERM || e == LPA_STOP_OTHER) {
                free(tids);
                lpa_release(w);
                return e;
            }
            fresh += e == LPA_STOP_OK;
        }
        free(tids);
        if (!fresh)
            break;
    }
    /* Attaching does not stop a thread: the pause starts here, with every
     * thread already attached (threads they create are attached by the
     * kernel and report in), so it costs one interrupt per thread. */
    if (!one_thread) {
        /* Headroom for threads created while they stop (no allocation in
         * the pause unless more than that many appear). */
        if (reserve_threads(w, 2 * w->n + 16) != 0) {
            lpa_err(err, "process %d: out of memory recording its threads", (int)pid);
            lpa_release(w);
            return LPA_STOP_OTHER;
        }
        w->t_first = lpa_now_ns();
        for (size_t i = 0; i < w->n; i++)
            ptrace(PTRACE_INTERRUPT, w->t[i].tid, 0, 0);
    }
    enum lpa_stop_err e = wait_all_stopped(w, err);
    if (e != LPA_STOP_OK)
        lpa_release(w);
    return e;
}

/* A thread that finished a single-step sits in a SIGTRAP signal-delivery
 * stop with the trap flag still set.  Were lpatch to die there, the kernel
 * would let it go with that SIGTRAP to deliver (and TF to trap again): the
 * default action kills the process.  So each finished step is turned at
 * once into an interrupt stop: PTRACE_INTERRUPT, then PTRACE_CONT (which
 * clears TF and drops the SIGTRAP); the thread runs no instruction before
 * it stops again in PTRACE_EVENT_STOP, a stop a vanished tracer leaves
 * harmlessly.  restop_issue starts that; restop_done recognises the stop. */
static int restop_issue(pid_t tid)
{
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
        return -1;
    return ptrace(PTRACE_CONT, tid, 0, 0);
}

static int restop_done(int st)
{
    return WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_STOP;
}

/* Step finished (SIGTRAP stop) -> interrupt stop, one thread, waited for. */
static int restop(struct lpa_world *w, size_t ti, uint64_t deadline)
{
    pid_t tid = w->t[ti].tid;
    if (restop_issue(tid) != 0)
        return -1;
    for (;;) {
        pid_t got;
        int st;
        if (wait_bounded(tid, &got, &st, deadline) != 0)
            return -1;
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            drop_thread(w, tid);
            return -1;
        }
        if (restop_done(st))
            return 0;
        if (WIFSTOPPED(st) && (st >> 16) == 0) { /* a signal: keep it, go on */
            w->t[ti].sig = WSTOPSIG(st);
            if (ptrace(PTRACE_CONT, tid, 0, 0) != 0)
                return -1;
        }
    }
}

/* ---- test-only fault injection ------------------------------------------ */

static pid_t test_target;

void lpa_test_target(pid_t pid)
{
    test_target = pid;
}

void lpa_test_point(const char *name)
{
    static int init, k;
    static long want, want_target;
    static const char *want_name;
    if (!init) {
        init = 1;
        const char *t = getenv("LPATCH_TEST_KILL_TARGET_AT");
        want_target = t ? strtol(t, NULL, 10) : 0;
        const char *e = getenv("LPATCH_TEST_KILL_AT");
        if (e && *e) {
            char *end;
            long v = strtol(e, &end, 10);
            if (*end == 0)
                want = v;
            else
                want_name = e;
        }
        if (getenv("LPATCH_TEST_TRACE"))
            want_name = want_name ? want_name : "";
    }
    k++;
    if (getenv("LPATCH_TEST_TRACE"))
        fprintf(stderr, "lpatch: test point %d %s\n", k, name);
    if (want_target > 0 && k == want_target && test_target > 0)
        kill(test_target, SIGKILL);
    if ((want > 0 && k == want) || (want_name && *want_name && strcmp(want_name, name) == 0))
        raise(SIGKILL);
}

void lpa_release(struct lpa_world *w)
{
    /* One deadline for all: a dying process must not cost a timeout per thread. */
    uint64_t deadline = lpa_now_ns() + (uint64_t)w->timeout_ms * 1000000ull;
    size_t late = 0;
    for (size_t i = 0; i < w->n; i++) {
        pid_t tid = w->t[i].tid;
        w->t[i].stopped = 0;
        if (ptrace(PTRACE_DETACH, tid, 0, (void *)(long)w->t[i].sig) == 0 || errno != ESRCH)
            continue;
        /* Not in a stop: a step still under way (stop it, then detach, so
         * the kernel clears single-stepping and no stray SIGTRAP kills
         * it), or exiting: nothing to wait for. */
        char state = thread_state(w->pid, tid);
        if (state == 'Z' || state == 'X' || state == '?' ||
            ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
            continue;
        w->t[i].stopped = 1; /* 1: still to detach */
        late++;
    }
    /* Whichever reports first: the thread group's leader of a killed
     * process reports only once its other threads are reaped. */
    while (late) {
        pid_t got;
        int st;
        if (wait_bounded(-1, &got, &st, deadline) != 0)
            break;
        struct lpa_thread *t = find_thread(w, got);
        if (!t || !t->stopped)
            continue;
        if (WIFSTOPPED(st) &&
            ptrace(PTRACE_DETACH, got, 0,
                   (void *)(long)((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP ? WSTOPSIG(st) : 0)) !=
                0 &&
            errno != ESRCH)
            continue;
        t->stopped = 0;
        late--;
    }
    w->t_released = lpa_now_ns();
    if (w->memfd >= 0)
        close(w->memfd);
    w->memfd = -1;
    free(w->t);
    w->t = NULL;
    w->n = w->cap = 0;
}

int lpa_rsys(struct lpa_world *w, size_t ti, uint64_t insn, long nr, const uint64_t args[6],
             int64_t *ret, char *err)
{
    assert(ti < w->n && w->t[ti].stopped); /* only a held thread runs syscalls */
    pid_t tid = w->t[ti].tid;
    struct user_regs_struct saved, r;
    if (ptrace(PTRACE_GETREGS, tid, 0, &saved) != 0) {
        lpa_err(err, "thread %d: reading registers: %s", (int)tid, strerror(errno));
        return -1;
    }
    r = saved;
    r.rip = insn;
    r.rax = (uint64_t)nr;
    r.orig_rax = (uint64_t)-1; /* no syscall restart on the way out of the stop */
    r.rdi = args[0];
    r.rsi = args[1];
    r.rdx = args[2];
    r.r10 = args[3];
    r.r8 = args[4];
    r.r9 = args[5];
    if (ptrace(PTRACE_SETREGS, tid, 0, &r) != 0) {
        lpa_err(err, "thread %d: writing registers: %s", (int)tid, strerror(errno));
        return -1;
    }
    uint64_t deadline = lpa_now_ns() + (uint64_t)w->timeout_ms * 1000000ull;
    for (;;) {
        if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) != 0) {
            lpa_err(err, "thread %d: single-step: %s", (int)tid, strerror(errno));
            return -1;
        }
        pid_t got;
        int st;
        if (wait_bounded(tid, &got, &st, deadline) != 0) {
            lpa_err(err, "thread %d: remote syscall %ld did not return", (int)tid, nr);
            return -1;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            drop_thread(w, tid);
            lpa_err(err, "process %d exited during a remote syscall", (int)w->pid);
            return -1;
        }
        if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP && (st >> 16) == 0)
            break;
        if (WIFSTOPPED(st) && (st >> 16) == 0)
            w->t[ti].sig = WSTOPSIG(st); /* deliver later; step again */
    }
    /* Registers back first, then out of the SIGTRAP stop (restop): the
     * two moments lpatch's death would kill or derail the thread. */
    if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0 || ptrace(PTRACE_SETREGS, tid, 0, &saved) != 0) {
        lpa_err(err, "thread %d: restoring registers: %s", (int)tid, strerror(errno));
        return -1;
    }
    if (restop(w, ti, deadline) != 0) {
        lpa_err(err, "thread %d: after remote syscall %ld: %s", (int)tid, nr, strerror(errno));
        return -1;
    }
    lpa_test_point("rsys");
    if (r.rip != insn + 2) {
        lpa_err(err, "thread %d: remote syscall at %#llx did not execute", (int)tid,
                (unsigned long long)insn);
        return -1;
    }
    *ret = (int64_t)r.rax;
    return 0;
}

int64_t lpa_rsys_val(struct lpa_world *w, uint64_t insn, long nr, uint64_t a0, uint64_t a1,
                     uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, char *err)
{
    const uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
    int64_t ret;
    if (lpa_rsys(w, 0, insn, nr, args, &ret, err) != 0)
        return INT64_MIN;
    return ret;
}

/* ---- a function call in a held thread ----------------------------------- */

#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

/* The thread's extended FP/vector state (what a C function may clobber
 * besides the general registers): XSAVE area, or the legacy FXSAVE one. */
struct fpstate {
    uint8_t buf[16384];
    struct iovec iov;
    int legacy;
};

static int fp_save(pid_t tid, struct fpstate *f)
{
    f->iov.iov_base = f->buf;
    f->iov.iov_len = sizeof(f->buf);
    f->legacy = 0;
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &f->iov) == 0)
        return 0;
    f->legacy = 1;
    return ptrace(PTRACE_GETFPREGS, tid, 0, f->buf);
}

static int fp_restore(pid_t tid, struct fpstate *f)
{
    if (f->legacy)
        return ptrace(PTRACE_SETFPREGS, tid, 0, f->buf);
    return ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &f->iov);
}

static int fault_signal(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
           sig == SIGSYS || sig == SIGABRT;
}

int lpa_rcall(struct lpa_world *w, size_t ti, int memfd, const struct lpa_rcall *c, uint64_t *ret,
              char *err)
{
    assert(ti < w->n && w->t[ti].stopped); /* only a held thread runs code for us */
    assert(c->stack_top % 16 == 0 && c->stack_top > 64);
    pid_t tid = w->t[ti].tid;
    struct user_regs_struct saved, r;
    uint64_t saved_mask = 0, all = ~0ull;
    struct fpstate *fp = malloc(sizeof(*fp));
    if (!fp)
        return lpa_err(err, "out of memory");
    if (ptrace(PTRACE_GETREGS, tid, 0, &saved) != 0 ||
        ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(saved_mask), &saved_mask) != 0 ||
        fp_save(tid, fp) != 0) {
        lpa_err(err, "thread %d: saving its state: %s", (int)tid, strerror(errno));
        free(fp);
        return -1;
    }
    r = saved;
    r.rip = c->fn;
    r.rsp = c->stack_top - 8; /* as after a call: (rsp + 8) % 16 == 0 */
    r.rdi = c->arg;
    r.rax = 0;
    r.orig_rax = (uint64_t)-1; /* no syscall restart on the way out of the stop */
    r.eflags &= ~0x400ull;     /* DF clear, as the ABI wants at a call */
    int rc = LPA_RCALL_OK;
    if (lpa_mem_write(memfd, r.rsp, &c->ret_addr, 8) != 0 ||
        ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(all), &all) != 0 ||
        ptrace(PTRACE_SETREGS, tid, 0, &r) != 0 || ptrace(PTRACE_CONT, tid, 0, 0) != 0) {
        lpa_err(err, "thread %d: starting the call: %s", (int)tid, strerror(errno));
        rc = -1;
        goto restore;
    }
    uint64_t deadline = lpa_now_ns() + (uint64_t)c->timeout_ms * 1000000ull;
    for (;;) {
        pid_t got;
        int st;
        if (wait_bounded(tid, &got, &st, deadline) != 0) {
            /* It runs on: interrupt it where it is. */
            uint64_t d2 = lpa_now_ns() + (uint64_t)w->timeout_ms * 1000000ull;
            if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0 || wait_bounded(tid, &got, &st, d2) != 0) {
                lpa_err(err, "thread %d: a call that did not return cannot be stopped", (int)tid);
                free(fp);
                return -1; /* cannot restore a running thread */
            }
            if (WIFEXITED(st) || WIFSIGNALED(st))
                goto gone;
            struct user_regs_struct at;
            ptrace(PTRACE_GETREGS, tid, 0, &at);
            lpa_err(err, "did not return within %d ms (stopped at %#llx)", c->timeout_ms,
                    (unsigned long long)at.rip);
            rc = LPA_RCALL_HANG;
            break;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st))
            goto gone;
        if (!WIFSTOPPED(st))
            continue;
        if ((st >> 16) != 0) { /* group-stop or an event: let it run on */
            if (ptrace(PTRACE_CONT, tid, 0, 0) != 0)
                goto gone;
            continue;
        }
        int sig = WSTOPSIG(st);
        struct user_regs_struct at;
        if (ptrace(PTRACE_GETREGS, tid, 0, &at) != 0)
            goto gone;
        if (sig == SIGSEGV && at.rip == c->ret_addr) { /* returned into no-exec memory */
            *ret = at.rax;
            break;
        }
        if (fault_signal(sig)) {
            lpa_err(err, "crashed: %s at %#llx", strsignal(sig), (unsigned long long)at.rip);
            rc = LPA_RCALL_CRASH;
            break;
        }
        w->t[ti].sig = sig; /* not ours: hand it back on release */
        if (ptrace(PTRACE_CONT, tid, 0, 0) != 0)
            goto gone;
    }
restore:
    /* Everything back, then out of the stop without the signal it got. */
    if (ptrace(PTRACE_SETREGS, tid, 0, &saved) != 0 || fp_restore(tid, fp) != 0 ||
        ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(saved_mask), &saved_mask) != 0) {
        lpa_err(err, "thread %d: restoring its state: %s", (int)tid, strerror(errno));
        free(fp);
        return -1;
    }
    free(fp);
    if (restop(w, ti, lpa_now_ns() + (uint64_t)w->timeout_ms * 1000000ull) != 0)
        return lpa_err(err, "thread %d: after the call: %s", (int)tid, strerror(errno));
    return rc;
gone:
    drop_thread(w, tid);
    free(fp);
    return lpa_err(err, "process %d exited during a call", (int)w->pid);
}

int lpa_find_syscall_insn(pid_t pid, int memfd, uint64_t *insn, char *err)
{
    struct lpa_maps m;
    if (lpa_maps_read(pid, &m, err) != 0)
        return -1;
    int found = 0;
    /* The vDSO is small and always there; then any executable mapping. */
    for (int pass = 0; pass < 2 && !found; pass++)
        for (size_t i = 0; i < m.n && !found; i++) {
            const struct lpa_map *mp = &m.v[i];
            int is_vdso = strcmp(mp->path, "[vdso]") == 0;
            if (mp->perms[2] != 'x' || (pass == 0) != is_vdso)
                continue;
            size_t len = (size_t)(mp->end - mp->start);
            if (len > (8u << 20))
                len = 8u << 20;
            uint8_t *buf = malloc(len);
            if (!buf) {
                lpa_maps_free(&m);
                return lpa_err(err, "process %d: out of memory", (int)pid);
            }
            if (lpa_mem_read(memfd, mp->start, buf, len) == 0)
                for (size_t j = 0; j + 1 < len; j++)
                    if (buf[j] == 0x0f && buf[j + 1] == 0x05) {
                        *insn = mp->start + j;
                        found = 1;
                        break;
                    }
            free(buf);
        }
    lpa_maps_free(&m);
    if (!found)
        lpa_err(err, "process %d: no syscall instruction found", (int)pid);
    return found ? 0 : -1;
}

int lpa_step(struct lpa_world *w, size_t ti, uint64_t *rip)
{
    assert(ti < w->n && w->t[ti].stopped);
    pid_t tid = w->t[ti].tid;
    struct user_regs_struct r;
    uint8_t insn[2] = {0};
    char err[LP_ERR_MAX];
    /* Never step a syscall instruction: it may block, and a step we must
     * abandon would leave a SIGTRAP queued for the thread. */
    if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0)
        return -1;
    if (w->memfd < 0)
        w->memfd = lpa_mem_open(w->pid, err);
    if (w->memfd < 0 || lpa_mem_read(w->memfd, r.rip, insn, 2) != 0 ||
        (insn[0] == 0x0f && insn[1] == 0x05))
        return -1;
    if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) != 0)
        return -1;
    uint64_t deadline = lpa_now_ns() + (uint64_t)w->timeout_ms * 1000000ull;
    for (;;) {
        pid_t got;
        int st;
        if (wait_bounded(tid, &got, &st, deadline) != 0)
            return -1; /* lpa_release stops it before detaching */
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            drop_thread(w, tid);
            return -1;
        }
        if (WIFSTOPPED(st) && (st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP) {
            w->t[ti].sig = WSTOPSIG(st); /* keep it for later, step again */
            if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) != 0)
                return -1;
            continue;
        }
        break;
    }
    if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0 || restop(w, ti, deadline) != 0)
        return -1;
    *rip = r.rip;
    return 0;
}

void lpa_step_issue(struct lpa_world *w, int memfd, const pid_t *tids, size_t n,
                    const struct user_regs_struct *regs, int *ok)
{
    (void)w;
    /* Static, not allocated: this runs in the pause (one step at a time).
     * Every thread is held: the code does not change while it is looked at. */
    static uint64_t tag[4];
    static uint8_t page[4][LPA_PAGE];
    struct lpa_pages code;
    lpa_pages_init(&code, memfd, 4, tag, page);
    for (size_t k = 0; k < n; k++) {
        uint8_t insn[2] = {0};
        ok[k] = 0;
        /* Never step a syscall instruction: it may block, and a step we
         * must abandon would leave a SIGTRAP queued for the thread. */
        if (lpa_pages_read(&code, regs[k].rip, insn, 2) != 0 ||
            (insn[0] == 0x0f && insn[1] == 0x05))
            continue;
        if (ptrace(PTRACE_SINGLESTEP, tids[k], 0, 0) != 0)
            continue;
        ok[k] = -1; /* under way */
    }
}

void lpa_step_wait(struct lpa_world *w, const pid_t *tids, size_t n, struct user_regs_struct *regs,
                   int *ok)
{
    size_t pending = 0;
    for (size_t k = 0; k < n; k++)
        pending += ok[k] == -1; /* -1: stepping; -2: stepped, re-stopping (restop) */
    uint64_t deadline = lpa_now_ns() + (uint64_t)w->timeout_ms * 1000000ull;
    int any = 0;
    while (pending) {
        pid_t want = -1; /* the last one stepped (see wait_all_stopped) */
        for (size_t k = n; k-- > 0 && want < 0 && !any;)
            if (ok[k] < 0)
                want = tids[k];
        uint64_t now = lpa_now_ns(), until = deadline;
        if (want > 0 && now + SLICE_NS < deadline)
            until = now + SLICE_NS;
        pid_t got;
        int st;
        if (wait_bounded(want, &got, &st, until) != 0) {
            if (want > 0 && errno != ECHILD && until < deadline) {
                any = 1;
                continue;
            }
            if (want > 0 && errno == ECHILD) { /* gone */
                for (size_t k = 0; k < n; k++)
                    if (tids[k] == want && ok[k] < 0) {
                        ok[k] = 0;
                        pending--;
                    }
                drop_thread(w, want);
                continue;
            }
            break; /* lpa_release stops the rest before detaching */
        }
        size_t k = 0;
        while (k < n && !(tids[k] == got && ok[k] < 0))
            k++;
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            drop_thread(w, got);
            if (k < n) {
                ok[k] = 0;
                pending--;
            }
            continue;
        }
        if (k == n || !WIFSTOPPED(st))
            continue; /* not one being stepped: it is held, nothing to do */
        struct lpa_thread *t = find_thread(w, got);
        if (ok[k] == -2 && restop_done(st)) { /* out of the SIGTRAP stop: done */
            pending--;
            ok[k] = 1;
            continue;
        }
        if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP) {
            if (t)
                t->sig = WSTOPSIG(st); /* keep it for later, go on */
            if (ptrace(ok[k] == -2 ? PTRACE_CONT : PTRACE_SINGLESTEP, got, 0, 0) != 0) {
                ok[k] = 0;
                pending--;
            }
            continue;
        }
        if (ok[k] == -2)
            continue;
        if (ptrace(PTRACE_GETREGS, got, 0, &regs[k]) != 0) {
            ok[k] = 0;
            pending--;
        } else if (restop_issue(got) == 0) {
            ok[k] = -2; /* stepped; now out of the SIGTRAP stop (restop) */
        } else {
            ok[k] = 1;
            pending--;
        }
    }
    for (size_t k = 0; k < n; k++)
        if (ok[k] < 0)
            ok[k] = 0;
    lpa_test_point("stepped");
}

void lpa_step_many(struct lpa_world *w, int memfd, const pid_t *tids, size_t n,
                   struct user_regs_struct *regs, int *ok)
{
    lpa_step_issue(w, memfd, tids, n, regs, ok);
    lpa_step_wait(w, tids, n, regs, ok);
}
