/*
 * sbuf.h - a growable string.
 */
#ifndef DIFFER_SBUF_H
#define DIFFER_SBUF_H

#include <stddef.h>

/* Growable string. */
struct sbuf {
    char *s;
    size_t len, cap;
};
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_add(struct sbuf *b, const char *s);
void sbuf_addn(struct sbuf *b, const char *s, size_t n);
const char *sbuf_str(struct sbuf *b); /* never NULL */
void sbuf_free(struct sbuf *b);

#endif /* DIFFER_SBUF_H */
