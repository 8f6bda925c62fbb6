/*
 * cmd_auto.c - lpatch's commands that hold the running processes against
 * the registry (registry.h): `auto` brings every process that maps a module
 * with installed patches in line (reverts, newest first, the applied
 * patches that were removed; applies, in stacking order, the installed ones
 * not yet applied) and `status` says, for each such process and module,
 * which installed patch is applied, pending or refused and why, without
 * writing anything.  Both find the processes with lpa_each_process and the
 * modules by build-id (proc.h); the work is lpa_apply()/lpa_revert()
 * (apply.c), the checks are those of `lpatch check` (lpa_target_bind).
 * Every registry file is checked against the signature policy again when it
 * is loaded here: a file changed after install is refused.
 * --json: one JSON document (docs/lpatch.md, "lpatch auto", "lpatch status").
 * auto_pass is the same pass, over every process or a few, without the
 * summary: lpatchd (lpatchd.c) runs it at start, per new process and when
 * the registry changes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "cli.h"
#include "liblivepatch.h"
#include "proc.h"
#include "registry.h"
#include "state.h"
#include "target.h"

/* A registry patch loaded for this run (once, when a process needs it). */
struct loaded {
    int tried, rc; /* rc: 0, LPA_REFUSED or LPA_USAGE (why) */
    struct lp_patch *p;
    char why[LOAD_WHY_MAX];
};

/* A module of a process with a chain of installed patches. */
struct match {
    size_t mod, chain, start;
};

struct run {
    struct cli *c;
    struct lpr_registry r;
    struct loaded **cache; /* [chain][entry] */
    json_t *procs;
    int worst;
    unsigned nprocs, applied, reverted, failed, exited;
    pid_t *only; /* status PID...: just these */
    int nonly;
};

static struct loaded *get_patch(struct run *u, size_t ch, size_t k)
{
    const struct lpr_chain *c = &u->r.chains[ch];
    if (!u->cache[ch]) {
        u->cache[ch] = grow_list(NULL, c->n * sizeof **u->cache);
        memset(u->cache[ch], 0, c->n * sizeof **u->cache);
    }
    struct loaded *l = &u->cache[ch][k];
    if (l->tried)
        return l;
    l->tried = 1;
    char path[LPR_PATH_MAX], id[33];
    lpr_file(&u->r, c, c->v[k].id, ".lpatch", path);
    struct lpsign_result sig;
    l->rc = load_patch_quiet(path, &l->p, NULL, &sig, 1, l->why);
    if (!l->rc && strcmp(lp_hex(lp_patch_header(l->p)->patch_id, 16, id), c->v[k].id) != 0) {
        snprintf(l->why, sizeof l->why, "%s: refused: holds patch %s, not %s", path, id,
                 c->v[k].id);
        l->rc = LPA_REFUSED;
        lp_patch_free(l->p);
        l->p = NULL;
    }
    return l;
}

static void add_str(json_t *o, const char *key, const char *s)
{
    json_object_set_new(o, key, lpcli_json_bytes(s));
}

/* The modules of pid with a chain; *n of them (malloc'd).  NULL when none
 * or the process cannot be read. */
static struct match *matches(const struct run *u, const struct lpa_target *t, size_t *n)
{
    struct match *v = NULL;
    *n = 0;
    for (size_t i = 0; i < t->nmods; i++) {
        char bid[LPR_HEX];
        size_t ch, start;
        lp_hex(t->mods[i].build_id, t->mods[i].build_id_len, bid);
        if (lpr_for_build(&u->r, bid, &ch, &start) == 0) {
            v = grow_list(v, (*n + 1) * sizeof *v);
            v[(*n)++] = (struct match){i, ch, start};
        }
    }
    return v;
}

/* The patch records of st newest first (n of them, malloc'd). */
static struct lps_patch **newest_first(const struct lpa_state *st, size_t *n)
{
    struct lps_patch **v = NULL;
    *n = 0;
    for (struct lps_patch *p = lpa_state_next(st, NULL); p; p = lpa_state_next(st, p)) {
        v = grow_list(v, (*n + 1) * sizeof *v);
        v[(*n)++] = p;
    }
    for (size_t i = 0; i < *n / 2; i++) {
        struct lps_patch *x = v[i];
        v[i] = v[*n - 1 - i];
        v[*n - 1 - i] = x;
    }
    return v;
}

