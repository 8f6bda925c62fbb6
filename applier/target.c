/*
 * target.c - binding a patch to a process: module by build-id (or, for a
 * stacked patch, by an applied patch's new build-id), function places and
 * old-code verification.  Symbol resolution is resolve.c; reading the
 * mapped ELF files is elfread.c.
 */
#include "target.h"
#include "elfread.h"
#include "lp_entry.h"
#include "lpmeta_read.h"

#include <assert.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

int lpa_target_open(struct lpa_target *t, pid_t pid, char *err)
{
    memset(t, 0, sizeof *t);
    t->pid = pid;
    t->memfd = -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    if (access(path, F_OK) != 0) {
        lpa_err(err, "no such process: %d", (int)pid);
        return 2;
    }
    t->memfd = lpa_mem_open(pid, err);
    if (t->memfd < 0)
        return errno == ENOENT || errno == ESRCH ? 2 : 3;
    if (lpa_maps_read(pid, &t->maps, err) != 0)
        return 2;
    if (lpa_modules(pid, &t->maps, &t->mods, &t->nmods, err) != 0)
        return 2;
    if (lpa_state_load(pid, t->memfd, &t->state, err) != 0)
        return 1;
    return 0;
}

void lpa_target_close(struct lpa_target *t)
{
    if (t->memfd >= 0)
        close(t->memfd);
    lpa_maps_free(&t->maps);
    free(t->mods);
    lpa_state_free(&t->state);
    free(t->fp);
    free(t->resolved);
    free(t->is_resolved);
    lpm_free(t->records);
    free(t->by_addr);
    memset(t, 0, sizeof *t);
    t->memfd = -1;
}

int lpa_same_module(const struct lps_patch *a, const struct lps_patch *b)
{
    return a->load_bias == b->load_bias && strcmp(a->module, b->module) == 0;
}

/* ---- Binding ---------------------------------------------------------- */

static int same_id(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    return alen == blen && alen > 0 && memcmp(a, b, alen) == 0;
}

static struct lpa_module *module_of_record(struct lpa_target *t, const struct lps_patch *r)
{
    for (size_t i = 0; i < t->nmods; i++)
        if (t->mods[i].load_bias == r->load_bias && strcmp(t->mods[i].path, r->module) == 0)
            return &t->mods[i];
    return NULL;
}

/* Newest applied record of this module redirecting sym_addr (or named). */
struct lps_func *lpa_newest_redirect(struct lpa_target *t, uint64_t sym_addr, const char *name)
{
    struct lps_func *found = NULL;
    for (struct lps_patch *r = lpa_state_next(&t->state, NULL); r;
         r = lpa_state_next(&t->state, r)) {
        if (module_of_record(t, r) != t->mod)
            continue;
        for (uint32_t i = 0; i < r->nfuncs; i++) {
            struct lps_func *f = &lpa_state_funcs(r)[i];
            if ((sym_addr && f->sym_addr == sym_addr) ||
                (!sym_addr && name && strcmp(f->name, name) == 0))
                found = f;
        }
    }
    return found;
}

