/*
 * The hooks suite's target: four "connections" served in rounds, each
 * round's results written over the status file as "round=N v0=A v3=B".
 * Every 50 rounds connection 3 is replaced by a new one.
 *   prog STATUS           serve in the main thread
 *   prog STATUS dlwait    serve in a second thread; the main thread sits in
 *                         a dl_iterate_phdr callback (the loader's lock held)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conn {
    int id;
    int hits;
};

struct conn *conns[4];
static int status_fd;

__attribute__((noinline)) struct conn *new_conn(int i)
{
    struct conn *c = calloc(1, sizeof(*c));
    c->id = i;
    return c;
}

__attribute__((noinline)) int serve(struct conn *c)
{
    c->hits++;
    return c->hits;
}

__attribute__((noinline)) void drop_conn(struct conn *c)
{
    free(c);
}

static void *rounds(void *arg)
{
    (void)arg;
    for (long n = 1;; n++) {
        int v[4];
        for (int i = 0; i < 4; i++)
            v[i] = serve(conns[i]);
        char line[128];
        int len = snprintf(line, sizeof(line), "round=%ld v0=%d v3=%d\n", n, v[0], v[3]);
        memset(line + len, ' ', sizeof(line) - (size_t)len - 1);
        line[sizeof(line) - 1] = '\n';
        if (pwrite(status_fd, line, sizeof(line), 0) < 0)
            return NULL;
        if (n % 50 == 0) { /* a connection ends, a new one comes */
            struct conn *c = conns[3];
            conns[3] = new_conn(3);
            drop_conn(c);
        }
        usleep(2000);
    }
}

static int stay(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    (void)data;
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    status_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < 4; i++)
        conns[i] = new_conn(i);
    if (argc > 2 && !strcmp(argv[2], "dlwait")) {
        pthread_t t;
        pthread_create(&t, NULL, rounds, NULL);
        dl_iterate_phdr(stay, NULL);
    }
    rounds(NULL);
    return 0;
}
