/*
 * registry.h - the on-disk registry of installed patches that `lpatch
 * install`, `remove`, `auto` and `status` share (docs/lpatch.md, "The
 * registry").  Files only: nothing here touches a process.
 *
 * Layout under the root ($LIVEPATCH_REGISTRY, default /var/lib/livepatch):
 *   .lock                       flock(2): exclusive for changes and auto
 *   KEY/                        a chain: KEY is the old build-id (hex) of the
 *                               module build its first patch applies to
 *   KEY/order                   the chain's patches in stacking order, one a
 *                               line: "ID OLD-BUILD-ID NEW-BUILD-ID MODULE"
 *   KEY/removed                 ids removed from the chain, one a line: auto
 *                               reverts them where they are still applied
 *   KEY/ID.lpatch[.sig]         the patch file as installed (and its signature)
 *   KEY/ID.manifest.json[.sig]  the manifest it came with, if any
 * `order` and `removed` are replaced atomically (lp_file_replace) after the
 * files they name are written, and before the files are unlinked: they are
 * the commit point of every change.
 */
#ifndef LPATCH_REGISTRY_H
#define LPATCH_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "liblivepatch.h"

#define LPR_ROOT_DEFAULT "/var/lib/livepatch"
#define LPR_ROOT_ENV     "LIVEPATCH_REGISTRY"
#define LPR_HEX          (2 * LP_BUILD_ID_MAX + 1)
#define LPR_PATH_MAX     4400 /* a root of up to 4096 bytes, a key, a file name */

/* One installed patch, as its chain's `order` file lists it. */
struct lpr_entry {
    char id[33];           /* patch id, 32 hex digits */
    char old_bid[LPR_HEX]; /* build-id the patch applies to (hex) */
    char new_bid[LPR_HEX]; /* build-id it leaves */
    char module[256];      /* the patch's module name, for messages */
};

struct lpr_chain {
    char key[LPR_HEX]; /* the directory's name: the base build-id */
    struct lpr_entry *v;
    size_t n;
    char (*removed)[33];
    size_t nremoved;
    int dirty; /* order or removed changed in memory */
};

struct lpr_registry {
    char root[4096];
    struct lpr_chain *chains; /* sorted by key */
    size_t n;
    int lockfd; /* -1: the root does not exist (an empty registry) */
};

/* The root: $LIVEPATCH_REGISTRY if set and not empty, else LPR_ROOT_DEFAULT. */
const char *lpr_root(void);

/* Lock (exclusive or shared) and read the registry.  create: make the root
 * (mode 0755) if missing; otherwise a missing root is an empty registry.
 * 0, or -1 with one line naming the file in err. */
int lpr_open(struct lpr_registry *r, int exclusive, int create, char *err);
void lpr_close(struct lpr_registry *r);

/* ROOT/KEY/NAME into buf (LPR_PATH_MAX bytes); NAME is e.g. "ID.lpatch".
 * An id given, NAME is a suffix: ROOT/KEY/ID.NAME. */
char *lpr_path(const struct lpr_registry *r, const struct lpr_chain *c, const char *name,
               char *buf);
char *lpr_file(const struct lpr_registry *r, const struct lpr_chain *c, const char *id,
               const char *suffix, char *buf);

/* The chain and index of an installed patch by its id or a unique id prefix
 * (at least 4 hex digits).  0 found, 1 none, -1 ambiguous (err says so). */
int lpr_find(const struct lpr_registry *r, const char *prefix, size_t *chain, size_t *idx,
             char *err);

/* Whether id was removed from some chain (and is not installed again). */
int lpr_is_removed(const struct lpr_registry *r, const char *id);

/* The patches a module of build-id bid (hex) takes: chain *chain from
 * index *start on (the chain's base build: 0; the build a patch of it
 * leaves: the one after it).  0, or 1 when no chain has that build. */
int lpr_for_build(const struct lpr_registry *r, const char *bid, size_t *chain, size_t *start);

/* Where e goes (no change made).  force: a patch for a build of a module
 * whose patches are installed as another chain starts its own chain.
 * Returns 0 with *chain the existing chain it joins (or r->n: a new chain
 * keyed by its old build-id); 1 when it is installed already (*chain, *idx
 * where); -1 when it does not stack, with why in err. */
int lpr_place(const struct lpr_registry *r, const struct lpr_entry *e, int force, size_t *chain,
              size_t *idx, char *err);

/* Append e to chain in memory (r->n: a new chain keyed by e->old_bid);
 * returns the chain's index.  Nothing is written: lpr_write_files, then
 * lpr_commit. */
size_t lpr_stage(struct lpr_registry *r, size_t chain, const struct lpr_entry *e);

/* Write the files of staged entry id into chain (its directory made when
 * new): the patch's bytes, and the optional signature and manifest (with
 * its signature), each NULL when absent (an older one is removed).  0, or
 * -1 with err. */
struct lpr_blob {
    const void *data;
    size_t len;
};
int lpr_write_files(const struct lpr_registry *r, size_t chain, const char *id,
                    const struct lpr_blob *patch, const struct lpr_blob *sig,
                    const struct lpr_blob *manifest, const struct lpr_blob *manifest_sig,
                    char *err);

/* Take entry idx out of chain (recorded as removed); its files go at
 * lpr_commit, after the order file.  The later entries of the chain that
 * stack on it (directly or through each other) are marked in dep[] (n
 * entries of the chain, caller's array), so the caller can refuse or
 * remove them too. */
void lpr_dependents(const struct lpr_chain *c, size_t idx, unsigned char *dep);
void lpr_remove(struct lpr_registry *r, size_t chain, size_t idx);

/* Write the order and removed files of every changed chain, then unlink the
 * files of removed patches.  0, or -1 with err. */
int lpr_commit(struct lpr_registry *r, char *err);

#endif
