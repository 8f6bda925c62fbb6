/*
 * ptrace_floor.c - the floor under any ptrace-based patcher's pause: seize
 * and interrupt every thread of a process, wait until all are stopped, then
 * detach them all, doing nothing else.  bench/applier.bench.sh measures it
 * beside each lpatch pause, in the same run, on the same target, with the
 * same scheduling (SCHED_FIFO) lpatch uses.
 *
 *   ptrace_floor PID RUNS    one line per run: microseconds from the first
 *                            thread asked to stop to the last detached
 *   ptrace_floor PID 0       seize and detach once (the whole-command
 *                            baseline: process start + seize + detach)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int tids(int pid, int *out, int cap)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < cap;)
        if (e->d_name[0] != '.')
            out[n++] = atoi(e->d_name);
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ptrace_floor PID RUNS\n");
        return 2;
    }
    int pid = atoi(argv[1]), runs = atoi(argv[2]);
    static int t[4096];
    int n = tids(pid, t, 4096);
    if (n <= 0) {
        fprintf(stderr, "ptrace_floor: no process %d\n", pid);
        return 2;
    }
    /* As lpatch does by default: real-time, so busy target threads do not
     * delay our wake-ups by a scheduler tick. */
    struct sched_param sp = {.sched_priority = 1};
    sched_setscheduler(0, SCHED_FIFO, &sp);
    for (int r = 0; r < (runs ? runs : 1); r++) {
        double t0 = now_us();
        for (int i = 0; i < n; i++)
            if (ptrace(PTRACE_SEIZE, t[i], 0, 0) != 0 ||
                ptrace(PTRACE_INTERRUPT, t[i], 0, 0) != 0) {
                perror("ptrace_floor: seize");
                return 1;
            }
        for (int i = 0; i < n; i++) {
            int st;
            while (waitpid(t[i], &st, __WALL) < 0 && errno == EINTR)
                ;
        }
        for (int i = 0; i < n; i++)
            ptrace(PTRACE_DETACH, t[i], 0, 0);
        if (runs)
            printf("%.1f\n", now_us() - t0);
    }
    return 0;
}
