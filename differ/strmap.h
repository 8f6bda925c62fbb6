/*
 * strmap.h - a string-keyed hash map (open addressing, xxhash) that counts
 * how often a key was added, so callers can tell ambiguous names.
 */
#ifndef DIFFER_STRMAP_H
#define DIFFER_STRMAP_H

#include <stddef.h>
#include <stdint.h>

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

#endif /* DIFFER_STRMAP_H */
