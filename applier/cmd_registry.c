/*
 * cmd_registry.c - lpatch's commands that change the registry of installed
 * patches (registry.h): `install` (patch files, or a `make livepatch`
 * manifest and the patches it lists, in order) and `remove` (one patch, or
 * with --force the later ones stacked on it too).  Neither touches a
 * process: `lpatch auto` (cmd_auto.c) brings the processes in line.  Every
 * patch is checked (signature policy, format, where it stacks) before
 * anything is written, so a refused install leaves the registry as it was.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "cli.h"
#include "liblivepatch.h"
#include "registry.h"

/* A file read whole, or absent (data NULL). */
static int read_optional(const char *path, struct lpr_blob *b, char *err)
{
    b->data = NULL;
    b->len = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    uint8_t *buf;
    if (lpsign_read_file(path, &buf, &b->len, err) != 0)
        return -1;
    b->data = buf;
    return 0;
}

/* ---- install ---------------------------------------------------------- */

struct manifest {
    char path[4096];
    struct lpr_blob bytes, sig;
};

struct staged {
    char path[4096];
    struct lpa_bytes bytes;
    struct lpr_blob sig;
    const struct manifest *m; /* NULL: installed as a file */
    const char *want_id;      /* the manifest's "id" for it, if any */
    struct lpr_entry e;
    size_t chain;
    int already;
};

struct install {
    struct staged *v;
    size_t n;
    struct manifest **m;
    size_t nm;
};

static struct staged *add_staged(struct install *in, const char *path, const struct manifest *m)
{
    in->v = grow_list(in->v, (in->n + 1) * sizeof *in->v);
    struct staged *s = &in->v[in->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->m = m;
    return s;
}

/* A manifest (livepatch_manifest 1, docs/make-livepatch.md): its signature
 * checked, then each of its patches staged in its order.  *json keeps the
 * document (the ids staged point into it). */
static int stage_manifest(struct install *in, const char *path, json_t **json)
{
    char err[LP_ERR_MAX + LPSIGN_ERR_MAX];
    struct manifest *m = calloc(1, sizeof *m);
    if (!m)
        return fail(LPA_USAGE, "out of memory");
    in->m = grow_list(in->m, (in->nm + 1) * sizeof *in->m);
    in->m[in->nm++] = m;
    snprintf(m->path, sizeof m->path, "%s", path);
    uint8_t *buf;
    if (lpsign_read_file(path, &buf, &m->bytes.len, err) != 0)
        return fail(LPA_USAGE, "install: %s", err);
    m->bytes.data = buf;
    struct lpsign_result sig;
    if (lpsign_check(buf, m->bytes.len, path, NULL, &sig, err) != 0)
        return fail(LPA_USAGE, "%s: cannot check its signature: %s", path, err);
    if (!lpsign_acceptable(&sig)) {
        char why[LPSIGN_ERR_MAX + 128];
        return fail(LPA_REFUSED, "%s: refused: %s", path, sign_refusal(&sig, why, sizeof why));
    }
    char sigpath[4200];
    snprintf(sigpath, sizeof sigpath, "%s.sig", path);
    if (read_optional(sigpath, &m->sig, err) != 0)
        return fail(LPA_USAGE, "install: %s", err);
    json_error_t je;
    *json = json_loadb((const char *)buf, m->bytes.len, 0, &je);
    if (!*json)
        return fail(LPA_USAGE, "%s:%d: not JSON: %s", path, je.line, je.text);
    json_t *ver = json_object_get(*json, "livepatch_manifest");
    json_t *patches = json_object_get(*json, "patches");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1 || !json_is_array(patches))
        return fail(LPA_USAGE,
                    "%s: not a livepatch manifest (needs \"livepatch_manifest\": 1 and "
                    "\"patches\": [...])",
                    path);
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 1;
    const char *dir = slash ? path : ".";
    size_t i;
    json_t *p;
    json_array_foreach(patches, i, p)
    {
        const char *file = json_string_value(json_object_get(p, "file"));
        if (!file || !*file || file[0] == '/')
            return fail(LPA_USAGE, "%s: patches[%zu]: \"file\" is not a relative path", path, i);
        char fp[4096];
        snprintf(fp, sizeof fp, "%.*s/%s", dirlen, dir, file);
        add_staged(in, fp, m)->want_id = json_string_value(json_object_get(p, "id"));
    }
    if (!json_array_size(patches))
        printf("%s: lists no patches\n", path);
    return 0;
}

