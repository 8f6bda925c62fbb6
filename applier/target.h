/*
 * target.h - a patch seen against one process: which mapped module it is
 * for, where each replaced function lives there, and how the symbols the
 * new code needs resolve in that process.
 */
#ifndef LPATCH_TARGET_H
#define LPATCH_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "liblivepatch.h"
#include "proc.h"
#include "state.h"

/* A function of the patch, placed in the process. */
struct lpa_fplace {
    const struct lp_func *f;
    const char *name;
    uint64_t sym_addr;     /* runtime address of the old function (0 if NEW) */
    struct lps_func *prev; /* newest record redirecting the same function, or NULL */
    int allow_active;
};

struct lpm_module;

struct lpa_target {
    pid_t pid;
    int memfd;
    const struct lp_patch *patch;
    struct lpa_maps maps;
    struct lpa_module *mods;
    size_t nmods;
    struct lpa_module *mod; /* the module the patch is for */
    int stacked;            /* matched via an applied patch's new build-id */
    struct lpa_state state;
    struct lpa_fplace *fp;
    size_t nfp;
    /* Symbols of `patch` resolved so far (by index): resolution reads
     * files and the target, so a second relocation reuses it. */
    uint64_t *resolved;
    uint8_t *is_resolved;
    struct lpm_module *records;      /* the bound module's plugin records, read when needed */
    const struct lpm_func **by_addr; /* records->funcs by address */
};

/* Open the process and read its modules and patch state (exit codes: 0 ok,
 * 2 no such process, 3 no access). */
int lpa_target_open(struct lpa_target *t, pid_t pid, char *err);
void lpa_target_close(struct lpa_target *t);

/* Find the module for `p` and place its functions.  0 applicable, 1 not
 * (already applied, wrong build, code differs: err says why). */
int lpa_target_bind(struct lpa_target *t, const struct lp_patch *p, char **allow, size_t nallow,
                    char *err);

/* Read the bound module's plugin records into t->records once (a module
 * built without the plugin has none: an empty set).  0, or -1 with err. */
int lpa_target_records(struct lpa_target *t, char *err);

/* lp_target.resolve callback (ctx = struct lpa_target). */
int lpa_target_resolve(void *ctx, const struct lp_patch *p, const struct lp_sym *s, uint64_t *addr,
                       char *err);
/* TLS facts of the bound module for relocation. */
void lpa_target_tls(struct lpa_target *t, struct lp_target *lt);

/* The newest applied record redirecting the function at sym_addr (or, with
 * sym_addr 0, named name) in the bound module; NULL if none. */
struct lps_func *lpa_newest_redirect(struct lpa_target *t, uint64_t sym_addr, const char *name);

/* The applied patch records of the module a record or patch belongs to. */
int lpa_same_module(const struct lps_patch *a, const struct lps_patch *b);

#endif
