/*
 * state.h - reading and committing the record of applied patches that lives
 * inside the target (layout: runtime/lpstate.h).  lpatch keeps a copy,
 * changes it, and writes header + records back with one write: the commit
 * point of every change.
 */
#ifndef LPATCH_STATE_H
#define LPATCH_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lpstate.h" /* the layout, owned by runtime/ */

static inline struct lps_func *lpa_state_funcs(struct lps_patch *p)
{
    return lps_patch_funcs(p);
}

/* A copy of the area in lpatch's memory; runtime/lpstate.c's lps_area_*
 * helpers do everything to it but the I/O. */
struct lpa_state {
    uint64_t addr; /* in the target; 0 if the target has none yet */
    uint8_t *area; /* LPS_AREA_SIZE bytes: header, then records */
};

static inline struct lps_header *lpa_state_hdr(const struct lpa_state *st)
{
    return (struct lps_header *)st->area;
}

/* Find and read the area; a process with none gives addr 0 and no patches. */
int lpa_state_load(pid_t pid, int memfd, struct lpa_state *st, char *err);
void lpa_state_free(struct lpa_state *st);
/* Records in order of application: pass NULL to start. */
struct lps_patch *lpa_state_next(const struct lpa_state *st, struct lps_patch *prev);
/* Append a record (copied, given the next sequence number); returns the
 * copy inside st, or NULL with the reason in err when the area is full. */
struct lps_patch *lpa_state_append(struct lpa_state *st, const struct lps_patch *p,
                                   const struct lps_func *funcs, char *err);
void lpa_state_remove(struct lpa_state *st, struct lps_patch *p);
struct lps_patch *lpa_state_find_id(const struct lpa_state *st, const char *id_prefix);
/* Write header + records to the target in one write (the commit). */
int lpa_state_store(int memfd, struct lpa_state *st, char *err);

#endif
