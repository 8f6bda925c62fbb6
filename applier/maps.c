/*
 * maps.c - a process's mappings, as /proc/PID/maps lists them: read once
 * (before the pause; nothing in the pause reads them again), looked up by
 * address, and searched for a free range within reach of a module.
 */
#include "proc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE  4096ull
#define REACH ((1ull << 31) - (16ull << 20)) /* rel32 reach with slack */

/* The whole of path, NUL-terminated, in *text (malloc); -1 with errno. */
static int read_all(const char *path, char **text)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0, cap = 64 << 10;
    char *buf = malloc(cap);
    ssize_t r = 0;
    while (buf && (r = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)r;
        if (cap - len - 1 == 0) {
            char *grown = realloc(buf, 2 * cap);
            if (!grown) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int saved = buf ? errno : ENOMEM;
    close(fd);
    if (!buf || r < 0) {
        free(buf);
        errno = saved;
        return -1;
    }
    buf[len] = 0;
    *text = buf;
    return 0;
}

int lpa_maps_read(pid_t pid, struct lpa_maps *m, char *err)
{
    char path[64];
    *m = (struct lpa_maps){0};
    snprintf(path, sizeof path, "/proc/%d/maps", (int)lpa_live_tid(pid));
    char *text;
    if (read_all(path, &text) != 0)
        return lpa_err(err, "%s: %s", path, strerror(errno));
    /* Each mapping's path points into the text: two allocations in all. */
    size_t lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    struct lpa_map *v = malloc((lines + 1) * sizeof *v);
    if (!v) {
        free(text);
        return lpa_err(err, "%s: out of memory", path);
    }
    size_t n = 0;
    for (char *line = text, *next; *line; line = next) {
        next = line + strcspn(line, "\n");
        if (*next)
            *next++ = 0;
        unsigned long long s, e, off;
        int name_at = 0;
        struct lpa_map mp = {0};
        if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &s, &e, mp.perms, &off, &name_at) < 4)
            continue;
        assert(n <= lines);
        mp.start = s;
        mp.end = e;
        mp.offset = off;
        mp.path = name_at ? line + name_at : line + strlen(line);
        v[n++] = mp;
    }
    if (n == 0) {
        free(v);
        free(text);
        return lpa_err(err, "%s: no mappings (process gone?)", path);
    }
    *m = (struct lpa_maps){.v = v, .n = n, .text = text};
    return 0;
}

void lpa_maps_free(struct lpa_maps *m)
{
    free(m->v);
    free(m->text);
    *m = (struct lpa_maps){0};
}

const struct lpa_map *lpa_maps_find(const struct lpa_maps *m, uint64_t addr)
{
    for (size_t i = 0; i < m->n; i++)
        if (addr >= m->v[i].start && addr < m->v[i].end)
            return &m->v[i];
    return NULL;
}

/* Room left above the heap for brk to grow into. */
#define HEAP_ROOM (1ull << 30)

/* The free span [*gs, *ge) between two mappings that may hold a patch:
 * never just below a stack (it grows down), and at least HEAP_ROOM above
 * the heap (brk grows up; below the libraries that is most of the address
 * space, so it cannot be left out).  0 if nothing of it is usable. */
static int usable_span(const struct lpa_map *below, const struct lpa_map *above, uint64_t *gs,
                       uint64_t *ge)
{
    if (above && strncmp(above->path, "[stack", 6) == 0)
        return 0;
    if (below && strcmp(below->path, "[heap]") == 0) {
        if (*ge - *gs <= HEAP_ROOM)
            return 0;
        *gs += HEAP_ROOM;
    }
    return *ge > *gs;
}

uint64_t lpa_maps_free_near(const struct lpa_maps *m, uint64_t lo, uint64_t hi, uint64_t size)
{
    uint64_t best = 0, best_dist = UINT64_MAX;
    for (size_t i = 0; i <= m->n; i++) {
        const struct lpa_map *below = i ? &m->v[i - 1] : NULL;
        const struct lpa_map *above = i < m->n ? &m->v[i] : NULL;
        uint64_t gs = below ? below->end : 0x10000;
        uint64_t ge = above ? above->start : 0x7ffffffff000ull;
        if (ge <= gs || !usable_span(below, above, &gs, &ge) || ge - gs < size + 2 * PAGE)
            continue;
        uint64_t cand, dist;
        if (ge <= lo) { /* below the module: take the top of the gap */
            cand = (ge - PAGE - size) & ~(PAGE - 1);
            if (hi - cand > REACH)
                continue;
            dist = lo - cand;
        } else if (gs >= hi) { /* above: take the bottom */
            cand = (gs + 2 * PAGE - 1) & ~(PAGE - 1);
            if (cand + size - lo > REACH)
                continue;
            dist = cand - hi;
        } else {
            continue; /* a gap inside the module's span (between its segments) */
        }
        if (dist < best_dist) {
            best = cand;
            best_dist = dist;
        }
    }
    return best;
}
