/*
 * lpatchd.c - the daemon that keeps every process in line with the patch
 * registry (registry.h) as processes come and go and patches are installed
 * (docs/lpatchd.md).  Its work is `lpatch auto`'s (auto_pass, cmd_auto.c):
 *
 *   - at start, and every --rescan-ms, one pass over every process: this
 *     is what makes a restart safe (a process patched by an earlier run
 *     carries its patches' state and is skipped) and catches what events
 *     missed;
 *   - when the registry changes (inotify on its root and chain
 *     directories), a pass over every process;
 *   - for each new process (an exec event of the process-event connector,
 *     procwatch.h, or, without it, a pid that /proc did not list at the
 *     previous --poll-ms tick), a pass over just that process at a few
 *     short delays after its exec, because at the exec event its shared
 *     libraries are not mapped yet; with --hold, the process is first held
 *     at its entry point (hold.h) when a module its program is or names
 *     directly (DT_NEEDED) has installed patches, patched, then let go.
 *
 * A process that exits meanwhile is not a failure; a refused patch is
 * logged (naming the file and why) and lpatchd goes on.  The log is one
 * line per action, on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dirent.h>

#include "apply.h"
#include "cli.h"
#include "elfread.h"
#include "hold.h"
#include "proc.h"
#include "procwatch.h"
#include "registry.h"
#include "stop.h"

/* Delays (ms after the exec) of the passes over a new process. */
static const unsigned check_ms[] = {0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
#define NCHECKS (sizeof check_ms / sizeof check_ms[0])

struct pending {
    pid_t pid;
    uint64_t exec_ns; /* when it exec'd (the event's stamp, or when seen) */
    unsigned step;    /* next check_ms[] */
    int matched;      /* files with installed patches it mapped at the last check */
};

/* What the registry holds, for the hold decision: a build-id (hex) of a
 * chain's base or later build, and its module's file name. */
struct known {
    char bid[LPR_HEX];
    char base[256];
};

/* The build-id of a file by device and inode, read once: a new process's
 * mappings are matched against the registry without opening its files
 * again (a file replaced in place under the same inode keeps its stale
 * entry: the passes over every process, which read every file, still see
 * it).  hold: whether a program of that file is held (-1: not decided for
 * this generation of the registry). */
#define FCACHE 8192
struct fentry {
    unsigned long dev, ino;
    char bid[LPR_HEX];
    int hold;
    unsigned gen;
};

struct daemon {
    struct cli c;
    int hold, poll_only, once, verbose, foreground;
    unsigned poll_ms, rescan_ms, hold_ms;
    int nl, in; /* netlink and inotify fds, -1 when none */
    struct pending *pend;
    size_t npend;
    pid_t *seen; /* polling: the pids of the last scan, sorted */
    size_t nseen;
    struct known *known;
    size_t nknown, nchains;
    uint64_t next_rescan, registry_changed, next_poll;
    struct fentry *fc; /* FCACHE entries */
    unsigned gen;      /* read_known's count */
};

static volatile sig_atomic_t quit, rescan;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        rescan = 1;
    else
        quit = sig;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lpatchd: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static double ms_since(uint64_t t)
{
    uint64_t now = lpa_now_ns();
    return now > t ? (double)(now - t) / 1e6 : 0.0;
}

/* --hold: lpatchd waits for events at SCHED_FIFO, so that it runs as
 * soon as the kernel reports an exec, ahead of the new process's loader
 * (and of every other process that is not real-time); the passes run at
 * the normal policy.  Without the privilege, it stays as it is. */
static int rt_ok = -1;
static void realtime(const struct daemon *d, int on)
{
    if (!d->hold || rt_ok == 0)
        return;
    struct sched_param sp = {.sched_priority = on ? 1 : 0};
    int r = sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp);
    if (rt_ok < 0) {
        rt_ok = r == 0;
        if (!rt_ok)
            say("--hold: cannot run at SCHED_FIFO (%s): the hold catches fewer processes",
                strerror(errno));
    }
}

