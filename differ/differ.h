/*
 * differ.h - the state of one lpdiff run, shared by the stages in
 * compare.c (what changed, what is refused), typecheck.c (DWARF type checks) and
 * emit.c (writing the patch).
 */
#ifndef DIFFER_DIFFER_H
#define DIFFER_DIFFER_H

#include "model.h"
#include "report.h"

struct lpd {
    struct side old, new;
    struct report rep;
    const char *module; /* REL/PATH as given */
    int verbose;
    int patch_line_changes;         /* patch functions whose only change is line numbers */
    VEC(struct fn *) patch;         /* NEW functions whose code goes in the patch */
    VEC(const char *) allow_active; /* --allow-active names */
    size_t nchanged, nadded;
};

/* compare.c */
void lpd_match(struct lpd *d);         /* units, functions, variables */
void lpd_check_builds(struct lpd *d);  /* compiler and options */
void lpd_find_changes(struct lpd *d);  /* code, data, propagation */
void lpd_check_entries(struct lpd *d); /* NO_ENTRY, CTOR_CHANGED */
/* The OLD module symbol of OLD function/variable (peer side), NULL if not
 * found; an ambiguous name is refused (AMBIGUOUS) and *ambiguous set. */
const struct eo_sym *lpd_old_symbol(struct lpd *d, const struct unit *ou, const char *name,
                                    const char *key, int is_local, int *ambiguous);
/* "file.c:LINE" of a NEW (or OLD) function or variable, "" if unknown. */
const char *lpd_where(struct side *s, const struct unit *u, const char *name, int is_var, char *buf,
                      size_t len);

/* typecheck.c */
void typecheck_run(struct lpd *d);

/* emit.c */
int lpd_write_patch(struct lpd *d, const char *out, char *err, size_t errlen);
int lpd_dump_patch(const char *path);

#endif /* DIFFER_DIFFER_H */