/* ---- auto ------------------------------------------------------------- */

enum { P_UNCHANGED, P_CHANGED, P_FAILED, P_EXITED };

struct proc_run {
    pid_t pid;
    char comm[32];
    json_t *actions;
    int result; /* P_* */
};

static json_t *action(struct proc_run *pr, const char *what, const char *id, const char *chain,
                      const char *status)
{
    json_t *a = json_object();
    add_str(a, "action", what);
    add_str(a, "patch", id);
    if (chain)
        add_str(a, "chain", chain);
    add_str(a, "status", status);
    json_array_append_new(pr->actions, a);
    return a;
}

/* A failed step: exited meanwhile (not a failure) or failed. */
static void step_failed(struct run *u, struct proc_run *pr, json_t *a, int rc, const char *what,
                        const char *id, const char *err)
{
    if (lpa_process_gone(pr->pid)) {
        json_object_set_new(a, "status", json_string("exited"));
        pr->result = P_EXITED;
        if (!u->c->json)
            printf("process %d (%s): exited meanwhile (not a failure)\n", (int)pr->pid, pr->comm);
        return;
    }
    add_str(a, "error", err);
    json_object_set_new(a, "exit", json_integer(rc));
    pr->result = P_FAILED;
    if (!u->c->json)
        fail(rc, "auto: process %d (%s): %s %.12s: %s", (int)pr->pid, pr->comm, what, id, err);
}

/* Revert what was removed, newest first.  0, or -1 to stop (the process
 * failed or exited). */
static int auto_reverts(struct run *u, struct proc_run *pr, const struct lpa_target *t)
{
    size_t n;
    struct lps_patch **recs = newest_first(&t->state, &n);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char id[33], out[33] = "", err[LP_ERR_MAX] = "";
        lp_hex(recs[i]->patch_id, 16, id);
        if (!lpr_is_removed(&u->r, id))
            continue;
        json_t *a = action(pr, "revert", id, NULL, u->c->dry_run ? "planned" : "done");
        if (u->c->dry_run) {
            if (!u->c->json)
                printf("process %d (%s): would revert %.12s (removed)\n", (int)pr->pid, pr->comm,
                       id);
            continue;
        }
        struct lpa_stats st;
        int r = lpa_revert(pr->pid, id, &u->c->o, &st, out, err);
        if (r) {
            step_failed(u, pr, a, r, "revert", id, err);
            rc = -1;
        } else {
            u->reverted++;
            pr->result = P_CHANGED;
            if (!u->c->json)
                printf("process %d (%s): reverted %.12s (removed from the registry)\n",
                       (int)pr->pid, pr->comm, id);
        }
    }
    free(recs);
    return rc;
}

/* Apply chain m's patches not yet applied, in order; stop the chain at the
 * first that fails.  0, or -1 when the process exited. */
static int auto_applies(struct run *u, struct proc_run *pr, const struct lpa_target *t,
                        const struct match *m)
{
    const struct lpr_chain *c = &u->r.chains[m->chain];
    for (size_t k = m->start; k < c->n; k++) {
        struct lps_patch *rec = lpa_state_find_id(&t->state, c->v[k].id);
        if (rec && rec->status == LPS_APPLIED)
            continue;
        struct loaded *l = get_patch(u, m->chain, k);
        char path[LPR_PATH_MAX];
        lpr_file(&u->r, c, c->v[k].id, ".lpatch", path);
        if (l->rc) {
            json_t *a = action(pr, "apply", c->v[k].id, c->key, "refused");
            add_str(a, "error", l->why);
            json_object_set_new(a, "exit", json_integer(l->rc));
            pr->result = P_FAILED;
            if (!u->c->json)
                fail(l->rc, "auto: process %d (%s): %s", (int)pr->pid, pr->comm, l->why);
            return 0; /* the later ones of the chain may stack on it */
        }
        json_t *a = action(pr, "apply", c->v[k].id, c->key, u->c->dry_run ? "planned" : "done");
        add_str(a, "file", path);
        if (u->c->dry_run) {
            if (!u->c->json)
                printf("process %d (%s): would apply %.12s (%s)\n", (int)pr->pid, pr->comm,
                       c->v[k].id, path);
            continue;
        }
        char err[LP_ERR_MAX] = "";
        struct lpa_stats st;
        int r = lpa_apply(pr->pid, l->p, path, &u->c->o, &st, err);
        if (r) {
            step_failed(u, pr, a, r, "apply", c->v[k].id, err);
            return pr->result == P_EXITED ? -1 : 0;
        }
        u->applied++;
        pr->result = P_CHANGED;
        if (!u->c->json)
            printf("process %d (%s): applied %.12s (%s)\n", (int)pr->pid, pr->comm, c->v[k].id,
                   path);
    }
    return 0;
}