/* Load one staged patch (signature policy, format) and fill its entry. */
static int load_staged(struct staged *s)
{
    char why[LOAD_WHY_MAX], sigpath[4200];
    struct lp_patch *p;
    struct lpsign_result sig;
    int rc = load_patch_quiet(s->path, &p, &s->bytes, &sig, 1, why);
    if (rc)
        return fail(rc, "%s", why);
    const struct lp_header *h = lp_patch_header(p);
    lp_hex(h->patch_id, 16, s->e.id);
    lp_hex(h->old_build_id, h->old_build_id_len, s->e.old_bid);
    lp_hex(h->new_build_id, h->new_build_id_len, s->e.new_bid);
    const char *mod = lp_patch_str(p, h->module_name);
    snprintf(s->e.module, sizeof s->e.module, "%s", *mod ? mod : "-");
    for (char *c = s->e.module; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = '?'; /* one line of the order file */
    int no_old = !h->old_build_id_len;
    lp_patch_free(p);
    if (s->want_id && strcmp(s->want_id, s->e.id) != 0)
        return fail(LPA_USAGE, "%s: patch %s, but manifest %s lists it as %s", s->path, s->e.id,
                    s->m->path, s->want_id);
    if (no_old)
        return fail(LPA_USAGE, "%s: the patch names no old build-id", s->path);
    snprintf(sigpath, sizeof sigpath, "%s.sig", s->path);
    if (read_optional(sigpath, &s->sig, why) != 0)
        return fail(LPA_USAGE, "install: %s", why);
    return 0;
}

static void json_add_str(json_t *o, const char *key, const char *s)
{
    json_object_set_new(o, key, lpcli_json_bytes(s));
}

/* Write every staged patch's files, then the order files; report. */
static int install_write(const struct cli *c, struct lpr_registry *r, struct install *in)
{
    char err[LP_ERR_MAX];
    json_t *out = json_array();
    for (size_t i = 0; i < in->n; i++) {
        struct staged *s = &in->v[i];
        const struct lpr_chain *ch = &r->chains[s->chain];
        if (!s->already) {
            struct lpr_blob patch = {s->bytes.data, s->bytes.len};
            if (lpr_write_files(r, s->chain, s->e.id, &patch, s->sig.data ? &s->sig : NULL,
                                s->m ? &s->m->bytes : NULL,
                                s->m && s->m->sig.data ? &s->m->sig : NULL, err) != 0) {
                json_decref(out);
                return fail(LPA_USAGE, "install: %s", err);
            }
        }
        size_t pos = 0;
        for (size_t k = 0; k < ch->n; k++)
            if (!strcmp(ch->v[k].id, s->e.id))
                pos = k + 1;
        json_t *o = json_object();
        json_add_str(o, "file", s->path);
        json_add_str(o, "id", s->e.id);
        json_add_str(o, "chain", ch->key);
        json_object_set_new(o, "position", json_integer((json_int_t)pos));
        json_add_str(o, "status", s->already ? "already installed" : "installed");
        json_object_set_new(o, "signed", json_boolean(s->sig.data != NULL));
        if (s->m)
            json_add_str(o, "manifest", s->m->path);
        json_array_append_new(out, o);
        if (c->json)
            continue;
        if (s->already)
            printf("%s: already installed: %.12s in %s/%s (nothing to do)\n", s->path, s->e.id,
                   r->root, ch->key);
        else
            printf("installed %.12s (%s) in %s/%s as patch %zu of the chain%s\n", s->e.id, s->path,
                   r->root, ch->key, pos,
                   pos > 1 && !strcmp(s->e.old_bid, ch->v[pos - 2].new_bid) ? ", stacked" : "");
    }
    if (lpr_commit(r, err) != 0) {
        json_decref(out);
        return fail(LPA_USAGE, "install: %s", err);
    }
    if (c->json) {
        json_t *doc = json_object();
        json_add_str(doc, "registry", r->root);
        json_object_set_new(doc, "patches", out);
        json_dumpf(doc, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(doc);
    } else {
        json_decref(out);
    }
    return 0;
}

int cmd_install(struct cli *c)
{
    if (c->nargs < 1)
        return fail(LPA_USAGE, "install: expected PATCH, MANIFEST or DIR...");
    struct install in = {0};
    json_t **docs = calloc((size_t)c->nargs, sizeof *docs);
    if (!docs)
        return fail(LPA_USAGE, "out of memory");
    int rc = 0;
    for (int i = 0; i < c->nargs && !rc; i++) {
        const char *a = c->args[i];
        struct stat st;
        size_t len = strlen(a);
        char path[4096];
        if (stat(a, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(path, sizeof path, "%s/manifest.json", a);
            rc = stage_manifest(&in, path, &docs[i]);
        } else if (len > 5 && !strcmp(a + len - 5, ".json")) {
            rc = stage_manifest(&in, a, &docs[i]);
        } else {
            add_staged(&in, a, NULL);
        }
    }
    for (size_t i = 0; i < in.n && !rc; i++)
        rc = load_staged(&in.v[i]);
    struct lpr_registry r;
    char err[LP_ERR_MAX];
    if (!rc && lpr_open(&r, 1, 1, err) != 0)
        rc = fail(LPA_USAGE, "install: %s", err);
    else if (!rc) {
        for (size_t i = 0; i < in.n && !rc; i++) {
            struct staged *s = &in.v[i];
            size_t idx;
            int where = lpr_place(&r, &s->e, c->force, &s->chain, &idx, err);
            if (where < 0)
                rc = fail(LPA_REFUSED, "install %s: patch %.12s %s", s->path, s->e.id, err);
            else if (where == 1)
                s->already = 1;
            else
                s->chain = lpr_stage(&r, s->chain, &s->e);
        }
        if (!rc)
            rc = install_write(c, &r, &in);
        lpr_close(&r);
    }
    for (size_t i = 0; i < in.n; i++) {
        free(in.v[i].bytes.data);
        free((void *)in.v[i].sig.data);
    }
    for (size_t i = 0; i < in.nm; i++) {
        free((void *)in.m[i]->bytes.data);
        free((void *)in.m[i]->sig.data);
        free(in.m[i]);
    }
    for (int i = 0; i < c->nargs; i++)
        json_decref(docs[i]);
    free(docs);
    free(in.v);
    free(in.m);
    return rc;
}

/* ---- remove ----------------------------------------------------------- */

/* The patch id an operand names: a patch file's id, or a hex prefix. */
static int operand_id(const char *a, char id[33])
{
    size_t len = strlen(a);
    if (len >= 4 && len <= 32 && strspn(a, "0123456789abcdef") == len) {
        memcpy(id, a, len + 1);
        return 0;
    }
    struct lp_patch *p;
    char err[LP_ERR_MAX];
    if (access(a, F_OK) != 0)
        return fail(LPA_USAGE, "remove: '%s' is neither a patch id (4 to 32 hex digits) nor a file",
                    a);
    if (lp_patch_load(a, &p, err) != 0)
        return fail(LPA_USAGE, "remove: %s", err);
    lp_hex(lp_patch_header(p)->patch_id, 16, id);
    lp_patch_free(p);
    return 0;
}

int cmd_remove(struct cli *c)
{
    if (c->nargs < 1)
        return fail(LPA_USAGE, "remove: expected PATCH-ID or PATCH...");
    char(*ids)[33] = grow_list(NULL, (size_t)c->nargs * sizeof *ids);
    int rc = 0;
    for (int i = 0; i < c->nargs && !rc; i++)
        rc = operand_id(c->args[i], ids[i]);
    struct lpr_registry r;
    char err[LP_ERR_MAX];
    if (!rc && lpr_open(&r, 1, 0, err) != 0) {
        rc = fail(LPA_USAGE, "remove: %s", err);
        lpr_close(&r);
    } else if (!rc) {
        json_t *out = json_array();
        int removed = 0;
        for (int i = 0; i < c->nargs && !rc; i++) {
            size_t ch, idx;
            int found = lpr_find(&r, ids[i], &ch, &idx, err);
            if (found < 0) {
                rc = fail(LPA_USAGE, "remove: %s", err);
                break;
            }
            if (found > 0) {
                json_t *o = json_object();
                json_add_str(o, "id", ids[i]);
                json_add_str(o, "status", "not installed");
                json_array_append_new(out, o);
                if (!c->json)
                    printf("%s: not installed in %s (nothing to remove)\n", c->args[i], r.root);
                continue;
            }
            struct lpr_chain *chain = &r.chains[ch];
            unsigned char *dep = grow_list(NULL, chain->n);
            lpr_dependents(chain, idx, dep);
            size_t ndep = 0, first = 0;
            for (size_t k = 0; k < chain->n; k++)
                if (dep[k] && !ndep++)
                    first = k;
            if (ndep && !c->force) {
                rc = fail(LPA_REFUSED,
                          "remove %.12s: patch %.12s, installed later, stacks on it; remove it "
                          "first, or use --force to remove %s too",
                          chain->v[idx].id, chain->v[first].id, ndep > 1 ? "them" : "it");
                free(dep);
                break;
            }
            dep[idx] = 1;
            for (size_t k = chain->n; k-- > 0;) /* newest first: indices stay valid */
                if (dep[k]) {
                    json_t *o = json_object();
                    json_add_str(o, "id", chain->v[k].id);
                    json_add_str(o, "chain", chain->key);
                    json_add_str(o, "status", "removed");
                    json_array_append_new(out, o);
                    if (!c->json)
                        printf("removed %.12s from %s/%s%s\n", chain->v[k].id, r.root, chain->key,
                               k != idx ? " (it stacked on the patch removed)" : "");
                    lpr_remove(&r, ch, k);
                    removed++;
                }
            free(dep);
        }
        if (!rc && lpr_commit(&r, err) != 0)
            rc = fail(LPA_USAGE, "remove: %s", err);
        if (!rc && c->json) {
            json_t *doc = json_object();
            json_add_str(doc, "registry", r.root);
            json_object_set_new(doc, "patches", out);
            json_dumpf(doc, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(doc);
        } else {
            json_decref(out);
        }
        if (!rc && !c->json && removed)
            printf("run 'lpatch auto' to revert %s in the running processes\n",
                   removed > 1 ? "them" : "it");
        lpr_close(&r);
    }
    free(ids);
    return rc;
}
