/*
 * entries.c - switching the 2-byte entries of replaced functions (runtime/
 * lp_entry.h), in the pause, with as few writes of /proc/PID/mem as
 * possible and nothing allocated: the room is made before.
 */
#include "entries.h"
#include "lp_entry.h"
#include "proc.h"
#include "stop.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_entry(const void *a, const void *b)
{
    const struct lps_func *x = *(struct lps_func *const *)a, *y = *(struct lps_func *const *)b;
    return x->entry_addr < y->entry_addr ? -1 : x->entry_addr > y->entry_addr;
}

enum { SPAN = 64 << 10 }; /* longest run of entries switched in one write */

int lpa_switch_mem_new(struct lpa_switch_mem *m, size_t n)
{
    m->v = malloc((n ? n : 1) * sizeof *m->v);
    m->buf = malloc(SPAN);
    return m->v && m->buf ? 0 : -1;
}

void lpa_switch_mem_free(struct lpa_switch_mem *m)
{
    free(m->v);
    free(m->buf);
}

/* Switch every entry with as few writes as possible: entries close together
 * go in one write of the span between them, read back first (every thread
 * is held, so the bytes between cannot change).  100 entries in a few KiB
 * of text: 2 syscalls instead of 100.  back: restore the previous bytes.
 * Runs in the pause: allocates nothing (mem). */
int lpa_switch_entries(int memfd, struct lps_func *rf, size_t n, int back,
                       const struct lpa_switch_mem *mem)
{
    struct lps_func **v = mem->v;
    uint8_t *buf = mem->buf;
    int rc = 0;
    assert(v && buf);
    for (size_t i = 0; i < n; i++)
        v[i] = &rf[i];
    qsort(v, n, sizeof *v, by_entry);
    for (size_t i = 1; i < n; i++) /* ascending: the span merge below relies on it */
        assert(v[i - 1]->entry_addr <= v[i]->entry_addr);
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i + 1;
        while (j < n && v[j]->entry_addr + LP_ENTRY_LEN - v[i]->entry_addr <= SPAN)
            j++;
        if (j == i + 1) {
            rc = lpa_mem_write(memfd, v[i]->entry_addr, back ? v[i]->prev_entry : v[i]->new_entry,
                               LP_ENTRY_LEN);
        } else {
            uint64_t lo = v[i]->entry_addr, len = v[j - 1]->entry_addr + LP_ENTRY_LEN - lo;
            assert(len <= SPAN);
            rc = lpa_mem_read(memfd, lo, buf, len);
            for (size_t k = i; k < j && rc == 0; k++)
                memcpy(buf + (v[k]->entry_addr - lo), back ? v[k]->prev_entry : v[k]->new_entry,
                       LP_ENTRY_LEN);
            if (rc == 0)
                rc = lpa_mem_write(memfd, lo, buf, len);
        }
        lpa_test_point("entry");
        i = j;
    }
    return rc;
}