static int auto_one(pid_t pid, void *ctx)
{
    struct run *u = ctx;
    struct lpa_target t;
    char err[LP_ERR_MAX];
    if (lpa_target_open(&t, pid, err) != 0) {
        lpa_target_close(&t);
        return 0; /* gone, a kernel thread, or not ours to read */
    }
    size_t nm;
    struct match *m = matches(u, &t, &nm);
    if (!nm) {
        lpa_target_close(&t);
        return 0;
    }
    struct proc_run pr = {.pid = pid, .actions = json_array(), .result = P_UNCHANGED};
    lpa_comm(pid, pr.comm, sizeof pr.comm);
    u->nprocs++;
    /* The plan is made from this one reading of the state; each step
     * re-reads it (lpa_apply, lpa_revert). */
    if (auto_reverts(u, &pr, &t) == 0)
        for (size_t i = 0; i < nm; i++)
            if (auto_applies(u, &pr, &t, &m[i]) != 0)
                break;
    free(m);
    lpa_target_close(&t);
    static const char *const names[] = {"unchanged", "changed", "failed", "exited"};
    if (u->c->dry_run && pr.result == P_UNCHANGED && json_array_size(pr.actions))
        pr.result = P_CHANGED;
    if (pr.result == P_FAILED) {
        u->failed++;
        u->worst = LPA_REFUSED;
    }
    u->exited += pr.result == P_EXITED;
    json_t *o = json_object();
    json_object_set_new(o, "pid", json_integer(pid));
    add_str(o, "comm", pr.comm);
    add_str(o, "result", names[pr.result]);
    json_object_set_new(o, "actions", pr.actions);
    json_array_append_new(u->procs, o);
    return 0;
}

static int open_run(struct run *u, struct cli *c, int exclusive)
{
    char err[LP_ERR_MAX];
    memset(u, 0, sizeof *u);
    u->c = c;
    if (lpr_open(&u->r, exclusive, 0, err) != 0) {
        lpr_close(&u->r);
        return fail(LPA_USAGE, "%s", err);
    }
    u->cache = grow_list(NULL, (u->r.n + 1) * sizeof *u->cache);
    memset(u->cache, 0, (u->r.n + 1) * sizeof *u->cache);
    u->procs = json_array();
    return 0;
}

static void close_run(struct run *u)
{
    for (size_t i = 0; i < u->r.n; i++) {
        for (size_t k = 0; u->cache[i] && k < u->r.chains[i].n; k++)
            lp_patch_free(u->cache[i][k].p);
        free(u->cache[i]);
    }
    free(u->cache);
    json_decref(u->procs);
    lpr_close(&u->r);
}

