/*
 * statics - a static local, a file-scope static and a TLS variable that a
 * patch must keep using (not re-initialise).
 *
 *   statics STATUSFILE
 *
 * Two threads call bump() (static local), tbump() (TLS) and add() (file
 * static) and check continuity: each result is the previous + 1, possibly
 * plus 100000 when the patched code runs.  STATUSFILE: "ok=N new=N bad=N".
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int total;
static __thread int tcount;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) int bump(void)
{
    static int calls;
    return ++calls;
}

__attribute__((noinline)) int tbump(void)
{
    return ++tcount;
}

__attribute__((noinline)) int add(void)
{
    return ++total;
}

static unsigned long ok, newer, bad;

static void tally(int r, int *prev)
{
    int v = r >= 100000 ? r - 100000 : r;
    if (v != *prev + 1)
        __atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
    else if (r >= 100000)
        __atomic_fetch_add(&newer, 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_add(&ok, 1, __ATOMIC_RELAXED);
    *prev = v;
}

static void *worker(void *arg)
{
    int last_t = 0;
    (void)arg;
    for (;;) {
        tally(tbump(), &last_t);
        pthread_mutex_lock(&lock); /* bump() and add() share state between threads */
        static int last_b, last_a;
        tally(bump(), &last_b);
        tally(add(), &last_a);
        pthread_mutex_unlock(&lock);
        usleep(50);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        pthread_create(&t, NULL, worker, NULL);
    }
    for (;;) {
        usleep(2000);
        FILE *f = fopen(tmp, "w");
        if (!f)
            continue;
        fprintf(f, "ok=%lu new=%lu bad=%lu\n", __atomic_load_n(&ok, __ATOMIC_RELAXED),
                __atomic_load_n(&newer, __ATOMIC_RELAXED), __atomic_load_n(&bad, __ATOMIC_RELAXED));
        fclose(f);
        rename(tmp, argv[1]);
    }
}
