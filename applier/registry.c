/*
 * registry.c - the on-disk registry of installed patches (layout and rules:
 * registry.h).  It reads the chains' order and removed files, decides where
 * a new patch goes (it must stack onto its chain), and writes the files with
 * lp_file_replace, the order file last: a crash leaves either the old
 * registry or the new one, at worst with an unlisted file beside it.  No
 * process is touched here, and no patch is parsed: the entries carry the
 * ids and build-ids the order file records.
 */
#include "registry.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"  /* grow_list */
#include "proc.h" /* lpa_err */

const char *lpr_root(void)
{
    const char *e = getenv(LPR_ROOT_ENV);
    return e && *e ? e : LPR_ROOT_DEFAULT;
}

static int is_hex(const char *s, size_t min, size_t max)
{
    size_t n = strspn(s, "0123456789abcdef");
    return s[n] == '\0' && n >= min && n <= max;
}

char *lpr_path(const struct lpr_registry *r, const struct lpr_chain *c, const char *name, char *buf)
{
    snprintf(buf, LPR_PATH_MAX, "%s/%s/%s", r->root, c->key, name);
    return buf;
}

char *lpr_file(const struct lpr_registry *r, const struct lpr_chain *c, const char *id,
               const char *suffix, char *buf)
{
    snprintf(buf, LPR_PATH_MAX, "%s/%s/%s%s", r->root, c->key, id, suffix);
    return buf;
}

/* n elements of size bytes: grow_list (cli.h), which ends lpatch when memory
 * runs out, before any process is touched. */
static void *grow(void *p, size_t n, size_t size)
{
    return grow_list(p, n * size);
}

/* ---- reading ---------------------------------------------------------- */

/* One line of an order file into e; 0 or -1. */
static int parse_entry(char *line, struct lpr_entry *e)
{
    char *save, *id = strtok_r(line, " ", &save), *ob = strtok_r(NULL, " ", &save),
                *nb = strtok_r(NULL, " ", &save), *mod = strtok_r(NULL, "", &save);
    if (!id || !ob || !nb || !mod || !is_hex(id, 32, 32) || !is_hex(ob, 2, LPR_HEX - 1) ||
        !is_hex(nb, 2, LPR_HEX - 1) || strlen(mod) >= sizeof e->module)
        return -1;
    memcpy(e->id, id, strlen(id) + 1); /* every length checked above */
    memcpy(e->old_bid, ob, strlen(ob) + 1);
    memcpy(e->new_bid, nb, strlen(nb) + 1);
    memcpy(e->module, mod, strlen(mod) + 1);
    return 0;
}

/* Read ROOT/KEY/NAME line by line into c (order: entries; removed: ids).
 * A missing file is empty. */
static int read_list(const struct lpr_registry *r, struct lpr_chain *c, const char *name, char *err)
{
    char path[LPR_PATH_MAX], line[1024];
    FILE *f = fopen(lpr_path(r, c, name, path), "re");
    if (!f)
        return errno == ENOENT ? 0 : lpa_err(err, "%s: cannot read: %s", path, strerror(errno));
    int rc = 0, lineno = 0, order = !strcmp(name, "order");
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strcspn(line, "\n");
        line[len] = '\0';
        struct lpr_entry e;
        if (!line[0] || line[0] == '#')
            continue;
        if (order && parse_entry(line, &e) == 0) {
            struct lpr_entry *v = grow(c->v, c->n + 1, sizeof *v);
            v[c->n++] = e;
            c->v = v;
        } else if (order) {
            rc = lpa_err(err, "%s:%d: not 'ID OLD-BUILD-ID NEW-BUILD-ID MODULE'", path, lineno);
        } else if (is_hex(line, 32, 32)) {
            char(*v)[33] = grow(c->removed, c->nremoved + 1, sizeof *v);
            memcpy(v[c->nremoved++], line, 33); /* 32 hex digits and NUL */
            c->removed = v;
        } else {
            rc = lpa_err(err, "%s:%d: not a patch id", path, lineno);
        }
    }
    fclose(f);
    return rc;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct lpr_chain *)a)->key, ((const struct lpr_chain *)b)->key);
}

