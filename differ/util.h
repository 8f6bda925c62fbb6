/*
 * util.h - small helpers shared by the differ: checked allocation, growable
 * arrays, a string-keyed hash map and a string builder.
 */
#ifndef DIFFER_UTIL_H
#define DIFFER_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable array of T: struct { T *v; size_t n, cap; }. */
#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }
#define VEC_PUSH(vec, item)                                                                        \
    do {                                                                                           \
        if ((vec).n == (vec).cap) {                                                                \
            (vec).cap = (vec).cap ? 2 * (vec).cap : 8;                                             \
            (vec).v = xrealloc((vec).v, (vec).cap * sizeof(*(vec).v));                             \
        }                                                                                          \
        (vec).v[(vec).n++] = (item);                                                               \
    } while (0)
#define VEC_FREE(vec) (free((vec).v), (vec).v = NULL, (vec).n = (vec).cap = 0)

/* String -> pointer map.  Keys are not copied: they must outlive the map.
 * A key may be added several times; strmap_get returns the first value and
 * strmap_count tells how many there are (used to detect ambiguity). */
struct strmap {
    struct strmap_slot {
        const char *key;
        void *val;
        unsigned count;
        uint32_t hash;
    } * slots;
    size_t cap, used;
};

void strmap_put(struct strmap *m, const char *key, void *val);
/* Put, replacing the value of an existing key (count unchanged). */
void strmap_set(struct strmap *m, const char *key, void *val);
void *strmap_get(const struct strmap *m, const char *key);
unsigned strmap_count(const struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

/* Growable string. */
struct sbuf {
    char *s;
    size_t len, cap;
};
void sb_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_add(struct sbuf *b, const char *s);
void sb_addn(struct sbuf *b, const char *s, size_t n);
const char *sb_str(struct sbuf *b); /* never NULL */
void sb_free(struct sbuf *b);

/* "foo.constprop.3" -> "foo.constprop", "count.5" -> "count": GCC's local
 * numbering changes with unrelated edits.  Returns a new string. */
char *strip_gcc_suffix(const char *name);

#endif /* DIFFER_UTIL_H */