/* ---- the registry --------------------------------------------------- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The build-ids and module names the registry has patches for. */
static void read_known(struct daemon *d)
{
    struct lpr_registry r;
    char err[LP_ERR_MAX];
    d->nknown = 0;
    if (lpr_open(&r, 0, 0, err) != 0) {
        lpr_close(&r);
        return;
    }
    for (size_t i = 0; i < r.n; i++)
        for (size_t k = 0; k < r.chains[i].n; k++) {
            const struct lpr_entry *e = &r.chains[i].v[k];
            d->known = grow_list(d->known, (d->nknown + 1) * sizeof *d->known);
            struct known *x = &d->known[d->nknown++];
            snprintf(x->bid, sizeof x->bid, "%s", k ? e->old_bid : r.chains[i].key);
            snprintf(x->base, sizeof x->base, "%s", base_name(e->module));
        }
    d->nchains = r.n;
    d->gen++;
    lpr_close(&r);
}

/* Watch the root and every chain directory for changes (again after each:
 * a new chain is a new directory). */
static void watch_registry(struct daemon *d)
{
    if (d->in < 0)
        return;
    /* order and removed are replaced by rename(): the commit point */
    const uint32_t mask =
        IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF;
    const char *root = lpr_root();
    inotify_add_watch(d->in, root, mask | IN_ONLYDIR);
    DIR *dir = opendir(root);
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        char p[LPR_PATH_MAX];
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", root, de->d_name);
        inotify_add_watch(d->in, p, mask | IN_ONLYDIR);
    }
    if (dir)
        closedir(dir);
}

/* ---- passes --------------------------------------------------------- */

static int full_pass(struct daemon *d, const char *why)
{
    struct auto_sum s;
    uint64_t t = lpa_now_ns();
    read_known(d);
    watch_registry(d);
    realtime(d, 0);
    int rc = auto_pass(&d->c, NULL, 0, &s);
    realtime(d, 1);
    if (s.applied || s.reverted || s.failed || d->verbose || d->once || strcmp(why, "rescan"))
        say("pass (%s): %u process%s with installed patches: %u applied, %u reverted, %u "
            "failed, %u exited (%.1f ms)",
            why, s.nprocs, s.nprocs == 1 ? "" : "es", s.applied, s.reverted, s.failed, s.exited,
            ms_since(t));
    d->next_rescan = lpa_now_ns() + (uint64_t)d->rescan_ms * 1000000ull;
    return rc;
}

/* One pass over a new process; 1 when done with it (patched, or gone). */
static int pass_one(struct daemon *d, const struct pending *p, int held)
{
    struct auto_sum s;
    realtime(d, 0);
    auto_pass(&d->c, &p->pid, 1, &s);
    realtime(d, 1);
    if (s.applied || s.reverted)
        say("process %d: patched %.3f ms after its exec (%u applied%s)", (int)p->pid,
            ms_since(p->exec_ns), s.applied, held ? ", held at its entry point" : "");
    return s.applied || s.reverted || s.exited || lpa_process_gone(p->pid);
}

static int known_bid(const struct daemon *d, const char *bid)
{
    for (size_t i = 0; i < d->nknown; i++)
        if (!strcmp(d->known[i].bid, bid))
            return 1;
    return 0;
}

/* The cache entry of file (dev, ino), read through path when new. */
static struct fentry *file_entry(struct daemon *d, unsigned long dev, unsigned long ino,
                                 const char *path)
{
    if (!d->fc)
        d->fc = calloc(FCACHE, sizeof *d->fc);
    if (!d->fc)
        return NULL;
    struct fentry *f = &d->fc[(dev * 31 + ino * 2654435761ul) % FCACHE];
    if (f->ino == ino && f->dev == dev && f->ino)
        return f;
    struct lpa_module m;
    char err[LP_ERR_MAX];
    uint64_t v, o;
    memset(&m, 0, sizeof m);
    *f = (struct fentry){.dev = dev, .ino = ino, .hold = -1};
    if (lpa_elf_identify(path, &m, &v, &o, err) == 0 && m.build_id_len)
        lp_hex(m.build_id, m.build_id_len, f->bid);
    return f;
}

/* How many files with a build-id the registry has patches for process pid
 * maps (one read of /proc/PID/maps; each file's build-id read once). */