static void print_doc(struct run *u, json_t *doc)
{
    add_str(doc, "registry", u->r.root);
    json_object_set(doc, "processes", u->procs);
    json_dumpf(doc, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(doc);
}

int auto_pass(struct cli *c, const pid_t *pids, size_t n, struct auto_sum *sum)
{
    struct run u;
    if (open_run(&u, c, 1))
        return LPA_USAGE;
    if (pids)
        for (size_t i = 0; i < n; i++)
            auto_one(pids[i], &u);
    else
        lpa_each_process(auto_one, &u);
    if (sum)
        *sum = (struct auto_sum){u.nprocs, u.applied, u.reverted, u.failed, u.exited, u.r.n};
    int rc = u.worst;
    close_run(&u);
    return rc;
}

int cmd_auto(struct cli *c)
{
    if (c->nargs)
        return fail(LPA_USAGE, "auto: takes no operands");
    struct run u;
    if (open_run(&u, c, 1))
        return LPA_USAGE;
    lpa_each_process(auto_one, &u);
    if (c->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "dry_run", json_boolean(c->dry_run));
        json_object_set_new(doc, "applied", json_integer(u.applied));
        json_object_set_new(doc, "reverted", json_integer(u.reverted));
        json_object_set_new(doc, "failed", json_integer(u.failed));
        json_object_set_new(doc, "exited", json_integer(u.exited));
        print_doc(&u, doc);
    } else if (!u.applied && !u.reverted && !u.failed && !c->dry_run) {
        printf("auto: nothing to do: %u process%s up to date\n", u.nprocs,
               u.nprocs == 1 ? "" : "es");
    } else {
        printf("auto: %u process%s: %u applied, %u reverted, %u failed%s\n", u.nprocs,
               u.nprocs == 1 ? "" : "es", u.applied, u.reverted, u.failed,
               c->dry_run ? " (dry run: nothing changed)" : "");
    }
    int rc = u.worst;
    close_run(&u);
    return rc;
}

/* ---- status ----------------------------------------------------------- */

static json_t *patch_status(json_t *list, const char *id, const char *status, const char *reason)
{
    json_t *o = json_object();
    add_str(o, "id", id);
    add_str(o, "status", status);
    add_str(o, "reason", reason);
    json_array_append_new(list, o);
    return o;
}

/* Each installed patch of match m: applied, pending (applicable, or after
 * an earlier pending one) or refused, and why. */
static json_t *module_status(struct run *u, struct lpa_target *t, const struct match *m)
{
    const struct lpr_chain *c = &u->r.chains[m->chain];
    const struct lpa_module *mod = &t->mods[m->mod];
    char bid[LPR_HEX], err[LP_ERR_MAX];
    json_t *o = json_object(), *list = json_array();
    add_str(o, "path", mod->path);
    add_str(o, "build_id", lp_hex(mod->build_id, mod->build_id_len, bid));
    add_str(o, "chain", c->key);
    const char *waiting = NULL; /* an earlier patch not applied */
    for (size_t k = m->start; k < c->n; k++) {
        const char *id = c->v[k].id;
        struct lps_patch *rec = lpa_state_find_id(&t->state, id);
        if (rec) {
            patch_status(list, id, rec->status == LPS_APPLIED ? "applied" : "interrupted",
                         rec->status == LPS_APPLIED ? ""
                         : rec->status == LPS_APPLYING
                             ? "interrupted while applying: lpatch revert it"
                             : "interrupted while reverting: lpatch revert it");
            continue;
        }
        struct loaded *l = get_patch(u, m->chain, k);
        if (l->rc) {
            patch_status(list, id, "refused", l->why);
        } else if (lpa_target_bind(t, l->p, NULL, 0, err) == 0 &&
                   lpa_seccomp_check(t->pid, err) == 0) {
            patch_status(list, id, "pending",
                         t->stacked ? "applicable (on top of an applied patch)" : "applicable");
        } else if (waiting) {
            char why[64];
            snprintf(why, sizeof why, "after %.12s, not applied yet", waiting);
            patch_status(list, id, "pending", why);
        } else {
            patch_status(list, id, "refused", err);
        }
        if (!waiting)
            waiting = id;
    }
    size_t n;
    struct lps_patch **recs = newest_first(&t->state, &n);
    for (size_t i = n; i-- > 0;) { /* applied, but removed from the registry */
        char id[33];
        lp_hex(recs[i]->patch_id, 16, id);
        if (lpr_is_removed(&u->r, id))
            patch_status(list, id, "removed", "removed from the registry: lpatch auto reverts it");
    }
    free(recs);
    json_object_set_new(o, "patches", list);
    return o;
}

