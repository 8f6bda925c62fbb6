/*
 * state.c - finding, reading and rewriting the in-target patch record.
 */
#include "state.h"
#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liblivepatch.h"
#include <xxhash.h>

/* XXH3-64 of header (checksum as 0) + records, as lpstate.h defines it. */
static uint64_t area_checksum(const struct lps_header *h, const uint8_t *recs)
{
    struct lps_header z = *h;
    z.checksum = 0;
    XXH3_state_t *x = XXH3_createState();
    XXH3_64bits_reset(x);
    XXH3_64bits_update(x, &z, sizeof z);
    if (h->used)
        XXH3_64bits_update(x, recs, h->used);
    uint64_t sum = XXH3_64bits_digest(x);
    XXH3_freeState(x);
    return sum;
}

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

void lps_init_header(struct lps_state *st)
{
    memset(&st->hdr, 0, sizeof st->hdr);
    memcpy(st->hdr.magic, LPS_MAGIC, sizeof LPS_MAGIC);
    st->hdr.version = LPS_VERSION;
    st->hdr.size = LPS_AREA_SIZE;
    st->hdr.next_seq = 1;
}

int lps_load(pid_t pid, int memfd, struct lps_state *st, char *err)
{
    memset(st, 0, sizeof *st);
    lps_init_header(st);
    uint64_t addr = find_area(pid, err);
    if (addr == UINT64_MAX)
        return -1;
    if (!addr)
        return 0;
    struct lps_header h;
    if (lpa_mem_read(memfd, addr, &h, sizeof h) != 0) {
        lpa_err(err, "process %d: reading patch state at %#llx: %s", (int)pid,
                (unsigned long long)addr, strerror(errno));
        return -1;
    }
    st->addr = addr;
    if (memcmp(h.magic, LPS_MAGIC, sizeof LPS_MAGIC) != 0 && h.npatches == 0 && h.used == 0)
        return 0; /* created but never committed */
    if (memcmp(h.magic, LPS_MAGIC, sizeof LPS_MAGIC) != 0 || h.version != LPS_VERSION ||
        h.size != LPS_AREA_SIZE || h.used > h.size - sizeof h) {
        lpa_err(err, "process %d: patch state at %#llx is corrupt", (int)pid,
                (unsigned long long)addr);
        return -1;
    }
    st->hdr = h;
    st->recs = malloc(h.used ? h.used : 1);
    if (h.used && lpa_mem_read(memfd, addr + sizeof h, st->recs, h.used) != 0) {
        lpa_err(err, "process %d: reading patch records: %s", (int)pid, strerror(errno));
        return -1;
    }
    if (area_checksum(&h, st->recs) != h.checksum)
        return lpa_err(err, "process %d: patch state at %#llx fails its checksum", (int)pid,
                       (unsigned long long)addr);
    /* Check the chain of record sizes so iteration stays in bounds. */
    uint64_t off = 0;
    for (uint32_t i = 0; i < h.npatches; i++) {
        struct lps_patch *p = (struct lps_patch *)(st->recs + off);
        if (off + sizeof *p > h.used || p->rec_size < sizeof *p ||
            p->rec_size != sizeof *p + (uint64_t)p->nfuncs * sizeof(struct lps_func) ||
            off + p->rec_size > h.used) {
            lpa_err(err, "process %d: patch state record %u is corrupt", (int)pid, i);
            return -1;
        }
        off += p->rec_size;
    }
    return 0;
}

void lps_free(struct lps_state *st)
{
    free(st->recs);
    st->recs = NULL;
}

struct lps_patch *lps_next(const struct lps_state *st, struct lps_patch *prev)
{
    uint64_t off = prev ? (uint64_t)((uint8_t *)prev - st->recs) + prev->rec_size : 0;
    if (off >= st->hdr.used)
        return NULL;
    return (struct lps_patch *)(st->recs + off);
}

struct lps_patch *lps_append(struct lps_state *st, const struct lps_patch *p,
                             const struct lps_func *funcs)
{
    uint64_t size = sizeof *p + (uint64_t)p->nfuncs * sizeof *funcs;
    if (sizeof st->hdr + st->hdr.used + size > st->hdr.size)
        return NULL;
    st->recs = realloc(st->recs, st->hdr.used + size);
    struct lps_patch *q = (struct lps_patch *)(st->recs + st->hdr.used);
    memcpy(q, p, sizeof *p);
    memcpy(q + 1, funcs, (size_t)p->nfuncs * sizeof *funcs);
    q->rec_size = (uint32_t)size;
    st->hdr.used += size;
    st->hdr.npatches++;
    return q;
}

void lps_remove(struct lps_state *st, struct lps_patch *p)
{
    uint64_t off = (uint64_t)((uint8_t *)p - st->recs), size = p->rec_size;
    memmove(st->recs + off, st->recs + off + size, st->hdr.used - off - size);
    st->hdr.used -= size;
    st->hdr.npatches--;
}

struct lps_patch *lps_find_id(const struct lps_state *st, const char *id_prefix)
{
    struct lps_patch *found = NULL;
    for (struct lps_patch *p = lps_next(st, NULL); p; p = lps_next(st, p)) {
        char hex[33];
        lp_hex(p->patch_id, 16, hex);
        if (strncmp(hex, id_prefix, strlen(id_prefix)) == 0)
            found = p;
    }
    return found;
}

int lps_store(int memfd, struct lps_state *st, char *err)
{
    size_t len = sizeof st->hdr + st->hdr.used;
    uint8_t *buf = malloc(len);
    st->hdr.checksum = area_checksum(&st->hdr, st->recs);
    memcpy(buf, &st->hdr, sizeof st->hdr);
    if (st->hdr.used)
        memcpy(buf + sizeof st->hdr, st->recs, st->hdr.used);
    int rc = lpa_mem_write(memfd, st->addr, buf, len);
    if (rc != 0)
        lpa_err(err, "writing patch state at %#llx: %s", (unsigned long long)st->addr,
                strerror(errno));
    free(buf);
    return rc;
}