static int maps_known(struct daemon *d, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char line[4096 + 128];
    int hit = 0;
    unsigned long last_dev = 0, last_ino = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off, ino;
        unsigned maj, min;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu", &lo, &hi, perms, &off, &maj, &min, &ino) !=
                7 ||
            !ino)
            continue;
        unsigned long dev = (unsigned long)maj << 20 | min;
        if (dev == last_dev && ino == last_ino)
            continue; /* the next mapping of the same file */
        last_dev = dev;
        last_ino = ino;
        char mf[128];
        snprintf(mf, sizeof mf, "/proc/%d/map_files/%lx-%lx", (int)pid, lo, hi);
        struct fentry *e = file_entry(d, dev, ino, mf);
        hit += e && *e->bid && known_bid(d, e->bid);
    }
    fclose(f);
    return hit;
}

static int needed_known(void *ctx, const char *name)
{
    struct daemon *d = ctx;
    for (size_t i = 0; i < d->nknown; i++)
        if (!strcmp(d->known[i].base, name))
            return 1;
    return 0;
}

/* Whether the new process pid maps, or will map at its entry point, a
 * module with installed patches: its program's build-id, or a library its
 * program names (DT_NEEDED).  Decided once per program file. */
static int wants_hold(struct daemon *d, pid_t pid)
{
    char exe[64];
    struct stat sb;
    snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
    if (stat(exe, &sb) != 0)
        return 0;
    struct fentry *f = file_entry(d, (unsigned long)major(sb.st_dev) << 20 | minor(sb.st_dev),
                                  (unsigned long)sb.st_ino, exe);
    if (!f)
        return 0;
    if (f->hold < 0 || f->gen != d->gen) {
        f->gen = d->gen;
        f->hold = (*f->bid && known_bid(d, f->bid)) || lpa_elf_needed(exe, needed_known, d) == 1;
    }
    return f->hold;
}

/* ---- held processes across restarts --------------------------------- */

/* ROOT/.lpatchd-held: the process being held, "PID STARTTIME", written
 * before the hold and removed after the release, so that an lpatchd that
 * dies meanwhile does not leave it stopped: the next one lets it go.  (Not
 * a chain: the registry skips names that are not hex.) */
static char *held_path(char *buf, size_t len)
{
    snprintf(buf, len, "%s/.lpatchd-held", lpr_root());
    return buf;
}

/* Field 22 of /proc/PID/stat (start time, clock ticks after boot) and the
 * state letter; 0 if gone. */
static unsigned long long start_time(pid_t pid, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long long t = 0;
    if (p && sscanf(p + 2,
                    "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                    "%*d %*d %llu",
                    state, &t) != 2)
        t = 0;
    return t;
}

static void held_mark(pid_t pid)
{
    char path[LPR_PATH_MAX], st;
    FILE *f = fopen(held_path(path, sizeof path), "we");
    if (!f)
        return;
    fprintf(f, "%d %llu\n", (int)pid, start_time(pid, &st));
    fclose(f);
}

static void held_clear(void)
{
    char path[LPR_PATH_MAX];
    unlink(held_path(path, sizeof path));
}

/* At start: the process an earlier lpatchd held when it died, patched
 * (still stopped), then let go. */
static void held_recover(struct daemon *d)
{
    char path[LPR_PATH_MAX], st = 0;
    FILE *f = fopen(held_path(path, sizeof path), "re");
    if (!f)
        return;
    int pid;
    unsigned long long t;
    if (fscanf(f, "%d %llu", &pid, &t) == 2 && pid > 0 && t && start_time(pid, &st) == t) {
        struct auto_sum s;
        pid_t p = pid;
        auto_pass(&d->c, &p, 1, &s);
        lpa_unhold(pid);
        say("process %d: released (held by an earlier lpatchd, which stopped%s): %u applied", pid,
            st == 'T' ? "" : "; it was not stopped", s.applied);
    }
    fclose(f);
    held_clear();
}

