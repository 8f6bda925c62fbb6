/*
 * session.h - sessiond: a small TCP line server, one thread per connection.
 *
 * Protocol: one request per line, one reply line per request.
 *   PING        -> PONG
 *   COUNT       -> COUNT n      (requests on this connection so far)
 *   anything else -> ERR unknown command; the third one on a connection
 *                 -> ERR too many errors, and the server closes it
 *
 * v2 (the fix): a client could send unknown commands forever; now a
 * connection is closed after SESSION_MAX_ERRORS of them.  The count is a new
 * member of struct session; the live patch keeps it in a shadow variable
 * (fix-hooks.c), because sessions that already exist have the old layout.
 */
#ifndef SESSION_H
#define SESSION_H

#define SESSION_MAX_ERRORS 3

struct session {
    int fd;
    unsigned long requests; /* lines handled on this connection */
    unsigned errors;        /* v2: unknown commands so far */
};

/* The shadow variable that stands for `errors` in the live patch. */
#define SESSION_ERRORS_ID 0x5e551

struct session *session_new(int fd);
void session_free(struct session *s);
/* One request line to one reply line (with newline); 0: close the connection. */
int session_handle(struct session *s, const char *line, char *reply, unsigned long size);

#endif
