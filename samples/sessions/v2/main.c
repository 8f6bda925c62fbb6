/* sessiond [-p PORT]: the server loop of session.h on 127.0.0.1:PORT
 * (default 7171; 0: any, printed as "listening on PORT"). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "session.h"

static void *serve(void *arg)
{
    struct session *s = arg;
    char line[256], reply[256];
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(s->fd, &c, 1);
        if (r <= 0)
            break;
        if (c != '\n') {
            if (n < sizeof(line) - 1)
                line[n++] = c;
            continue;
        }
        line[n] = 0;
        n = 0;
        int len = session_handle(s, line, reply, sizeof(reply));
        if (len <= 0 || write(s->fd, reply, (size_t)len) != len)
            break;
    }
    session_free(s);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = argc > 2 && !strcmp(argv[1], "-p") ? atoi(argv[2]) : 7171;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("sessiond");
        return 1;
    }
    printf("listening on %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        struct session *s = session_new(c);
        pthread_t t;
        if (!s || pthread_create(&t, NULL, serve, s) != 0) {
            close(c);
            free(s);
            continue;
        }
        pthread_detach(t);
    }
}
