/*
 * forker - calls compute() in a loop and checks every result; forks on
 * SIGUSR1, and the child goes on with the same loop.
 *
 *   forker STATUSFILE
 *
 * Every 2 ms a process writes "old=N new1=N bad=N calls=N" (compute(x) - x
 * is 1 unpatched, 1001 patched; anything else is bad) to STATUSFILE, a
 * forked child to STATUSFILE.child, its counts starting from 0 at the fork.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compute.h"

static volatile sig_atomic_t want_fork;

static void on_usr1(int sig)
{
    (void)sig;
    want_fork = 1;
}

static void report(const char *status, unsigned long old, unsigned long new1, unsigned long bad,
                   unsigned long calls)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", status);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "old=%lu new1=%lu bad=%lu calls=%lu\n", old, new1, bad, calls);
    fclose(f);
    rename(tmp, status);
}

int main(int argc, char **argv)
{
    char status[4100];
    snprintf(status, sizeof status, "%s", argc > 1 ? argv[1] : "forker.status");
    signal(SIGUSR1, on_usr1);
    unsigned long old = 0, new1 = 0, bad = 0, calls = 0;
    struct timespec last = {0, 0};
    for (int x = 0;; x = (x + 1) & 0xffff) {
        int k = compute(x) - x;
        old += k == 1;
        new1 += k == 1001;
        bad += k != 1 && k != 1001;
        calls++;
        if ((x & 1023) != 0)
            continue;
        if (want_fork) {
            want_fork = 0;
            if (fork() == 0) {
                strncat(status, ".child", sizeof status - strlen(status) - 1);
                old = new1 = bad = calls = 0;
                last.tv_sec = 0;
            }
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - last.tv_sec) * 1000000000L + (now.tv_nsec - last.tv_nsec) >= 2000000L) {
            report(status, old, new1, bad, calls);
            last = now;
        }
    }
}
