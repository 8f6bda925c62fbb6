/*
 * kv.h - kvserver: a small multithreaded TCP key-value server.
 *
 * Protocol: one request per line, one reply line per request.
 *   PING                  -> PONG
 *   SET key value         -> OK
 *   GET key               -> VALUE value | NOT_FOUND
 *   LEN key               -> LEN n | NOT_FOUND
 *   GETRANGE key off n    -> VALUE bytes | NOT_FOUND | ERR ...
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>

#define KV_KEY_MAX  32 /* bytes of a key, NUL included */
#define KV_VAL_MAX  64 /* bytes of a value */
#define KV_SLOTS    1024
#define KV_LINE_MAX 512

/* store.c: the table, one lock.  Values are copied to out (KV_VAL_MAX
 * bytes); -1: no such key, -2: too long / bad range. */
int kv_set(const char *key, const char *val, size_t len);
int kv_get(const char *key, char *out, size_t *len);
int kv_range(const char *key, size_t off, size_t n, char *out, size_t *len);

/* proto.c: one request line to one reply line (with newline); its length */
size_t kv_handle(char *line, char *reply, size_t size);

#endif