static int make_root(const char *root, char *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", root);
    for (char *p = path + 1;; p++) { /* mkdir -p */
        int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return lpa_err(err, "%s: cannot create: %s", path, strerror(errno));
            if (end)
                break;
            *p = '/';
        }
    }
    return 0;
}

int lpr_open(struct lpr_registry *r, int exclusive, int create, char *err)
{
    memset(r, 0, sizeof *r);
    r->lockfd = -1;
    if (snprintf(r->root, sizeof r->root, "%s", lpr_root()) >= (int)sizeof r->root)
        return lpa_err(err, "%s: registry path too long", lpr_root());
    if (create && make_root(r->root, err) != 0)
        return -1;
    char path[LPR_PATH_MAX];
    snprintf(path, sizeof path, "%s/.lock", r->root);
    r->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (r->lockfd < 0 && !create && errno == ENOENT)
        return 0; /* no registry yet: nothing installed */
    if (r->lockfd < 0 && errno == EACCES && !exclusive)
        r->lockfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (r->lockfd < 0)
        return lpa_err(err, "%s: cannot open: %s", path, strerror(errno));
    if (flock(r->lockfd, exclusive ? LOCK_EX : LOCK_SH) != 0)
        return lpa_err(err, "%s: cannot lock: %s", path, strerror(errno));
    DIR *d = opendir(r->root);
    if (!d)
        return lpa_err(err, "%s: cannot read: %s", r->root, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!is_hex(de->d_name, 2, LPR_HEX - 1))
            continue; /* ".", "..", ".lock", anything not a chain */
        r->chains = grow(r->chains, r->n + 1, sizeof *r->chains);
        struct lpr_chain *c = &r->chains[r->n++];
        memset(c, 0, sizeof *c);
        memcpy(c->key, de->d_name, strlen(de->d_name) + 1); /* is_hex: fits */
        rc = read_list(r, c, "order", err);
        if (rc == 0)
            rc = read_list(r, c, "removed", err);
    }
    closedir(d);
    if (r->n)
        qsort(r->chains, r->n, sizeof *r->chains, by_key);
    return rc;
}

void lpr_close(struct lpr_registry *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->chains[i].v);
        free(r->chains[i].removed);
    }
    free(r->chains);
    if (r->lockfd >= 0)
        close(r->lockfd); /* releases the lock */
    memset(r, 0, sizeof *r);
    r->lockfd = -1;
}

/* ---- queries ---------------------------------------------------------- */

int lpr_find(const struct lpr_registry *r, const char *prefix, size_t *chain, size_t *idx,
             char *err)
{
    size_t len = strlen(prefix), found = 0;
    assert(len >= 4);
    for (size_t i = 0; i < r->n; i++)
        for (size_t k = 0; k < r->chains[i].n; k++)
            if (!strncmp(r->chains[i].v[k].id, prefix, len)) {
                if (found++) {
                    lpa_err(err, "patch id %s is ambiguous: %s and %s are installed", prefix,
                            r->chains[*chain].v[*idx].id, r->chains[i].v[k].id);
                    return -1;
                }
                *chain = i;
                *idx = k;
            }
    return found ? 0 : 1;
}

int lpr_is_removed(const struct lpr_registry *r, const char *id)
{
    size_t c, k;
    char err[LP_ERR_MAX];
    if (lpr_find(r, id, &c, &k, err) == 0)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < r->chains[i].nremoved; j++)
            if (!strcmp(r->chains[i].removed[j], id))
                return 1;
    return 0;
}

