/*
 * cmd_apply.c - lpatch's two transactions on running processes: `apply`
 * (patches, in order, to one process or to every process mapping a module,
 * found by GNU build-id) and `revert` (the newest patch, or one named by an
 * id prefix).  The work is lpa_apply()/lpa_revert() (apply.c); this file
 * checks the operands, finds the processes and reports, as text or JSON,
 * with the pause's parts under --stats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "cli.h"
#include "liblivepatch.h"
#include "elfread.h"
#include "proc.h"
#include "stop.h"
#include "target.h"

/* ---- apply ------------------------------------------------------------ */

static void print_stats(const struct cli *c, const struct lpa_stats *s)
{
    if (c->json) {
        printf(",\"stats\":{\"pause_us\":%.1f,\"stop_us\":%.1f,\"check_us\":%.1f,"
               "\"write_us\":%.1f,\"resume_us\":%.1f,\"prep_us\":%.1f,\"threads\":%zu,"
               "\"tries\":%d,\"stepped\":%u,\"emulated\":%u,\"emulated_insns\":%u}",
               s->pause_ns / 1e3, s->stop_ns / 1e3, s->check_ns / 1e3, s->write_ns / 1e3,
               s->resume_ns / 1e3, s->prep_ns / 1e3, s->threads, s->tries, s->stepped, s->emulated,
               s->emulated_insns);
    } else {
        printf("  pause %.1f us (stop %.1f incl. check %.1f, write %.1f, resume %.1f); "
               "%zu thread(s), %d tr%s; prepare %.1f us\n",
               s->pause_ns / 1e3, s->stop_ns / 1e3, s->check_ns / 1e3, s->write_ns / 1e3,
               s->resume_ns / 1e3, s->threads, s->tries, s->tries == 1 ? "y" : "ies",
               s->prep_ns / 1e3);
        if (s->stepped || s->emulated)
            printf("  threads in replaced code: %u single-stepped, %u run out by lpatch (%u "
                   "instructions)\n",
                   s->stepped, s->emulated, s->emulated_insns);
    }
}

static int apply_to(const struct cli *c, pid_t pid, struct lp_patch **ps, char **paths, int n)
{
    int worst = 0;
    for (int i = 0; i < n; i++) {
        char err[LP_ERR_MAX] = "", id[33], comm[32];
        struct lpa_stats st;
        uint64_t t0 = lpa_now_ns();
        int rc = lpa_apply(pid, ps[i], paths[i], &c->o, &st, err);
        double total_us = (lpa_now_ns() - t0) / 1e3;
        lp_hex(lp_patch_header(ps[i])->patch_id, 16, id);
        lpa_comm(pid, comm, sizeof comm);
        uint32_t nf;
        lp_patch_funcs(ps[i], &nf);
        if (c->json) {
            printf("{\"pid\":%d,\"patch\":\"%s\",\"file\":", (int)pid, id);
            lpcli_json_print(stdout, paths[i]);
            printf(",\"status\":\"%s\"", rc ? "failed" : "applied");
            if (rc) {
                printf(",\"exit\":%d,\"error\":", rc);
                lpcli_json_print(stdout, err);
            }
            printf(",\"total_us\":%.1f", total_us);
            if (!rc)
                print_stats(c, &st);
            printf("}\n");
        } else if (!rc) {
            printf("applied %.12s (%s, %u function%s) to process %d (%s)\n", id, paths[i], nf,
                   nf == 1 ? "" : "s", (int)pid, comm);
            if (c->stats) {
                print_stats(c, &st);
                printf("  whole command %.1f us\n", total_us);
            }
        }
        if (rc && !c->json)
            fail(rc, "apply %s to process %d: %s", paths[i], (int)pid, err);
        if (rc > worst)
            worst = rc;
        if (rc)
            break; /* later patches may build on this one */
    }
    return worst;
}

struct scan {
    const uint8_t (*ids)[LPA_BUILD_ID_MAX];
    const uint32_t *lens;
    size_t nids;
    const struct lp_patch *stacked; /* instead: processes this patch binds to as stacked */
    pid_t *out;
    size_t n;
};

/* Whether pid maps a module with one of the build-ids. */
static int maps_one_of(pid_t pid, const struct scan *q)
{
    struct lpa_maps m;
    struct lpa_module *mods;
    size_t nm;
    char err[LP_ERR_MAX];
    if (lpa_maps_read(pid, &m, err) != 0)
        return 0;
    int match = 0;
    if (lpa_modules(pid, &m, &mods, &nm, err) == 0) {
        for (size_t i = 0; i < nm && !match; i++)
            for (size_t j = 0; j < q->nids && !match; j++)
                match = mods[i].build_id_len == q->lens[j] &&
                        memcmp(mods[i].build_id, q->ids[j], q->lens[j]) == 0;
        free(mods);
    }
    lpa_maps_free(&m);
    return match;
}

/* Whether q->stacked binds to pid through an applied patch's new build-id. */
static int binds_stacked(pid_t pid, const struct scan *q)
{
    struct lpa_target t;
    char err[LP_ERR_MAX];
    int yes = lpa_target_open(&t, pid, err) == 0 &&
              lpa_target_bind(&t, q->stacked, NULL, 0, err) == 0 && t.stacked;
    lpa_target_close(&t);
    return yes;
}

static int scan_one(pid_t pid, void *ctx)
{
    struct scan *q = ctx;
    if (q->stacked ? binds_stacked(pid, q) : maps_one_of(pid, q)) {
        q->out = grow_list(q->out, (q->n + 1) * sizeof *q->out);
        q->out[q->n++] = pid;
    }
    return 0;
}

