/*
 * state.c - finding, reading and rewriting the in-target patch record.
 */
#include "state.h"
#include "proc.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liblivepatch.h"

static uint64_t find_area(pid_t pid, char *err)
{
    struct lpa_maps m;
    if (lpa_maps_read(pid, &m, err) != 0)
        return UINT64_MAX;
    uint64_t addr = 0;
    for (size_t i = 0; i < m.n && !addr; i++)
        if (strncmp(m.v[i].path, "/memfd:" LPS_NAME, 7 + sizeof LPS_NAME - 1) == 0 &&
            m.v[i].offset == 0)
            addr = m.v[i].start;
    lpa_maps_free(&m);
    return addr;
}

/* The area of a process that has none yet, or never committed one. */
static int fresh(struct lpa_state *st)
{
    lps_area_init(st->area, LPS_AREA_SIZE);
    return 0;
}

int lpa_state_load(pid_t pid, int memfd, struct lpa_state *st, char *err)
{
    st->addr = 0;
    st->area = calloc(1, LPS_AREA_SIZE);
    if (!st->area)
        return lpa_err(err, "process %d: out of memory", (int)pid);
    uint64_t addr = find_area(pid, err);
    if (addr == UINT64_MAX)
        return -1;
    if (!addr)
        return fresh(st);
    struct lps_header h;
    if (lpa_mem_read(memfd, addr, &h, sizeof h) != 0) {
        lpa_err(err, "process %d: reading patch state at %#llx: %s", (int)pid,
                (unsigned long long)addr, strerror(errno));
        return -1;
    }
    st->addr = addr;
    if (memcmp(h.magic, LPS_MAGIC, sizeof LPS_MAGIC) != 0 && h.npatches == 0 && h.used == 0)
        return fresh(st); /* created but never committed */
    if (h.size != LPS_AREA_SIZE || h.used > LPS_AREA_SIZE - sizeof h) {
        lpa_err(err, "process %d: patch state at %#llx is corrupt", (int)pid,
                (unsigned long long)addr);
        return -1;
    }
    uint64_t len = sizeof h + h.used;
    assert(len <= LPS_AREA_SIZE); /* h.used was bounded above */
    if (lpa_mem_read(memfd, addr, st->area, len) != 0) {
        lpa_err(err, "process %d: reading patch records: %s", (int)pid, strerror(errno));
        return -1;
    }
    char why[LP_ERR_MAX];
    if (lps_area_check(st->area, len, why) != 0) {
        lpa_err(err, "process %d: patch state at %#llx: %s", (int)pid, (unsigned long long)addr,
                why);
        return -1;
    }
    return 0;
}

void lpa_state_free(struct lpa_state *st)
{
    free(st->area);
    st->area = NULL;
}

struct lps_patch *lpa_state_next(const struct lpa_state *st, struct lps_patch *prev)
{
    return lps_area_next(st->area, prev);
}

struct lps_patch *lpa_state_append(struct lpa_state *st, const struct lps_patch *p,
                                   const struct lps_func *funcs, char *err)
{
    return lps_area_append(st->area, LPS_AREA_SIZE, p, funcs, err);
}

void lpa_state_remove(struct lpa_state *st, struct lps_patch *p)
{
    lps_area_remove(st->area, p);
}

struct lps_patch *lpa_state_find_id(const struct lpa_state *st, const char *id_prefix)
{
    struct lps_patch *found = NULL;
    for (struct lps_patch *p = lpa_state_next(st, NULL); p; p = lpa_state_next(st, p)) {
        char hex[33];
        lp_hex(p->patch_id, 16, hex);
        if (strncmp(hex, id_prefix, strlen(id_prefix)) == 0)
            found = p;
    }
    return found;
}

int lpa_state_store(int memfd, struct lpa_state *st, char *err)
{
    assert(st->area && st->addr); /* loaded, and the area exists in the target */
    uint64_t len = lps_area_seal(st->area);
    assert(len <= LPS_AREA_SIZE);
    int rc = lpa_mem_write(memfd, st->addr, st->area, len);
    if (rc != 0)
        lpa_err(err, "writing patch state at %#llx: %s", (unsigned long long)st->addr,
                strerror(errno));
    return rc;
}