/* Whether the status lists id under one of the process's modules. */
static int listed(json_t *modules, const char *id)
{
    size_t i, k;
    json_t *m, *p;
    json_array_foreach(modules, i, m) json_array_foreach(
        json_object_get(m, "patches"), k,
        p) if (!strcmp(json_string_value(json_object_get(p, "id")), id)) return 1;
    return 0;
}

static void print_status_text(json_t *proc)
{
    size_t i, k;
    json_t *m, *p;
    printf("process %d (%s)\n", (int)json_integer_value(json_object_get(proc, "pid")),
           json_string_value(json_object_get(proc, "comm")));
    json_array_foreach(json_object_get(proc, "modules"), i, m)
    {
        printf("  %s  build-id %.12s  chain %.12s\n", json_string_value(json_object_get(m, "path")),
               json_string_value(json_object_get(m, "build_id")),
               json_string_value(json_object_get(m, "chain")));
        json_array_foreach(json_object_get(m, "patches"), k, p)
        {
            const char *why = json_string_value(json_object_get(p, "reason"));
            printf("    %.12s  %s%s%s\n", json_string_value(json_object_get(p, "id")),
                   json_string_value(json_object_get(p, "status")), *why ? ": " : "", why);
        }
    }
    json_array_foreach(json_object_get(proc, "unregistered"), k, p) printf(
        "  not in the registry: %.12s (%s, from %s)\n", json_string_value(json_object_get(p, "id")),
        json_string_value(json_object_get(p, "module")),
        json_string_value(json_object_get(p, "source")));
}

static int status_one(pid_t pid, void *ctx)
{
    struct run *u = ctx;
    struct lpa_target t;
    char err[LP_ERR_MAX];
    int rc = lpa_target_open(&t, pid, err);
    if (rc != 0) {
        if (u->nonly) {
            fail(rc, "status: %s", err);
            u->worst = rc > u->worst ? rc : u->worst;
        }
        lpa_target_close(&t);
        return 0;
    }
    size_t nm;
    struct match *m = matches(u, &t, &nm);
    if (nm || u->nonly) {
        json_t *o = json_object(), *mods = json_array(), *other = json_array();
        char comm[32];
        lpa_comm(pid, comm, sizeof comm);
        json_object_set_new(o, "pid", json_integer(pid));
        add_str(o, "comm", comm);
        for (size_t i = 0; i < nm; i++)
            json_array_append_new(mods, module_status(u, &t, &m[i]));
        for (struct lps_patch *p = lpa_state_next(&t.state, NULL); p;
             p = lpa_state_next(&t.state, p)) {
            char id[33];
            lp_hex(p->patch_id, 16, id);
            if (listed(mods, id))
                continue;
            json_t *x = json_object();
            add_str(x, "id", id);
            add_str(x, "module", p->module);
            add_str(x, "source", p->source);
            json_array_append_new(other, x);
        }
        json_object_set_new(o, "modules", mods);
        json_object_set_new(o, "unregistered", other);
        if (!u->c->json)
            print_status_text(o);
        json_array_append_new(u->procs, o);
    }
    free(m);
    lpa_target_close(&t);
    return 0;
}

int cmd_status(struct cli *c)
{
    pid_t *pids = grow_list(NULL, ((size_t)c->nargs + 1) * sizeof *pids);
    for (int i = 0; i < c->nargs; i++)
        if (lpa_parse_pid(c->args[i], &pids[i])) {
            free(pids);
            return fail(LPA_USAGE, "status: not a process id: '%s'", c->args[i]);
        }
    struct run u;
    if (open_run(&u, c, 0)) {
        free(pids);
        return LPA_USAGE;
    }
    u.only = pids;
    u.nonly = c->nargs;
    if (c->nargs)
        for (int i = 0; i < c->nargs; i++)
            status_one(pids[i], &u);
    else
        lpa_each_process(status_one, &u);
    if (c->json)
        print_doc(&u, json_object());
    else if (!json_array_size(u.procs))
        printf("status: no process maps a module with patches installed in %s\n", u.r.root);
    int rc = u.worst;
    close_run(&u);
    free(pids);
    return rc;
}
