/*
 * loop - N threads call compute() in a tight loop and check every result.
 *
 *   loop THREADS STATUSFILE
 *
 * compute(x) returns x + K for K in {1 (old), 1001, 2001, 3001 (patches)};
 * anything else is a torn or wrong call; other(x) returns x + 7 or x + 107.  Every 2 ms the main
 * thread writes "old=N new1=N new2=N new3=N bad=N calls=N" to STATUSFILE (atomically).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef EXTERN_COMPUTE /* the functions live in libcompute.so */
int compute(int x);
int other(int x);
#else
#include "compute.h"
#endif

static unsigned long seen[4], bad, calls;

static void *worker(void *arg)
{
    (void)arg;
    unsigned long local[4] = {0}, lbad = 0;
    for (int x = 0;; x = (x + 1) & 0xffff) {
        int k = compute(x) - x, o = other(x) - x;
        int idx = k == 1 ? 0 : k == 1001 ? 1 : k == 2001 ? 2 : k == 3001 ? 3 : -1;
        if (idx < 0 || (o != 7 && o != 107))
            lbad++;
        else
            local[idx]++;
        if ((x & 1023) == 0) {
            for (int i = 0; i < 4; i++) {
                __atomic_fetch_add(&seen[i], local[i], __ATOMIC_RELAXED);
                local[i] = 0;
            }
            __atomic_fetch_add(&bad, lbad, __ATOMIC_RELAXED);
            __atomic_fetch_add(&calls, 1024, __ATOMIC_RELAXED);
            lbad = 0;
        }
    }
    return NULL;
}

static const char *status;

/* For a patch that calls strlen (an IFUNC in libc, imported by this
 * program through its GOT): strlen(one) == 1. */
const char one[] = "a";

static void *reporter(void *arg)
{
    char tmp[4096];
    (void)arg;
    snprintf(tmp, sizeof tmp, "%s.tmp", status);
    for (;;) {
        usleep(2000);
        FILE *f = fopen(tmp, "w");
        if (!f)
            continue;
        fprintf(f, "old=%lu new1=%lu new2=%lu new3=%lu bad=%lu calls=%lu\n",
                __atomic_load_n(&seen[0], __ATOMIC_RELAXED),
                __atomic_load_n(&seen[1], __ATOMIC_RELAXED),
                __atomic_load_n(&seen[2], __ATOMIC_RELAXED),
                __atomic_load_n(&seen[3], __ATOMIC_RELAXED),
                __atomic_load_n(&bad, __ATOMIC_RELAXED), __atomic_load_n(&calls, __ATOMIC_RELAXED));
        fclose(f);
        rename(tmp, status);
    }
    return NULL;
}

/* loop THREADS STATUSFILE [exit-main]: with exit-main the main thread
 * leaves (pthread_exit) and the process lives on in its other threads. */
int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1;
    status = argc > 2 ? argv[2] : "loop.status";
    if (strlen(status) > 4000) /* a real call: binds our strlen GOT slot */
        return 2;
    for (int i = 0; i < n; i++) {
        pthread_t t;
        pthread_create(&t, NULL, worker, NULL);
    }
    if (argc > 3 && !strcmp(argv[3], "exit-main")) {
        pthread_t t;
        pthread_create(&t, NULL, reporter, NULL);
        pthread_exit(NULL);
    }
    reporter(NULL);
}
