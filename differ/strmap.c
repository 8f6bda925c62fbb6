/* strmap.c - see strmap.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "strmap.h"
#include "util.h"

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