int lpr_for_build(const struct lpr_registry *r, const char *bid, size_t *chain, size_t *start)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->chains[i].key, bid)) {
            *chain = i;
            *start = 0;
            return 0;
        }
    for (size_t i = 0; i < r->n; i++)
        for (size_t k = r->chains[i].n; k-- > 0;)
            if (!strcmp(r->chains[i].v[k].new_bid, bid)) {
                *chain = i;
                *start = k + 1;
                return 0;
            }
    return 1;
}

/* The build-id the chain's newest patch leaves (its key when empty). */
static const char *tip(const struct lpr_chain *c)
{
    return c->n ? c->v[c->n - 1].new_bid : c->key;
}

int lpr_place(const struct lpr_registry *r, const struct lpr_entry *e, int force, size_t *chain,
              size_t *idx, char *err)
{
    if (lpr_find(r, e->id, chain, idx, err) == 0)
        return 1;
    for (size_t i = 0; i < r->n; i++) /* stacked onto the newest patch */
        if (r->chains[i].n && !strcmp(tip(&r->chains[i]), e->old_bid)) {
            *chain = i;
            return 0;
        }
    for (size_t i = 0; i < r->n; i++) /* another patch for the base build */
        if (!strcmp(r->chains[i].key, e->old_bid)) {
            *chain = i;
            return 0;
        }
    for (size_t i = 0; i < r->n; i++) /* onto a build later patches replaced */
        for (size_t k = 0; k + 1 < r->chains[i].n; k++)
            if (!strcmp(r->chains[i].v[k].new_bid, e->old_bid)) {
                lpa_err(err,
                        "does not stack: its old build %.12s is the one patch %.12s leaves, but "
                        "%.12s is installed on top of that; a patch for the chain's newest build "
                        "%.12s would stack",
                        e->old_bid, r->chains[i].v[k].id, r->chains[i].v[k + 1].id,
                        tip(&r->chains[i]));
                return -1;
            }
    for (size_t i = 0; i < r->n && !force; i++) /* another build of a patched module */
        for (size_t k = 0; k < r->chains[i].n; k++)
            if (!strcmp(r->chains[i].v[k].module, e->module)) {
                lpa_err(err,
                        "does not stack onto the installed patches of %s: its old build %.12s "
                        "is neither their base build %.12s nor their newest build %.12s "
                        "(--force starts a separate chain for build %.12s)",
                        e->module, e->old_bid, r->chains[i].key, tip(&r->chains[i]), e->old_bid);
                return -1;
            }
    *chain = r->n;
    return 0;
}

void lpr_dependents(const struct lpr_chain *c, size_t idx, unsigned char *dep)
{
    assert(idx < c->n);
    memset(dep, 0, c->n);
    for (size_t k = idx + 1; k < c->n; k++) {
        if (!strcmp(c->v[k].old_bid, c->key))
            continue; /* on the base build: independent */
        for (size_t j = idx; j < k && !dep[k]; j++)
            dep[k] = (j == idx || dep[j]) && !strcmp(c->v[k].old_bid, c->v[j].new_bid);
    }
}

/* ---- changes ---------------------------------------------------------- */

static int write_blob(const struct lpr_registry *r, const struct lpr_chain *c, const char *id,
                      const char *suffix, const struct lpr_blob *b, char *err)
{
    char path[LPR_PATH_MAX];
    lpr_file(r, c, id, suffix, path);
    if (!b) {
        if (unlink(path) != 0 && errno != ENOENT)
            return lpa_err(err, "%s: cannot remove: %s", path, strerror(errno));
        return 0;
    }
    return lp_file_replace(path, b->data, b->len, err);
}