static void add_pending(struct daemon *d, pid_t pid, uint64_t ns)
{
    for (size_t i = 0; i < d->npend; i++)
        if (d->pend[i].pid == pid) { /* exec'd again */
            d->pend[i] = (struct pending){pid, ns, 0, 0};
            return;
        }
    d->pend = grow_list(d->pend, (d->npend + 1) * sizeof *d->pend);
    d->pend[d->npend++] = (struct pending){pid, ns, 0, 0};
}

static void new_process(struct daemon *d, pid_t pid, uint64_t ns)
{
    if (pid == getpid() || d->nchains == 0)
        return; /* nothing installed: nothing to do */
    if (d->hold && wants_hold(d, pid)) {
        char err[LP_ERR_MAX] = "";
        uint64_t seen = lpa_now_ns();
        held_mark(pid);
        enum lpa_hold h = lpa_hold(pid, (int)d->hold_ms, err);
        if (h != LPA_HOLD_OK)
            held_clear();
        if (h == LPA_HOLD_OK) {
            uint64_t t = lpa_now_ns();
            say("process %d: held at its entry point (exec event read %.3f ms after the "
                "exec, stopped %.3f ms after it)",
                (int)pid, seen > ns ? (double)(seen - ns) / 1e6 : 0.0, ms_since(ns));
            struct pending p = {pid, ns, 0, 0};
            pass_one(d, &p, 1);
            lpa_unhold(pid);
            held_clear();
            say("process %d: released after %.3f ms held", (int)pid, ms_since(t));
            return; /* at its entry point every library it names is mapped */
        } else if (h == LPA_HOLD_GONE) {
            return;
        } else {
            say("process %d: not held: %s (exec event read %.3f ms after the exec)", (int)pid, err,
                seen > ns ? (double)(seen - ns) / 1e6 : 0.0);
        }
    } else if (d->verbose) {
        say("process %d: exec (%.3f ms ago)", (int)pid, ms_since(ns));
    }
    add_pending(d, pid, ns);
}

/* The checks due: a pass over each new process whose delay passed. */
static void run_pending(struct daemon *d)
{
    uint64_t now = lpa_now_ns();
    size_t k = 0;
    for (size_t i = 0; i < d->npend; i++) {
        struct pending *p = &d->pend[i];
        int done = 0;
        if (now >= p->exec_ns + check_ms[p->step] * 1000000ull) {
            /* a pass when it maps one more file with patches */
            int m = maps_known(d, p->pid);
            if (m > p->matched)
                done = pass_one(d, p, 0);
            else
                done = lpa_process_gone(p->pid);
            p->matched = m > p->matched ? m : p->matched;
            /* past every delay whose time has come */
            while (p->step < NCHECKS && now >= p->exec_ns + check_ms[p->step] * 1000000ull)
                p->step++;
            done |= p->step >= NCHECKS;
        }
        if (!done)
            d->pend[k++] = *p;
    }
    d->npend = k;
}

/* ---- polling -------------------------------------------------------- */

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

static int collect(pid_t pid, void *ctx)
{
    struct daemon *d = ctx;
    d->seen = grow_list(d->seen, (d->nseen + 1) * sizeof *d->seen);
    d->seen[d->nseen++] = pid;
    return 0;
}

/* The pids /proc lists now that it did not list at the previous scan. */
static void poll_scan(struct daemon *d, int first)
{
    pid_t *old = d->seen;
    size_t nold = d->nseen;
    d->seen = NULL;
    d->nseen = 0;
    lpa_each_process(collect, d);
    qsort(d->seen, d->nseen, sizeof *d->seen, cmp_pid);
    for (size_t i = 0; i < d->nseen && !first; i++)
        if (!bsearch(&d->seen[i], old, nold, sizeof *old, cmp_pid))
            new_process(d, d->seen[i], lpa_now_ns());
    free(old);
    d->next_poll = lpa_now_ns() + (uint64_t)d->poll_ms * 1000000ull;
}

/* ---- the loop ------------------------------------------------------- */

