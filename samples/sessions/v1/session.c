/* session.c - one connection's state and its requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

struct session *session_new(int fd)
{
    struct session *s = calloc(1, sizeof(*s));
    if (s)
        s->fd = fd;
    return s;
}

void session_free(struct session *s)
{
    close(s->fd);
    free(s);
}

int session_handle(struct session *s, const char *line, char *reply, unsigned long size)
{
    s->requests++;
    if (!strcmp(line, "PING"))
        return snprintf(reply, size, "PONG\n");
    if (!strcmp(line, "COUNT"))
        return snprintf(reply, size, "COUNT %lu\n", s->requests);
    return snprintf(reply, size, "ERR unknown command\n");
}