/* Processes mapping a module with one of the build-ids; all when ids empty. */
static pid_t *processes_with(const uint8_t (*ids)[LPA_BUILD_ID_MAX], const uint32_t *lens,
                             size_t nids, size_t *n)
{
    struct scan q = {.ids = ids, .lens = lens, .nids = nids};
    lpa_each_process(scan_one, &q);
    *n = q.n;
    return q.out;
}

/* Processes p binds to as a stacked patch (their patches reached its old build). */
static pid_t *processes_stacked(const struct lp_patch *p, size_t *n)
{
    struct scan q = {.stacked = p};
    lpa_each_process(scan_one, &q);
    *n = q.n;
    return q.out;
}

int cmd_apply(struct cli *c)
{
    int first_patch = (c->all || c->module) ? 0 : 1;
    if (c->nargs < first_patch + 1)
        return fail(LPA_USAGE, "apply: expected %s PATCH...",
                    first_patch ? "PID" : "--all or --module PATH, then");
    pid_t pid = 0;
    if (first_patch && lpa_parse_pid(c->args[0], &pid))
        return fail(LPA_USAGE, "apply: not a process id: '%s'", c->args[0]);
    int np = c->nargs - first_patch;
    struct lp_patch **ps = calloc((size_t)np, sizeof *ps);
    if (!ps)
        return fail(LPA_USAGE, "out of memory");
    int rc = 0;
    for (int i = 0; i < np && !rc; i++)
        rc = load_patch(c->args[first_patch + i], &ps[i]);
    for (size_t a = 0; a < c->o.nallow && !rc; a++) {
        int found = 0;
        for (int i = 0; i < np && !found; i++) {
            uint32_t nf;
            const struct lp_func *f = lp_patch_funcs(ps[i], &nf);
            for (uint32_t k = 0; k < nf && !found; k++)
                found = strcmp(lp_patch_str(ps[i], f[k].name), c->o.allow_active[a]) == 0;
        }
        if (!found)
            rc = fail(LPA_USAGE, "--allow-active %s: no such function in the patch",
                      c->o.allow_active[a]);
    }
    if (!rc && first_patch) {
        rc = apply_to(c, pid, ps, c->args + 1, np);
    } else if (!rc) {
        /* Every process mapping the module: by the build-id of --module PATH,
         * or of the first patch (its old build, or new build when stacked). */
        uint8_t ids[2][LPA_BUILD_ID_MAX];
        uint32_t lens[2];
        size_t nids = 0;
        if (c->module) {
            struct lpa_module m = {0};
            uint64_t v, o;
            char err[LP_ERR_MAX];
            if (lpa_elf_identify(c->module, &m, &v, &o, err) != 0 || !m.build_id_len) {
                rc = fail(LPA_USAGE, "--module %s: %s", c->module,
                          m.build_id_len || err[0] ? err : "no GNU build-id");
                goto out;
            }
            memcpy(ids[0], m.build_id, m.build_id_len);
            lens[nids++] = m.build_id_len;
        } else {
            const struct lp_header *h = lp_patch_header(ps[0]);
            memcpy(ids[nids], h->old_build_id, LPA_BUILD_ID_MAX);
            lens[nids++] = h->old_build_id_len;
        }
        size_t n;
        pid_t *pids = processes_with(ids, lens, nids, &n);
        if (!n && !c->module) { /* stacked: processes whose patches reached that build */
            free(pids);
            pids = processes_stacked(ps[0], &n);
        }
        if (!n)
            rc = fail(LPA_REFUSED, "apply: no process maps the %s",
                      c->module ? c->module : "patch's module");
        for (size_t i = 0; i < n; i++) {
            int r = apply_to(c, pids[i], ps, c->args, np);
            if (r > rc)
                rc = r;
        }
        free(pids);
    }
out:
    for (int i = 0; i < np; i++)
        lp_patch_free(ps[i]);
    free(ps);
    return rc;
}

/* ---- revert ----------------------------------------------------------- */

int cmd_revert(struct cli *c)
{
    pid_t pid;
    if (c->nargs < 1 || c->nargs > 2)
        return fail(LPA_USAGE, "revert: expected PID [PATCH-ID]");
    if (lpa_parse_pid(c->args[0], &pid))
        return fail(LPA_USAGE, "revert: not a process id: '%s'", c->args[0]);
    const char *id = c->nargs > 1 ? c->args[1] : NULL;
    if (id && (strlen(id) < 4 || strspn(id, "0123456789abcdef") != strlen(id)))
        return fail(LPA_USAGE, "revert: not a patch id (4 to 32 hex digits): '%s'", id);
    char err[LP_ERR_MAX] = "", out[33] = "";
    struct lpa_stats st;
    uint64_t t0 = lpa_now_ns();
    int rc = lpa_revert(pid, id, &c->o, &st, out, err);
    double total_us = (lpa_now_ns() - t0) / 1e3;
    if (c->json) {
        printf("{\"pid\":%d,\"patch\":\"%s\",\"status\":\"%s\"", (int)pid, out,
               rc ? "failed" : "reverted");
        if (rc) {
            printf(",\"exit\":%d,\"error\":", rc);
            lpcli_json_print(stdout, err);
        } else {
            printf(",\"image_kept\":%s", st.image_kept ? "true" : "false");
            print_stats(c, &st);
        }
        printf(",\"total_us\":%.1f}\n", total_us);
    } else if (!rc) {
        printf("reverted %.12s in process %d%s\n", out, (int)pid,
               st.image_kept ? " (its code stays mapped: a thread is still running it)" : "");
        if (c->stats) {
            print_stats(c, &st);
            printf("  whole command %.1f us\n", total_us);
        }
    }
    if (rc && !c->json)
        fail(rc, "revert in process %d: %s", (int)pid, err);
    return rc;
}
