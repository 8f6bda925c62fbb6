/*
 * spawner - a thread-per-request server's shape: the main thread starts
 * short-lived detached threads without pause; each calls compute() a few
 * times, checks every result and exits.
 *
 *   spawner STATUSFILE
 *
 * Every 2 ms the main thread writes "old=N new1=N bad=N threads=N" to
 * STATUSFILE (atomically).  lpatch must hold such a process although
 * threads exit (and are reaped) while it stops them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "compute.h"

static unsigned long n_old, n_new1, n_bad, n_threads;

static void *request(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        int r = compute(i);
        if (r == i + 1)
            __atomic_add_fetch(&n_old, 1, __ATOMIC_RELAXED);
        else if (r == i + 1001)
            __atomic_add_fetch(&n_new1, 1, __ATOMIC_RELAXED);
        else
            __atomic_add_fetch(&n_bad, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
    struct timespec last = {0};
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, &a, request, NULL) == 0)
            n_threads++;
        else
            usleep(100); /* too many at once: let some finish */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - last.tv_sec) * 1000000000L + (now.tv_nsec - last.tv_nsec) > 2000000) {
            last = now;
            FILE *f = fopen(tmp, "w");
            if (f) {
                fprintf(f, "old=%lu new1=%lu bad=%lu threads=%lu\n", n_old, n_new1, n_bad,
                        n_threads);
                fclose(f);
                rename(tmp, argv[1]);
            }
        }
    }
}
