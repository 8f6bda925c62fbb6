/* store.c - a fixed table of key/value slots behind one mutex. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "kv.h"

struct slot {
    char key[KV_KEY_MAX];
    char val[KV_VAL_MAX];
    size_t len;
    int used;
};

static struct slot table[KV_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot holding key, or the free slot where it would go; NULL if full. */
static struct slot *find(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = key; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    for (size_t i = 0; i < KV_SLOTS; i++) {
        struct slot *s = &table[(h + i) % KV_SLOTS];
        if (!s->used || strncmp(s->key, key, KV_KEY_MAX - 1) == 0)
            return s;
    }
    return NULL;
}

int kv_set(const char *key, const char *val, size_t len)
{
    if (len > KV_VAL_MAX)
        return -2;
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (s) {
        /* Keys longer than the slot are cut: see proto.c */
        strncpy(s->key, key, KV_KEY_MAX - 1);
        memcpy(s->val, val, len);
        s->len = len;
        s->used = 1;
    }
    pthread_mutex_unlock(&lock);
    return s ? 0 : -1;
}

int kv_get(const char *key, char *out, size_t *len)
{
    int rc = -1;
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (s && s->used) {
        memcpy(out, s->val, s->len);
        *len = s->len;
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int kv_range(const char *key, size_t off, size_t n, char *out, size_t *len)
{
    int rc = -1;
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (s && s->used) {
        rc = 0;
        /* v2: the range must lie inside the value, not just inside the slot */
        if (off > s->len || n > s->len - off) {
            rc = -2;
        } else {
            memcpy(out, s->val + off, n);
            *len = n;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}
