/*
 * kvclient - talk to kvserver.
 *
 *   kvclient [-p PORT] REQUEST...    send each request, print each reply
 *   kvclient [-p PORT] -l [-c CONNS] [-s SECONDS]
 *        client loop: CONNS connections (default 4) each doing SET, GET,
 *        LEN and an in-bounds GETRANGE and checking every reply, until
 *        SECONDS pass or SIGINT/SIGTERM; then print
 *        "kvclient: N requests, M failed" and exit 1 if M > 0.
 *
 * A reply that is late (5 s), wrong or missing counts as a failed request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port = 7070;
static atomic_long requests, failures;
static volatile sig_atomic_t stop;

static int connect_server(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send one request line, read one reply line (without newline) into reply.
 * Returns its length, -1 on a connection error or timeout. */
static int request(int fd, const char *req, char *reply, size_t size)
{
    char line[600];
    int len = snprintf(line, sizeof line, "%s\n", req), got = 0;

    if (send(fd, line, len, MSG_NOSIGNAL) != len)
        return -1;
    while (got < (int)size - 1) {
        ssize_t n = recv(fd, reply + got, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        if (reply[got] == '\n')
            break;
        got++;
    }
    reply[got] = '\0';
    return got;
}

/* Print a reply with non-printable bytes as \xNN. */
static void print_reply(const char *r, int len)
{
    for (int i = 0; i < len; i++) {
        unsigned char c = r[i];
        if (c >= 0x20 && c < 0x7f)
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('\n');
}

static int one_shot(char **reqs, int n)
{
    char reply[600];
    int fd = connect_server();

    if (fd < 0) {
        fprintf(stderr, "kvclient: cannot connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 2;
    }
    for (int i = 0; i < n; i++) {
        int len = request(fd, reqs[i], reply, sizeof reply);
        if (len < 0) {
            fprintf(stderr, "kvclient: no reply to '%s'\n", reqs[i]);
            return 1;
        }
        print_reply(reply, len);
    }
    close(fd);
    return 0;
}

/* One checked exchange of the loop. */
static int check(int *fd, const char *req, const char *want)
{
    char reply[600];

    if (*fd < 0 && (*fd = connect_server()) < 0)
        usleep(10000); /* server gone: fail slowly */
    atomic_fetch_add(&requests, 1);
    if (*fd >= 0 && request(*fd, req, reply, sizeof reply) >= 0 && !strcmp(reply, want))
        return 0;
    if (atomic_fetch_add(&failures, 1) < 5)
        fprintf(stderr, "kvclient: '%s': wanted '%s', got '%s'\n", req, want,
                *fd < 0 ? "(no connection)" : reply);
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return -1;
}

static void *loop(void *arg)
{
    long id = (long)arg;
    char key[32], val[48], req[128], want[128];
    int fd = -1;

    for (unsigned i = 0; !stop; i++) {
        snprintf(key, sizeof key, "c%ld-k%u", id, i % 64);
        snprintf(val, sizeof val, "value-%u-%.*s", i, (int)(i % 20), "abcdefghijklmnopqrst");
        snprintf(req, sizeof req, "SET %s %s", key, val);
        check(&fd, req, "OK");
        snprintf(req, sizeof req, "GET %s", key);
        snprintf(want, sizeof want, "VALUE %s", val);
        check(&fd, req, want);
        snprintf(req, sizeof req, "LEN %s", key);
        snprintf(want, sizeof want, "LEN %zu", strlen(val));
        check(&fd, req, want);
        snprintf(req, sizeof req, "GETRANGE %s 6 3", key);
        snprintf(want, sizeof want, "VALUE %.3s", val + 6);
        check(&fd, req, want);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int client_loop(int conns, int seconds)
{
    pthread_t t[64];
    struct sigaction sa = {.sa_handler = on_signal};

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* a load generator must not outlive its driver */
    for (long i = 0; i < conns; i++)
        pthread_create(&t[i], NULL, loop, (void *)i);
    for (int s = 0; !stop && (seconds <= 0 || s < seconds * 10); s++)
        usleep(100000);
    stop = 1;
    for (int i = 0; i < conns; i++)
        pthread_join(t[i], NULL);
    long f = atomic_load(&failures);
    printf("kvclient: %ld requests, %ld failed\n", atomic_load(&requests), f);
    return f ? 1 : 0;
}

int main(int argc, char **argv)
{
    int opt, loop_mode = 0, conns = 4, seconds = 0;

    while ((opt = getopt(argc, argv, "+p:lc:s:h")) != -1) {
        switch (opt) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'l':
            loop_mode = 1;
            break;
        case 'c':
            conns = atoi(optarg);
            break;
        case 's':
            seconds = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: kvclient [-p PORT] REQUEST...\n"
                            "       kvclient [-p PORT] -l [-c CONNS] [-s SECONDS]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if (conns < 1 || conns > 64) {
        fprintf(stderr, "kvclient: -c %d: between 1 and 64 connections\n", conns);
        return 2;
    }
    if (loop_mode)
        return client_loop(conns, seconds);
    if (optind == argc) {
        fprintf(stderr, "kvclient: no request (try: kvclient PING)\n");
        return 2;
    }
    return one_shot(argv + optind, argc - optind);
}
