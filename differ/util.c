/* util.c - see util.h. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

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

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        oom();
    va_end(ap);
    return s;
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = (uint32_t)XXH3_64bits(s, strlen(s));
    return h ? h : 1;
}

static struct strmap_slot *find_slot(const struct strmap *m, const char *key, uint32_t h)
{
    /* a power of two, never full: the probe always ends */
    assert(m->cap && (m->cap & (m->cap - 1)) == 0 && m->used < m->cap);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct strmap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && !strcmp(s->key, key)))
            return s;
    }
}

static void grow_map(struct strmap *m)
{
    struct strmap old = *m;
    m->cap = old.cap ? 2 * old.cap : 64;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *find_slot(m, old.slots[i].key, old.slots[i].hash) = old.slots[i];
    free(old.slots);
}

void strmap_put(struct strmap *m, const char *key, void *val)
{
    if (2 * (m->used + 1) > m->cap)
        grow_map(m);
    uint32_t h = hash_str(key);
    struct strmap_slot *s = find_slot(m, key, h);
    if (s->key) {
        s->count++;
        return;
    }
    *s = (struct strmap_slot){key, val, 1, h};
    m->used++;
}

void strmap_set(struct strmap *m, const char *key, void *val)
{
    if (2 * (m->used + 1) > m->cap)
        grow_map(m);
    uint32_t h = hash_str(key);
    struct strmap_slot *s = find_slot(m, key, h);
    if (s->key) {
        s->val = val;
        return;
    }
    *s = (struct strmap_slot){key, val, 1, h};
    m->used++;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    struct strmap_slot *s = find_slot(m, key, hash_str(key));
    return s->key ? s->val : NULL;
}

unsigned strmap_count(const struct strmap *m, const char *key)
{
    if (!m->cap)
        return 0;
    struct strmap_slot *s = find_slot(m, key, hash_str(key));
    return s->key ? s->count : 0;
}

void strmap_free(struct strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->used = 0;
}

void sb_addn(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    assert(b->s && b->len + n + 1 <= b->cap);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void sb_add(struct sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

void sb_addf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    sb_addn(b, s, (size_t)n);
    free(s);
}

const char *sb_str(struct sbuf *b)
{
    return b->s ? b->s : "";
}

void sb_free(struct sbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

char *strip_gcc_suffix(const char *name)
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
