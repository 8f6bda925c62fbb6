/*
 * differ.h - the state of one lpdiff run (struct differ), shared by the
 * stages in compare.c (what changed, what is refused), typecheck.c (DWARF
 * type checks) and emit.c (writing the patch).  diff.c is the command that
 * fills it and runs the stages in order; lpdiff.h declares the commands.
 *
 * Names say who owns them: every external name defined in F.c starts
 * with F_ (compare_match in compare.c, dwinfo_load in dwinfo.c, sbuf_add
 * in sbuf.c) and is declared in F.h (the stages' here, the commands
 * diff_main and list_main in lpdiff.h); a file's own types are struct F
 * or struct F_* (struct elfobj, struct dwinfo_node), its constants F_* in
 * capitals (DWINFO_NONE).  A header without a .c names its contents after
 * itself (lpdiff.h: LPDIFF_*) or holds the shared vocabulary (model.h:
 * struct side, unit, fn, var; report.h: the refusal codes REFUSE_*).  The
 * one exception is util.c's allocators that exit on failure, xmalloc and
 * its kin, under the name git gives them.  Static functions keep short
 * names.
 */
#ifndef DIFFER_DIFFER_H
#define DIFFER_DIFFER_H

#include "build.h"
#include "hooks.h"
#include "report.h"

struct differ {
    struct side old, new;
    struct report rep;
    const char *module; /* REL/PATH as given */
    int verbose;
    int patch_line_changes;         /* patch functions whose only change is line numbers */
    VEC(struct fn *) patch;         /* NEW functions whose code goes in the patch */
    VEC(const char *) allow_active; /* --allow-active names */
    size_t nchanged, nadded;
    struct hooks hooks; /* --hooks: the hook file and the in-target runtime */
};

/* compare.c */
void compare_match(struct differ *d);         /* units, functions, variables */
void compare_check_builds(struct differ *d);  /* compiler and options */
void compare_find_changes(struct differ *d);  /* code, data, propagation */
void compare_check_classes(struct differ *d); /* VTABLE_CHANGED, BASE_CHANGED */
void compare_check_entries(struct differ *d); /* NO_ENTRY, CTOR_CHANGED */
/* The OLD module symbol of OLD function/variable (peer side), NULL if not
 * found; an ambiguous name is refused (AMBIGUOUS) and *ambiguous set. */
const struct elfobj_sym *compare_old_symbol(struct differ *d, const struct unit *ou,
                                            const char *name, const char *key, int is_local,
                                            int *ambiguous);
/* "file.c:LINE" of a NEW (or OLD) function or variable, "" if unknown. */
const char *compare_where(struct side *s, const struct unit *u, const char *name, int is_var,
                          char *buf, size_t len);

/* typecheck.c */
void typecheck_run(struct differ *d);

/* emit.c */
int emit_write_patch(struct differ *d, const char *out, char *err, size_t errlen);
int emit_dump_patch(const char *path);

#endif /* DIFFER_DIFFER_H */
