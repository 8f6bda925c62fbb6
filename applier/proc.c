/*
 * proc.c - reading a process through /proc: the processes there, its
 * threads, the modules it maps (by build-id), its memory, its name; and
 * lpatch's one error-line formatter (lpa_err).  Mappings are maps.c.
 */
#include "elfread.h"
#include "proc.h"

#include <assert.h>
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096ull

/* A main thread gone with pthread_exit() is a zombie whose /proc entry
 * has no memory: read the process through a thread that lives. */
/* A thread's state letter and kernel flags (stat's 3rd and 9th fields);
 * -1 when it is gone. */
static int thread_stat(pid_t pid, pid_t tid, char *state, unsigned *flags)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    const char *p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
    fclose(f);
    int ppid, pgrp, session, tty, tpgid;
    if (!p || sscanf(p + 1, " %c %d %d %d %d %d %u", state, &ppid, &pgrp, &session, &tty, &tpgid,
                     flags) != 7)
        return -1;
    return 0;
}

/* The value of line `key` ("Seccomp", "SigPnd") of a thread's status file
 * into buf; -1 when the thread is gone or has no such line. */
static int thread_status(pid_t pid, pid_t tid, const char *key, char *buf, size_t len)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t k = strlen(key);
    int rc = -1;
    while (rc && fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && line[k] == ':') {
            snprintf(buf, len, "%s", line + k + 1);
            rc = 0;
        }
    fclose(f);
    return rc;
}

pid_t lpa_live_tid(pid_t pid)
{
    char state;
    unsigned flags;
    if (thread_stat(pid, pid, &state, &flags) != 0 || state != 'Z')
        return pid;
    pid_t *tids, live = pid;
    size_t n;
    if (lpa_tids(pid, &tids, &n) != 0)
        return pid;
    for (size_t i = 0; i < n && live == pid; i++)
        if (thread_stat(pid, tids[i], &state, &flags) == 0 && state != 'Z')
            live = tids[i];
    free(tids);
    return live;
}

/* Does thread tid run: not a zombie, not dead, not exiting (PF_EXITING in
 * its flags: a SIGKILLed process's threads on their way out), and no
 * SIGKILL pending for it or its group (a traced thread still stopped)? */
static int thread_runs(pid_t pid, pid_t tid)
{
    char state, buf[64];
    unsigned flags;
    if (thread_stat(pid, tid, &state, &flags) != 0 || state == 'Z' || state == 'X' ||
        (flags & 0x4 /* PF_EXITING */))
        return 0;
    static const char *const pending[] = {"SigPnd", "ShdPnd"};
    for (size_t i = 0; i < sizeof pending / sizeof pending[0]; i++)
        if (thread_status(pid, tid, pending[i], buf, sizeof buf) == 0 &&
            (strtoull(buf, NULL, 16) & (1ull << (SIGKILL - 1))))
            return 0;
    return 1;
}

int lpa_process_gone(pid_t pid)
{
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 1;
    /* Gone when no thread is left running: a main thread that exited (a
     * zombie leader) while others run is a live process. */
    pid_t *tids;
    size_t n;
    if (lpa_tids(pid, &tids, &n) != 0)
        return 1;
    int live = 0;
    for (size_t i = 0; i < n && !live; i++)
        live = thread_runs(pid, tids[i]);
    free(tids);
    return !live;
}

