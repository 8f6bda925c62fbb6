/* kvserver [-p PORT]: a multithreaded TCP key-value server on 127.0.0.1:PORT
 * (default 7070, 0: any), one thread per connection; protocol in kv.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kv.h"

static int send_all(int fd, const char *buf, size_t len)
{
    for (ssize_t n; len; buf += n, len -= n)
        if ((n = send(fd, buf, len, MSG_NOSIGNAL)) <= 0)
            return -1;
    return 0;
}

/* Read lines from one client and answer each. */
static void *serve_client(void *arg)
{
    int fd = (int)(long)arg;
    char buf[KV_LINE_MAX], reply[KV_LINE_MAX];
    size_t have = 0;

    for (;;) {
        char *nl = memchr(buf, '\n', have);
        if (!nl) {
            if (have == sizeof buf) /* a line longer than we accept */
                break;
            ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
            if (n <= 0)
                break;
            have += n;
            continue;
        }
        *nl = '\0';
        if (nl > buf && nl[-1] == '\r')
            nl[-1] = '\0';
        size_t len = kv_handle(buf, reply, sizeof reply);
        if (send_all(fd, reply, len) < 0)
            break;
        have -= nl + 1 - buf;
        memmove(buf, nl + 1, have);
    }
    close(fd);
    return NULL;
}

static int listen_on(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    socklen_t alen = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        fprintf(stderr, "kvserver: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        exit(1);
    }
    printf("kvserver: listening on 127.0.0.1:%d (pid %d)\n", ntohs(a.sin_port), (int)getpid());
    fflush(stdout);
    return fd;
}

int main(int argc, char **argv)
{
    int port = 7070;

    if (argc == 3 && !strcmp(argv[1], "-p")) {
        port = atoi(argv[2]);
    } else if (argc != 1) {
        fprintf(stderr, "usage: kvserver [-p PORT]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        pthread_t t;
        if (fd < 0)
            continue; /* the client gave up already */
        if (pthread_create(&t, NULL, serve_client, (void *)(long)fd) != 0)
            close(fd);
        else
            pthread_detach(t);
    }
}
