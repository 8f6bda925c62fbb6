/*
 * workload-service.h - the request loop the real-program workloads
 * (expat-workload.c, cjson-workload.c) share.
 *
 * workload_serve() runs batch() without end, idling idle_us between
 * batches, and reads request lines from REQ_FIFO without blocking; each line
 * is handed to probe(), whose answer goes to RESP_FIFO (opened per request:
 * the asker opens it for reading first).  "ready" on stdout after the first
 * batch tells the test the service runs.
 */
#ifndef WORKLOAD_SERVICE_H
#define WORKLOAD_SERVICE_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void workload_answer(const char *resp_path, const char *request,
                            int (*probe)(const char *, FILE *))
{
    FILE *out = fopen(resp_path, "w");
    if (!out) {
        fprintf(stderr, "%s: %s\n", resp_path, strerror(errno));
        exit(1);
    }
    probe(request, out);
    fclose(out);
}

static int workload_serve(const char *req_path, const char *resp_path, void (*batch)(void),
                          int (*probe)(const char *, FILE *), useconds_t idle_us)
{
    /* Our own writer keeps the FIFO open: reads give EAGAIN, never EOF. */
    int req = open(req_path, O_RDONLY | O_NONBLOCK);
    int keep = open(req_path, O_WRONLY);
    if (req < 0 || keep < 0) {
        fprintf(stderr, "%s: %s\n", req_path, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    char line[256];
    size_t used = 0;
    batch();
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        batch();
        usleep(idle_us);
        ssize_t n = read(req, line + used, sizeof line - 1 - used);
        if (n <= 0)
            continue;
        used += (size_t)n;
        char *nl;
        while ((nl = memchr(line, '\n', used))) {
            *nl = '\0';
            workload_answer(resp_path, line, probe);
            used -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, used);
        }
        if (used == sizeof line - 1)
            used = 0; /* an overlong line: drop it */
    }
}

#endif
