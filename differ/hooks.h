/*
 * hooks.h - the hook side of one lpdiff run (hooks.c): the hook file's
 * object and the in-target hook runtime, loaded as units, and what the hook
 * file declares (callbacks, the struct members it handles with shadow
 * variables).
 */
#ifndef DIFFER_HOOKS_H
#define DIFFER_HOOKS_H

#include <stddef.h>

#include "model.h"

/* One declared callback: relocation `rela` of section `sec` of `unit`
 * points at the function. */
struct hooks_decl {
    struct unit *unit; /* NULL: not declared */
    size_t sec, rela;
    unsigned line;
};

struct hooks {
    const char *file;   /* --hooks FILE, or NULL */
    const char *cflags; /* --hooks-cflags */
    int loaded;         /* the runtime (and FILE) are in `side` */
    struct side side;   /* units only: no module */
    struct unit *hook_unit;
    struct hooks_decl decl[5]; /* by enum lp_hook_kind (1..4) */
    VEC(char *) members;       /* "TYPE.MEMBER" as written in LP_SHADOW_MEMBER */
    struct strmap noted;       /* notes already made */
    char *tmpdir;
};

/* Compile (if a .c) and load h->file, and load the runtime.  0 or -1 with
 * one line in err. */
int hooks_load(struct hooks *h, char *err, size_t errlen);
void hooks_free(struct hooks *h);
/* 1 if the hook file declares MEMBER of the type named `type` ("struct
 * conn") or `type_tag` ("conn", or a typedef's name) handled. */
int hooks_handles(const struct hooks *h, const char *type, const char *type_tag,
                  const char *member);
/* Add `note` to the report once. */
struct report;
void hooks_note(struct hooks *h, struct report *rep, const char *note);
/* "LP_PRE_APPLY" for LP_HOOK_PRE_APPLY. */
const char *hooks_kind_name(unsigned kind);

#endif /* DIFFER_HOOKS_H */