static int in_list(char **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static int by_addr(const void *a, const void *b)
{
    uint64_t x = (*(const struct lpm_func *const *)a)->addr;
    uint64_t y = (*(const struct lpm_func *const *)b)->addr;
    return x < y ? -1 : x > y;
}

int lpa_target_records(struct lpa_target *t, char *err)
{
    char e[LPM_ERR_MAX];
    if (t->records)
        return 0;
    if (lpm_read(t->mod->open_path, &t->records, e) != 0)
        return lpa_err(err, "%s", e);
    size_t n = t->records->nfuncs;
    t->by_addr = malloc((n ? n : 1) * sizeof *t->by_addr);
    if (!t->by_addr) {
        lpm_free(t->records);
        t->records = NULL;
        return lpa_err(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        t->by_addr[i] = &t->records->funcs[i];
    qsort(t->by_addr, n, sizeof *t->by_addr, by_addr);
    return 0;
}

/* The record of a patchable, not excluded function `name` at link-time
 * address addr, or NULL. */
static const struct lpm_func *record_at(const struct lpa_target *t, uint64_t addr, const char *name)
{
    size_t lo = 0, hi = t->records->nfuncs;
    while (lo < hi) { /* the first record at or above addr */
        size_t mid = lo + (hi - lo) / 2;
        if (t->by_addr[mid]->addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < t->records->nfuncs && t->by_addr[lo]->addr == addr; lo++) {
        const struct lpm_func *q = t->by_addr[lo];
        if ((q->flags & LPMETA_F_PATCHABLE) && !(q->flags & LPMETA_F_EXCLUDED) &&
            strcmp(q->name, name) == 0)
            return q;
    }
    return NULL;
}

/* The bytes placing fp makes lpatch write, the pad's jump at sym - prepad
 * and the entry at sym + entry_off, lie in an instrumented function of the
 * bound module: the module's own plugin record of a patchable function of
 * that name starts at fp->sym_addr and gives the same pad and entry.
 * Nothing of the patch is trusted for it (a resealed patch passes the
 * format check with any address and pad).  0, or -1 with err. */
static int check_bounds(struct lpa_target *t, const struct lpa_fplace *fp, char *err)
{
    const struct lp_func *f = fp->f;
    if (lpa_target_records(t, err) != 0)
        return -1;
    uint64_t link = fp->sym_addr - t->mod->load_bias;
    const struct lpm_func *r = record_at(t, link, fp->name);
    if (!r)
        return lpa_err(err,
                       "%s: %s at %#llx: no instrumented function of that name starts there (the "
                       "module's livepatch records); not patched",
                       t->mod->path, fp->name, (unsigned long long)fp->sym_addr);
    if (r->prepad != f->old_prepad || r->entry_off != f->old_entry_off)
        return lpa_err(err,
                       "%s: %s: the patch claims a pad of %u bytes and the entry at +%u, the "
                       "module's records %u and +%u; not patched",
                       t->mod->path, fp->name, f->old_prepad, f->old_entry_off, r->prepad,
                       r->entry_off);
    if (r->prepad < LP_ENTRY_PAD_MIN || r->prepad > LP_ENTRY_PAD ||
        (r->entry_off != 0 && r->entry_off != LP_ENDBR64_LEN))
        return lpa_err(err,
                       "%s: %s: the module's livepatch record gives a pad of %u bytes and the "
                       "entry at +%u, not the plugin's layout; not patched",
                       t->mod->path, fp->name, r->prepad, r->entry_off);
    /* the writes: [sym - prepad, +jump) and [sym + entry_off, +2), both in
     * the recorded pad and entry */
    assert(LP_JMP_ABS_LEN <= r->prepad && r->entry_off + LP_ENTRY_LEN <= LP_ENTRY_AREA);
    return 0;
}

static int place_func(struct lpa_target *t, struct lpa_fplace *fp, char *err)
{
    const struct lp_func *f = fp->f;
    if (!t->stacked) {
        fp->sym_addr = f->old_addr + t->mod->load_bias;
    } else { /* addresses are of another build: find the function by name */
        struct lps_func *r = lpa_newest_redirect(t, 0, fp->name);
        if (r) {
            fp->sym_addr = r->sym_addr;
        } else {
            struct lpa_elf_sym s;
            lpa_elf_find_sym(t->mod->open_path, fp->name, 0, &s);
            if (s.count != 1) {
                lpa_err(err, "%s: function %s %s", t->mod->path, fp->name,
                        s.count ? "is ambiguous (several static functions)" : "not found");
                return 1;
            }
            fp->sym_addr = s.value + t->mod->load_bias;
        }
    }
    if (check_bounds(t, fp, err) != 0)
        return 1;
    if (!t->stacked && !f->old_code_hash) {
        lpa_err(err, "%s: %s: the patch has no hash of its old code (0); not patched", t->mod->path,
                fp->name);
        return 1;
    }
    fp->prev = lpa_newest_redirect(t, fp->sym_addr, NULL);
    size_t len = (size_t)f->old_prepad + f->old_size;
    uint8_t *code = malloc(len + LP_ENTRY_LEN);
    if (!code) {
        lpa_err(err, "process %d: out of memory", (int)t->pid);
        return 1;
    }
    if (lpa_mem_read(t->memfd, fp->sym_addr - f->old_prepad, code, len) != 0) {
        lpa_err(err, "process %d: cannot read %s at %#llx: %s", (int)t->pid, fp->name,
                (unsigned long long)fp->sym_addr, strerror(errno));
        free(code);
        return 1;
    }
    uint8_t *entry = code + f->old_prepad + f->old_entry_off;
    uint8_t nop[LP_ENTRY_LEN];
    lp_entry_nop(nop);
    const uint8_t *expect = fp->prev ? fp->prev->new_entry : nop;
    int rc = 0;
    if (f->old_entry_off + (unsigned)LP_ENTRY_LEN > f->old_size ||
        memcmp(entry, expect, LP_ENTRY_LEN) != 0) {
        lpa_err(err, "%s: %s at %#llx has no patchable entry (found %02x %02x)", t->mod->path,
                fp->name, (unsigned long long)fp->sym_addr, entry[0], entry[1]);
        rc = 1;
    } else if (!t->stacked) {
        lp_entry_nop(entry); /* hash the code as the file has it */
        uint64_t h = XXH3_64bits(code + f->old_prepad, f->old_size);
        if (h != f->old_code_hash) {
            lpa_err(err, "%s: code of %s in process %d differs from the patch's old build",
                    t->mod->path, fp->name, (int)t->pid);
            rc = 1;
        }
    }
    free(code);
    return rc;
}

int lpa_target_bind(struct lpa_target *t, const struct lp_patch *p, char **allow, size_t nallow,
                    char *err)
{
    const struct lp_header *h = lp_patch_header(p);
    char hex[2 * LP_BUILD_ID_MAX + 1], idhex[33];
    free(t->resolved);
    free(t->is_resolved);
    lpm_free(t->records); /* of the module bound before */
    t->records = NULL;
    free(t->by_addr);
    t->by_addr = NULL;
    t->resolved = calloc(h->nsyms + 1u, sizeof *t->resolved);
    t->is_resolved = calloc(h->nsyms + 1u, 1);
    if (!t->resolved || !t->is_resolved)
        return lpa_err(err, "out of memory");
    t->patch = p;
    t->mod = NULL;
    t->stacked = 0;
    for (struct lps_patch *r = lpa_state_next(&t->state, NULL); r; r = lpa_state_next(&t->state, r))
        if (memcmp(r->patch_id, h->patch_id, 16) == 0) {
            lp_hex(h->patch_id, 16, idhex);
            if (r->status == LPS_APPLIED)
                lpa_err(err, "patch %s is already applied to process %d", idhex, (int)t->pid);
            else
                lpa_err(err,
                        "patch %s was interrupted while %s in process %d; run 'lpatch revert %d "
                        "%.12s' first",
                        idhex, r->status == LPS_APPLYING ? "applying" : "reverting", (int)t->pid,
                        (int)t->pid, idhex);
            return 1;
        }
    for (size_t i = 0; i < t->nmods && !t->mod; i++)
        if (same_id(t->mods[i].build_id, t->mods[i].build_id_len, h->old_build_id,
                    h->old_build_id_len))
            t->mod = &t->mods[i];
    if (!t->mod) { /* stacked: on top of the newest patch of some module */
        struct lps_patch *newest = NULL;
        for (struct lps_patch *r = lpa_state_next(&t->state, NULL); r;
             r = lpa_state_next(&t->state, r))
            if (same_id(r->new_build_id, r->new_build_id_len, h->old_build_id, h->old_build_id_len))
                newest = r;
        if (newest && (t->mod = module_of_record(t, newest)))
            t->stacked = 1;
    }
    if (!t->mod) {
        lpa_err(err, "process %d maps no module with build-id %s (patch is for %s)", (int)t->pid,
                lp_hex(h->old_build_id, h->old_build_id_len, hex), lp_patch_str(p, h->module_name));
        return 1;
    }
    uint32_t n;
    const struct lp_func *f = lp_patch_funcs(p, &n);
    free(t->fp);
    t->fp = calloc(n ? n : 1, sizeof *t->fp);
    t->nfp = 0;
    if (!t->fp) {
        lpa_err(err, "out of memory");
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (f[i].flags & LP_FUNC_NEW)
            continue;
        struct lpa_fplace *fp = &t->fp[t->nfp++];
        fp->f = &f[i];
        fp->name = lp_patch_str(p, f[i].name);
        fp->allow_active = (f[i].flags & LP_FUNC_ALLOW_ACTIVE) || in_list(allow, nallow, fp->name);
        if (place_func(t, fp, err) != 0)
            return 1;
    }
    return 0;
}