int lpa_modules(pid_t pid, const struct lpa_maps *m, struct lpa_module **out, size_t *n, char *err)
{
    char exe[4096] = "", link[64];
    pid_t live = lpa_live_tid(pid);
    snprintf(link, sizeof link, "/proc/%d/exe", (int)live);
    ssize_t l = readlink(link, exe, sizeof exe - 1);
    exe[l > 0 ? l : 0] = 0;

    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct lpa_map *mp = &m->v[i];
        if (mp->path[0] != '/' || strncmp(mp->path, "/memfd:", 7) == 0)
            continue;
        int seen = 0;
        for (size_t j = 0; j < *n && !seen; j++)
            if (strcmp((*out)[j].path, mp->path) == 0) {
                if (mp->end > (*out)[j].end)
                    (*out)[j].end = mp->end;
                seen = 1;
            }
        if (seen)
            continue;
        struct lpa_module mod = {0};
        snprintf(mod.path, sizeof mod.path, "%s", mp->path);
        snprintf(mod.open_path, sizeof mod.open_path, "/proc/%d/map_files/%llx-%llx", (int)live,
                 (unsigned long long)mp->start, (unsigned long long)mp->end);
        uint64_t lv = 0, lo = 0;
        char e2[LP_ERR_MAX];
        if (lpa_elf_identify(mod.open_path, &mod, &lv, &lo, e2) != 0 &&
            lpa_elf_identify(mod.path, &mod, &lv, &lo, e2) != 0)
            continue; /* not ELF (a locale archive, a data file) */
        mod.base = mp->start;
        mod.end = mp->end;
        /* The lowest mapping maps file offset mp->offset, which belongs to the
         * first PT_LOAD (offset and vaddr congruent modulo the page size). */
        uint64_t link_addr = (lv & ~(PAGE - 1)) - (lo & ~(PAGE - 1)) + mp->offset;
        mod.load_bias = mp->start - link_addr;
        mod.is_main = exe[0] && strcmp(exe, mp->path) == 0;
        struct lpa_module *grown = realloc(*out, (*n + 1) * sizeof **out);
        if (!grown) {
            free(*out);
            *out = NULL;
            *n = 0;
            return lpa_err(err, "process %d: out of memory listing modules", (int)pid);
        }
        *out = grown;
        (*out)[(*n)++] = mod;
    }
    return 0;
}

int lpa_tids(pid_t pid, pid_t **tids, size_t *n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    size_t cap = 16;
    pid_t *v = malloc(cap * sizeof *v);
    *tids = NULL;
    *n = 0;
    struct dirent *de;
    while (v && (de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        if (*n == cap) {
            pid_t *grown = realloc(v, (cap *= 2) * sizeof *v);
            if (!grown) {
                free(v);
                v = NULL;
                break;
            }
            v = grown;
        }
        v[(*n)++] = (pid_t)atoi(de->d_name);
    }
    closedir(d);
    if (!v) {
        *n = 0;
        errno = ENOMEM;
        return -1;
    }
    *tids = v;
    return 0;
}

/* The Seccomp: line of a thread's status: 0 none, 1 strict, 2 filter; -1
 * when the thread is gone or the kernel has no such line (no seccomp). */
static int thread_seccomp(pid_t pid, pid_t tid)
{
    char buf[64];
    return thread_status(pid, tid, "Seccomp", buf, sizeof buf) == 0 ? atoi(buf) : -1;
}

int lpa_seccomp_check(pid_t pid, char *err)
{
    pid_t *tids;
    size_t n;
    if (lpa_tids(pid, &tids, &n) != 0)
        return 0; /* gone: the next step says so */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int mode = thread_seccomp(pid, tids[i]);
        if (mode > 0)
            rc = lpa_err(err,
                         "process %d: thread %d runs under seccomp (%s mode): lpatch's remote "
                         "system calls could kill it; not patched",
                         (int)pid, (int)tids[i], mode == 1 ? "strict" : "filter");
    }
    free(tids);
    return rc;
}

int lpa_mem_open(pid_t pid, char *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)lpa_live_tid(pid));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        lpa_err(err, "%s: %s", path, strerror(errno));
    return fd;
}

int lpa_mem_read(int fd, uint64_t addr, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(addr + done));
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

int lpa_mem_write(int fd, uint64_t addr, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pwrite(fd, (const char *)buf + done, len - done, (off_t)(addr + done));
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

void lpa_comm(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "re");
    buf[0] = 0;
    if (f) {
        if (fgets(buf, (int)len, f))
            buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
}

int lpa_err(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, LP_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

int lpa_parse_pid(const char *s, pid_t *pid)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v <= 0 || v > 0x3fffffff)
        return -1;
    *pid = (pid_t)v;
    return 0;
}

void lpa_each_process(int (*fn)(pid_t pid, void *ctx), void *ctx)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    pid_t self = getpid();
    while (d && (de = readdir(d))) {
        pid_t pid;
        if (lpa_parse_pid(de->d_name, &pid) == 0 && pid != self && fn(pid, ctx) != 0)
            break;
    }
    if (d)
        closedir(d);
}
