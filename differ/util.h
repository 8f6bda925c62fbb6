/*
 * util.h - small helpers shared by the differ: allocation that exits on
 * failure (the x* functions, as git names them), growable arrays, and
 * GCC's local numbering removed from symbol names, C++ names demangled in
 * messages.  The string map is
 * strmap.h, the string builder sbuf.h.
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
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

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

/* "foo.constprop.3" -> "foo.constprop", "count.5" -> "count": GCC's local
 * numbering changes with unrelated edits.  Returns a new string. */
char *util_strip_gcc_suffix(const char *name);

/* `text` with every mangled C++ symbol in it ("_ZNK5Shape4areaEv", a word
 * that starts with _Z) shown as "Shape::area() const (_ZNK5Shape4areaEv)":
 * readable, and still the name --accept and the JSON report use.  Words
 * that do not demangle stay as they are.  Returns a new string. */
char *util_demangle_text(const char *text);
/* The demangled form of one symbol ("vtable for Shape"), or a copy of sym
 * when it is not a C++ name.  Returns a new string. */
char *util_demangle(const char *sym);

#endif /* DIFFER_UTIL_H */
