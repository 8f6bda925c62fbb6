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

static inline struct lps_func *lps_funcs(struct lps_patch *p)
{
    return lps_patch_funcs(p);
}

/* A copy of the area in lpatch's memory; runtime/lpstate.c's lps_area_*
 * helpers do everything to it but the I/O. */
struct lps_state {
    uint64_t addr; /* in the target; 0 if the target has none yet */
    uint8_t *area; /* LPS_AREA_SIZE bytes: header, then records */
};

static inline struct lps_header *lps_hdr(const struct lps_state *st)
{
    return (struct lps_header *)st->area;
}

/* Find and read the area; a process with none gives addr 0 and no patches. */
int lps_load(pid_t pid, int memfd, struct lps_state *st, char *err);
void lps_free(struct lps_state *st);
/* Records in order of application: pass NULL to start. */
struct lps_patch *lps_next(const struct lps_state *st, struct lps_patch *prev);
/* Append a record (copied, given the next sequence number); returns the
 * copy inside st, or NULL with the reason in err when the area is full. */
struct lps_patch *lps_append(struct lps_state *st, const struct lps_patch *p,
                             const struct lps_func *funcs, char *err);
void lps_remove(struct lps_state *st, struct lps_patch *p);
struct lps_patch *lps_find_id(const struct lps_state *st, const char *id_prefix);
/* Write header + records to the target in one write (the commit). */
int lps_store(int memfd, struct lps_state *st, char *err);

#endif
