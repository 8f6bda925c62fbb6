/*
 * entries.h - switching the entries of redirected functions between their
 * previous and new bytes, in the pause.
 */
#ifndef LPATCH_ENTRIES_H
#define LPATCH_ENTRIES_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* What switch_entries needs, allocated before the pause. */
struct lpa_switch_mem {
    struct lps_func **v; /* n entries */
    uint8_t *buf;        /* SPAN bytes */
};

int lpa_switch_mem_new(struct lpa_switch_mem *m, size_t n); /* -1 out of memory */
void lpa_switch_mem_free(struct lpa_switch_mem *m);
/* Write new_entry (back: prev_entry) at each of rf[0..n)'s entry_addr. */
int lpa_switch_entries(int memfd, struct lps_func *rf, size_t n, int back,
                       const struct lpa_switch_mem *mem);

#endif
