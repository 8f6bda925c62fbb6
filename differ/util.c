/* util.c - see util.h: the die-on-failure allocators and GCC name
 * normalisation. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void oom(void)
{
    fputs("lpdiff: out of memory\n", stderr);
    exit(2);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        oom();
    return d;
}

char *xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        oom();
    return d;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        oom();
    return s;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

char *util_strip_gcc_suffix(const char *name)
{
    char *s = xstrdup(name);
    /* Drop every ".<digits>" component: GCC numbers clones and local
     * statics per unit, so the number is not part of the identity. */
    char *w = s;
    for (const char *r = s; *r;) {
        if (*r == '.' && isdigit((unsigned char)r[1])) {
            const char *e = r + 1;
            while (isdigit((unsigned char)*e))
                e++;
            if (*e == 0 || *e == '.') {
                r = e;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = 0;
    return s;
}
