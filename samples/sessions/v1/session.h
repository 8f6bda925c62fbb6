/*
 * session.h - sessiond: a small TCP line server, one thread per connection.
 *
 * Protocol: one request per line, one reply line per request.
 *   PING        -> PONG
 *   COUNT       -> COUNT n      (requests on this connection so far)
 *   anything else -> ERR unknown command
 */
#ifndef SESSION_H
#define SESSION_H

struct session {
    int fd;
    unsigned long requests; /* lines handled on this connection */
};

struct session *session_new(int fd);
void session_free(struct session *s);
/* One request line to one reply line (with newline); 0: close the connection. */
int session_handle(struct session *s, const char *line, char *reply, unsigned long size);

#endif
