/* session.c - one connection's state and its requests.
 *
 * The fix counts unknown commands per connection in a new member,
 * `errors`.  Sessions that exist when the live patch arrives have the old
 * layout, so the code reaches the count through errors_of(): a shadow
 * variable when the hook runtime is there (the live patch links it in;
 * lp_shadow_get_or_alloc is a weak symbol, 0 in a plain build), else the
 * member itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livepatch-hooks.h"
#include "session.h"

static unsigned *errors_of(struct session *s)
{
    if (lp_shadow_get_or_alloc)
        return lp_shadow_get_or_alloc(s, SESSION_ERRORS_ID, sizeof(unsigned), NULL, NULL);
    return &s->errors;
}

struct session *session_new(int fd)
{
    struct session *s = calloc(1, sizeof(*s));
    if (s)
        s->fd = fd;
    return s;
}

void session_free(struct session *s)
{
    if (lp_shadow_free)
        lp_shadow_free(s, SESSION_ERRORS_ID, NULL);
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
    unsigned *errors = errors_of(s);
    if (errors && ++*errors >= SESSION_MAX_ERRORS) {
        /* The last reply, then the caller closes the connection. */
        static const char last[] = "ERR too many errors\n";
        if (write(s->fd, last, sizeof(last) - 1) < 0)
            return 0;
        return 0;
    }
    return snprintf(reply, size, "ERR unknown command\n");
}