size_t lpr_stage(struct lpr_registry *r, size_t chain, const struct lpr_entry *e)
{
    assert(chain <= r->n);
    if (chain == r->n) {
        r->chains = grow(r->chains, r->n + 1, sizeof *r->chains);
        struct lpr_chain *c = &r->chains[r->n++];
        memset(c, 0, sizeof *c);
        snprintf(c->key, sizeof c->key, "%s", e->old_bid);
    }
    struct lpr_chain *c = &r->chains[chain];
    struct lpr_entry *v = grow(c->v, c->n + 1, sizeof *v);
    v[c->n++] = *e;
    c->v = v;
    for (size_t j = 0; j < c->nremoved; j++) /* installed again */
        if (!strcmp(c->removed[j], e->id)) {
            c->nremoved--;
            memmove(&c->removed[j], &c->removed[j + 1], (c->nremoved - j) * sizeof *c->removed);
            break;
        }
    c->dirty = 1;
    return chain;
}

int lpr_write_files(const struct lpr_registry *r, size_t chain, const char *id,
                    const struct lpr_blob *patch, const struct lpr_blob *sig,
                    const struct lpr_blob *manifest, const struct lpr_blob *manifest_sig, char *err)
{
    assert(chain < r->n && patch);
    const struct lpr_chain *c = &r->chains[chain];
    char dir[LPR_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", r->root, c->key);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return lpa_err(err, "%s: cannot create: %s", dir, strerror(errno));
    if (write_blob(r, c, id, ".lpatch", patch, err) ||
        write_blob(r, c, id, ".lpatch.sig", sig, err) ||
        write_blob(r, c, id, ".manifest.json", manifest, err) ||
        write_blob(r, c, id, ".manifest.json.sig", manifest_sig, err))
        return -1;
    return 0;
}

void lpr_remove(struct lpr_registry *r, size_t chain, size_t idx)
{
    assert(chain < r->n && idx < r->chains[chain].n);
    struct lpr_chain *c = &r->chains[chain];
    c->removed = grow(c->removed, c->nremoved + 1, sizeof *c->removed);
    snprintf(c->removed[c->nremoved++], 33, "%s", c->v[idx].id);
    memmove(&c->v[idx], &c->v[idx + 1], (c->n - idx - 1) * sizeof *c->v);
    c->n--;
    c->dirty = 1;
}

/* The text of chain c's order or removed file (malloc'd). */
static char *list_text(const struct lpr_chain *c, int order, size_t *len)
{
    size_t n = order ? c->n : c->nremoved, cap = 64 + n * (33 + 2 * LPR_HEX + 260);
    char *s = malloc(cap);
    if (!s) {
        fputs("lpatch: out of memory\n", stderr);
        exit(2);
    }
    size_t at =
        (size_t)snprintf(s, cap, "%s",
                         order ? "# ID OLD-BUILD-ID NEW-BUILD-ID MODULE, in stacking order\n"
                               : "# patches removed: lpatch auto reverts them\n");
    for (size_t k = 0; k < n; k++) {
        if (order)
            at += (size_t)snprintf(s + at, cap - at, "%s %s %s %s\n", c->v[k].id, c->v[k].old_bid,
                                   c->v[k].new_bid, c->v[k].module);
        else
            at += (size_t)snprintf(s + at, cap - at, "%s\n", c->removed[k]);
        assert(at < cap);
    }
    *len = at;
    return s;
}

int lpr_commit(struct lpr_registry *r, char *err)
{
    for (size_t i = 0; i < r->n; i++) {
        struct lpr_chain *c = &r->chains[i];
        if (!c->dirty)
            continue;
        char path[LPR_PATH_MAX];
        for (int order = 1; order >= 0; order--) {
            size_t len;
            char *text = list_text(c, order, &len);
            int rc =
                lp_file_replace(lpr_path(r, c, order ? "order" : "removed", path), text, len, err);
            free(text);
            if (rc)
                return -1;
        }
        for (size_t j = 0; j < c->nremoved; j++) {
            static const char *const suffix[] = {".lpatch", ".lpatch.sig", ".manifest.json",
                                                 ".manifest.json.sig"};
            for (size_t s = 0; s < sizeof suffix / sizeof *suffix; s++)
                if (write_blob(r, c, c->removed[j], suffix[s], NULL, err))
                    return -1;
        }
        c->dirty = 0;
    }
    return 0;
}
