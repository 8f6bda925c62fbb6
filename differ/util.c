/* util.c - see util.h: the die-on-failure allocators, GCC name
 * normalisation and C++ demangling (the C++ ABI's own demangler,
 * __cxa_demangle of libstdc++: it is the compiler's, so it knows every
 * mangling g++ emits, including GCC's ".cold"/".constprop.N" clones). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "util.h"

/* The Itanium C++ ABI's demangler (libstdc++; declared in <cxxabi.h>, which
 * is C++): a malloc'd string, or NULL with *status < 0. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

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

static int sym_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

char *util_demangle_text(const char *text)
{
    struct sbuf out = {0};
    const char *p = text;
    for (;;) {
        const char *z = strstr(p, "_Z");
        while (z && z > text && sym_char(z[-1]))
            z = strstr(z + 1, "_Z"); /* inside a word, not its start */
        if (!z)
            break;
        size_t len = 2;
        while (sym_char(z[len]))
            len++;
        while (len > 2 && z[len - 1] == '.') /* a sentence's full stop */
            len--;
        char *word = xstrndup(z, len);
        int status = -1;
        /* "(sym)" is what this function writes (shown once, never twice);
         * "sym::var" is the plugin's name of a function-scope static. */
        int keep =
            (z > text && z[-1] == '(' && z[len] == ')') || (z[len] == ':' && z[len + 1] == ':');
        char *plain = keep ? NULL : __cxa_demangle(word, NULL, NULL, &status);
        sbuf_addn(&out, p, (size_t)(z - p));
        if (plain && status == 0)
            sbuf_addf(&out, "%s (%s)", plain, word);
        else
            sbuf_add(&out, word);
        free(plain);
        free(word);
        p = z + len;
    }
    sbuf_add(&out, p);
    char *s = xstrdup(sbuf_str(&out));
    sbuf_free(&out);
    return s;
}

char *util_demangle(const char *sym)
{
    int status = -1;
    char *plain = __cxa_demangle(sym, NULL, NULL, &status);
    if (!plain || status != 0) {
        free(plain);
        return xstrdup(sym);
    }
    char *s = xstrdup(plain); /* ours: freed with free() like every x* string */
    free(plain);
    return s;
}
