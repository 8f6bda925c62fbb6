/*
 * hold.c - hold a freshly exec'd process at its entry point (hold.h).
 *
 * PTRACE_SEIZE and PTRACE_INTERRUPT stop it wherever it is (the kernel
 * sent the exec event from inside execve(), so it is normally still in
 * its dynamic loader, which maps and relocates the libraries and runs
 * their constructors).  If it stopped inside the loader, debug register
 * DR0 gets the entry point (AT_ENTRY of its auxiliary vector) and DR7
 * enables it as an execute breakpoint; it runs until the trap, which the
 * CPU raises before the instruction at entry executes.  Then it is
 * detached with SIGSTOP, which it takes at once, before that instruction:
 * a group-stop that lpa_apply's PTRACE_SEIZE sees through and that
 * survives its detach, until lpa_unhold's SIGCONT.  A process stopped
 * outside its loader (other than at entry) ran its program already: too
 * late, said so, and let go.
 */
#include "hold.h"
#include "proc.h"
#include "stop.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* AT_ENTRY and AT_BASE (the loader's base, 0 without one) of pid. */
static int auxv(pid_t pid, uint64_t *entry, uint64_t *base)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf64_auxv_t v[64];
    ssize_t n = read(fd, v, sizeof v);
    close(fd);
    *entry = *base = 0;
    for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof v[0] && v[i].a_type != AT_NULL; i++) {
        if (v[i].a_type == AT_ENTRY)
            *entry = v[i].a_un.a_val;
        else if (v[i].a_type == AT_BASE)
            *base = v[i].a_un.a_val;
    }
    return *entry ? 0 : -1;
}

/* Whether addr is in a mapping of the file mapped at base. */
static int in_loader(pid_t pid, uint64_t base, uint64_t addr)
{
    struct lpa_maps m;
    char err[LP_ERR_MAX];
    if (!base || lpa_maps_read(pid, &m, err) != 0)
        return 0;
    const struct lpa_map *b = lpa_maps_find(&m, base), *a = lpa_maps_find(&m, addr);
    int r = a && b && *b->path && strcmp(a->path, b->path) == 0;
    lpa_maps_free(&m);
    return r;
}

/* waitpid(pid) for up to deadline: 0 with *st, -1 on timeout or error. */
static int wait_until(pid_t pid, int *st, uint64_t deadline)
{
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG | __WALL);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (lpa_now_ns() > deadline)
            return -1;
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
}

static int set_dr(pid_t pid, int i, uint64_t v)
{
    return ptrace(PTRACE_POKEUSER, pid, (void *)offsetof(struct user, u_debugreg[i]), (void *)v) ==
                   0
               ? 0
               : -1;
}

static enum lpa_hold gone_or(pid_t pid, enum lpa_hold e)
{
    return lpa_process_gone(pid) ? LPA_HOLD_GONE : e;
}

enum lpa_hold lpa_hold(pid_t pid, int timeout_ms, char *err)
{
    uint64_t deadline = lpa_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    /* No PTRACE_O_EXITKILL: lpatchd dying must not kill the process. */
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
        lpa_err(err, "cannot ptrace it: %s", strerror(errno));
        return gone_or(pid, LPA_HOLD_ERROR);
    }
    int st;
    if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0 || wait_until(pid, &st, deadline) != 0 ||
        !WIFSTOPPED(st)) {
        lpa_err(err, "it did not stop");
        ptrace(PTRACE_DETACH, pid, 0, 0);
        return gone_or(pid, LPA_HOLD_ERROR);
    }
    enum lpa_hold rc = LPA_HOLD_ERROR;
    uint64_t entry, base;
    struct user_regs_struct r;
    if (auxv(pid, &entry, &base) != 0 || ptrace(PTRACE_GETREGS, pid, 0, &r) != 0) {
        lpa_err(err, "cannot read its entry point");
        goto out;
    }
    if (r.rip == entry) { /* no loader, or it never ran */
        rc = LPA_HOLD_OK;
        goto out;
    }
    if (!in_loader(pid, base, r.rip)) {
        lpa_err(err, "already running its program (at %#llx)", (unsigned long long)r.rip);
        rc = LPA_HOLD_LATE;
        goto out;
    }
    /* DR7: L0 (bit 0) on, R/W0 = 00 (execute), LEN0 = 00 (1 byte). */
    if (set_dr(pid, 0, entry) != 0 || set_dr(pid, 7, 1) != 0) {
        lpa_err(err, "cannot set a breakpoint at its entry point: %s", strerror(errno));
        goto out;
    }
    int sig = 0;
    for (;;) {
        if (ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig) != 0) {
            rc = gone_or(pid, LPA_HOLD_ERROR);
            lpa_err(err, "it exited in its loader");
            goto out;
        }
        if (wait_until(pid, &st, deadline) != 0) {
            ptrace(PTRACE_INTERRUPT, pid, 0, 0);
            wait_until(pid, &st, lpa_now_ns() + 100000000ull);
            lpa_err(err, "entry point not reached within %d ms", timeout_ms);
            rc = gone_or(pid, LPA_HOLD_ERROR);
            goto out;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            lpa_err(err, "it exited in its loader");
            return LPA_HOLD_GONE;
        }
        sig = 0;
        if ((st >> 16) != 0) /* a group-stop or an event: on */
            continue;
        sig = WSTOPSIG(st);
        if (sig == SIGTRAP && ptrace(PTRACE_GETREGS, pid, 0, &r) == 0 && r.rip == entry) {
            rc = LPA_HOLD_OK;
            break;
        }
    }
out:
    set_dr(pid, 7, 0);
    set_dr(pid, 0, 0);
    /* A SIGSTOP that it takes before its next instruction: held. */
    if (ptrace(PTRACE_DETACH, pid, 0, (void *)(long)(rc == LPA_HOLD_OK ? SIGSTOP : 0)) != 0 &&
        rc == LPA_HOLD_OK)
        return gone_or(pid, LPA_HOLD_ERROR);
    if (rc != LPA_HOLD_OK)
        return rc;
    while (lpa_now_ns() < deadline + 1000000000ull) { /* until it is in the group-stop */
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return LPA_HOLD_GONE;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        const char *p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'T')
            return LPA_HOLD_OK;
        if (!p || p[2] == 'Z' || p[2] == 'X')
            return LPA_HOLD_GONE;
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    lpa_err(err, "it did not stop at its entry point");
    return LPA_HOLD_ERROR;
}

void lpa_unhold(pid_t pid)
{
    kill(pid, SIGCONT);
}