static void read_events(struct daemon *d)
{
    struct lpw_event ev[64];
    size_t n;
    char err[LP_ERR_MAX];
    for (;;) {
        int r = lpw_read(d->nl, ev, 64, &n, err);
        for (size_t i = 0; i < n; i++)
            if (ev[i].kind == LPW_EXEC)
                new_process(d, ev[i].pid, ev[i].ns);
            else if (ev[i].kind == LPW_FORK && d->verbose)
                say("process %d: forked from %d (keeps its patches)", (int)ev[i].pid,
                    (int)ev[i].ppid);
        if (r == 1) {
            say("process events: the kernel dropped some (ENOBUFS): every process again");
            full_pass(d, "events dropped");
        } else if (r < 0) {
            say("%s: polling /proc every %u ms instead", err, d->poll_ms);
            lpw_close(d->nl);
            d->nl = -1;
            poll_scan(d, 1);
            return;
        }
        if (n < 64)
            return;
    }
}

static void drain_inotify(struct daemon *d)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    int changed = 0;
    while ((n = read(d->in, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            /* not the lock file (every pass opens it) nor a temporary */
            changed |= !e->len || e->name[0] != '.';
            p += sizeof *e + e->len;
        }
    if (changed && !d->registry_changed)
        d->registry_changed = lpa_now_ns();
}

static int next_timeout(const struct daemon *d)
{
    uint64_t now = lpa_now_ns(), next = d->next_rescan;
    for (size_t i = 0; i < d->npend; i++) {
        uint64_t t = d->pend[i].exec_ns + check_ms[d->pend[i].step] * 1000000ull;
        next = t < next ? t : next;
    }
    if (d->nl < 0 && d->next_poll < next)
        next = d->next_poll;
    if (d->registry_changed && d->registry_changed + 20000000ull < next)
        next = d->registry_changed + 20000000ull; /* settle: an install writes several files */
    if (next <= now)
        return 0;
    uint64_t ms = (next - now + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int run(struct daemon *d)
{
    char err[LP_ERR_MAX];
    d->nl = d->in = -1;
    if (!d->poll_only) {
        d->nl = lpw_open(err);
        if (d->nl < 0)
            say("%s: polling /proc every %u ms instead", err, d->poll_ms);
    } else {
        say("polling /proc every %u ms (--poll)", d->poll_ms);
    }
    mkdir(lpr_root(), 0755); /* to watch it; lpatch install would make it */
    d->in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (d->in < 0)
        say("cannot watch the registry (%s): changes wait for the rescan every %u ms",
            strerror(errno), d->rescan_ms);
    held_recover(d);
    if (d->nl < 0)
        poll_scan(d, 1);
    say("watching %s%s, registry %s, rescan every %u ms", d->nl >= 0 ? "process events" : "/proc",
        d->hold ? " (--hold)" : "", lpr_root(), d->rescan_ms);
    realtime(d, 1);
    full_pass(d, "start");
    while (!quit) {
        struct pollfd pf[2] = {{.fd = d->nl, .events = POLLIN}, {.fd = d->in, .events = POLLIN}};
        int r = poll(pf, 2, next_timeout(d));
        if (r < 0 && errno != EINTR) {
            say("poll: %s", strerror(errno));
            return LPA_USAGE;
        }
        if (quit)
            break;
        if (d->nl >= 0 && (pf[0].revents & (POLLIN | POLLERR)))
            read_events(d);
        if (d->in >= 0 && (pf[1].revents & POLLIN))
            drain_inotify(d);
        if (d->nl < 0 && lpa_now_ns() >= d->next_poll)
            poll_scan(d, 0);
        run_pending(d);
        if (d->registry_changed && lpa_now_ns() >= d->registry_changed + 20000000ull) {
            d->registry_changed = 0;
            full_pass(d, "registry changed");
        }
        if (rescan || lpa_now_ns() >= d->next_rescan) {
            full_pass(d, rescan ? "SIGHUP" : "rescan");
            rescan = 0;
        }
    }
    say("stopping (%s)", strsignal(quit));
    lpw_close(d->nl);
    if (d->in >= 0)
        close(d->in);
    return 0;
}

/* ---- the command line ----------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lpatchd [options]\n"
            "Keep every process in line with the patch registry (%s, or $%s):\n"
            "apply the installed patches to each new process that maps their module, and to\n"
            "every process when patches are installed or removed.\n"
            "\n"
            "  --foreground     stay in the foreground (the systemd unit's way); without it,\n"
            "                   lpatchd detaches from the terminal\n"
            "  --once           one pass over every process, as lpatch auto, then exit\n"
            "  --hold           hold a new process at its entry point until it is patched\n"
            "  --hold-ms MS     longest hold of a process in its loader (default 2000)\n"
            "  --poll           poll /proc even if process events are available\n"
            "  --poll-ms MS     the polling interval without process events (default 100)\n"
            "  --rescan-ms MS   a pass over every process this often (default 30000)\n"
            "  --timeout MS     bound on each wait for a target's threads (default 5000)\n"
            "  --verbose        log every new process and fork too\n"
            "  --help           this text\n"
            "\n"
            "Logs one line per action on stderr.  Exit status: 0 stopped by SIGTERM or\n"
            "SIGINT (--once: lpatch auto's), 2 bad usage.  docs/lpatchd.md has the details.\n",
            LPR_ROOT_DEFAULT, LPR_ROOT_ENV);
}

static int number(const char *opt, const char *s, unsigned lo, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !*s || *end || *s == '-' || v < lo || v > 86400000ul) {
        fprintf(stderr, "lpatchd: --%s: not a number of milliseconds (%u..86400000): '%s'\n", opt,
                lo, s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    static struct daemon d;
    enum {
        O_FG = 256,
        O_ONCE,
        O_HOLD,
        O_HOLD_MS,
        O_POLL,
        O_POLL_MS,
        O_RESCAN,
        O_TIMEOUT,
        O_VERBOSE,
        O_HELP
    };
    static const struct option opts[] = {{"foreground", no_argument, 0, O_FG},
                                         {"once", no_argument, 0, O_ONCE},
                                         {"hold", no_argument, 0, O_HOLD},
                                         {"hold-ms", required_argument, 0, O_HOLD_MS},
                                         {"poll", no_argument, 0, O_POLL},
                                         {"poll-ms", required_argument, 0, O_POLL_MS},
                                         {"rescan-ms", required_argument, 0, O_RESCAN},
                                         {"timeout", required_argument, 0, O_TIMEOUT},
                                         {"verbose", no_argument, 0, O_VERBOSE},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    cli_prog = "lpatchd";
    lpa_opts_default(&d.c.o);
    d.poll_ms = 100;
    d.rescan_ms = 30000;
    d.hold_ms = 2000;
    opterr = 0;
    int o;
    unsigned t;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_FG:
            d.foreground = 1;
            break;
        case O_ONCE:
            d.once = 1;
            break;
        case O_HOLD:
            d.hold = 1;
            break;
        case O_POLL:
            d.poll_only = 1;
            break;
        case O_VERBOSE:
            d.verbose = 1;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        case O_HOLD_MS:
            if (number("hold-ms", optarg, 1, &d.hold_ms))
                return LPA_USAGE;
            break;
        case O_POLL_MS:
            if (number("poll-ms", optarg, 1, &d.poll_ms))
                return LPA_USAGE;
            break;
        case O_RESCAN:
            if (number("rescan-ms", optarg, 10, &d.rescan_ms))
                return LPA_USAGE;
            break;
        case O_TIMEOUT:
            if (number("timeout", optarg, 1, &t))
                return LPA_USAGE;
            d.c.o.timeout_ms = (int)t;
            break;
        default:
            fprintf(stderr, "lpatchd: unknown option '%s' (lpatchd --help)\n", argv[optind - 1]);
            return LPA_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lpatchd: takes no operands: '%s' (lpatchd --help)\n", argv[optind]);
        return LPA_USAGE;
    }
    /* One stream, in order: auto's action lines (stdout) with the rest. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    setvbuf(stdout, NULL, _IOLBF, 0);
    setvbuf(stderr, NULL, _IOLBF, 0);
    if (d.once) {
        int rc = full_pass(&d, "--once");
        return rc;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!d.foreground && daemon(1, 1) != 0) {
        fprintf(stderr, "lpatchd: cannot detach: %s\n", strerror(errno));
        return LPA_USAGE;
    }
    return run(&d);
}
