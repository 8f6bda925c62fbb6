/*
 * cmd_inspect.c - lpatch's read-only commands: `list` (the patches
 * recorded in a process's state area, or in every process's), `check` (is a
 * patch applied, applicable, and if not, why) and `info` (describe a patch
 * file, and the status of its signature).  Text for people, one JSON object per line with --json.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "cli.h"
#include "liblivepatch.h"
#include "proc.h"
#include "state.h"
#include "target.h"

/* ---- list ------------------------------------------------------------- */

static const char *status_name(uint32_t s)
{
    return s == LPS_APPLIED     ? "applied"
           : s == LPS_APPLYING  ? "applying (interrupted)"
           : s == LPS_REVERTING ? "reverting (interrupted)"
                                : "unknown";
}

static void list_one(const struct cli *c, pid_t pid, int memfd, struct lpa_state *s)
{
    char comm[32];
    lpa_comm(pid, comm, sizeof comm);
    /* Shadow variables attached now (the store's head), -1 without a store. */
    long long shadows = -1;
    struct lp_shadow_head head;
    if (lpa_state_hdr(s)->shadow_arena &&
        lpa_mem_read(memfd, lpa_state_hdr(s)->shadow_arena, &head, sizeof(head)) == 0)
        shadows = (long long)head.nlive;
    if (c->json) {
        printf("{\"pid\":%d,\"comm\":", (int)pid);
        lpcli_json_print(stdout, comm);
        if (shadows >= 0)
            printf(",\"shadow_variables\":%lld", shadows);
        printf(",\"patches\":[");
    } else {
        printf("process %d (%s): %u patch%s", (int)pid, comm, lpa_state_hdr(s)->npatches,
               lpa_state_hdr(s)->npatches == 1 ? "" : "es");
        if (shadows >= 0)
            printf(", %lld shadow variable%s", shadows, shadows == 1 ? "" : "s");
        printf("\n");
    }
    int first = 1;
    for (struct lps_patch *p = lpa_state_next(s, NULL); p; p = lpa_state_next(s, p)) {
        char id[33], ob[65], nb[65], when[32];
        lp_hex(p->patch_id, 16, id);
        lp_hex(p->old_build_id, p->old_build_id_len, ob);
        lp_hex(p->new_build_id, p->new_build_id_len, nb);
        time_t at = (time_t)p->applied_at;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
        struct lps_func *f = lpa_state_funcs(p);
        if (c->json) {
            printf("%s{\"id\":\"%s\",\"seq\":%llu,\"status\":\"%s\",\"module\":", first ? "" : ",",
                   id, (unsigned long long)p->seq,
                   p->status == LPS_APPLIED    ? "applied"
                   : p->status == LPS_APPLYING ? "applying"
                                               : "reverting");
            lpcli_json_print(stdout, p->module);
            printf(",\"source\":");
            lpcli_json_print(stdout, p->source);
            printf(",\"old_build_id\":\"%s\",\"new_build_id\":\"%s\",\"applied_at\":\"%s\","
                   "\"image\":\"%#llx\",\"image_size\":%llu,\"new_functions\":%u,\"functions\":[",
                   ob, nb, when, (unsigned long long)p->image_addr,
                   (unsigned long long)p->image_size, p->nnew);
            for (uint32_t i = 0; i < p->nfuncs; i++) {
                printf("%s{\"name\":", i ? "," : "");
                lpcli_json_print(stdout, f[i].name);
                printf(",\"addr\":\"%#llx\",\"new_addr\":\"%#llx\"}",
                       (unsigned long long)f[i].sym_addr, (unsigned long long)f[i].new_addr);
            }
            printf("]}");
        } else {
            printf("  %-12.12s  %s  %s  %s  (%s)\n", id, status_name(p->status), p->module,
                   p->source, when);
            for (uint32_t i = 0; i < p->nfuncs; i++)
                printf("      %s %#llx -> %#llx\n", f[i].name, (unsigned long long)f[i].sym_addr,
                       (unsigned long long)f[i].new_addr);
            if (p->nnew)
                printf("      + %u new function%s\n", p->nnew, p->nnew == 1 ? "" : "s");
        }
        first = 0;
    }
    if (c->json)
        printf("]}\n");
}

/* list --all: every process with patches recorded. */
static int list_if_patched(pid_t pid, void *ctx)
{
    char err[LP_ERR_MAX];
    int fd = lpa_mem_open(pid, err);
    if (fd < 0)
        return 0;
    struct lpa_state s;
    if (lpa_state_load(pid, fd, &s, err) == 0 && lpa_state_hdr(&s)->npatches)
        list_one(ctx, pid, fd, &s);
    lpa_state_free(&s);
    close(fd);
    return 0;
}

int cmd_list(struct cli *c)
{
    char err[LP_ERR_MAX];
    if (c->all) {
        if (c->nargs)
            return fail(LPA_USAGE, "list: --all takes no PID");
        lpa_each_process(list_if_patched, c);
        return 0;
    }
    pid_t pid;
    if (c->nargs != 1)
        return fail(LPA_USAGE, "list: expected PID or --all");
    if (lpa_parse_pid(c->args[0], &pid))
        return fail(LPA_USAGE, "list: not a process id: '%s'", c->args[0]);
    struct lpa_target t;
    int rc = lpa_target_open(&t, pid, err);
    if (rc == 0)
        list_one(c, pid, t.memfd, &t.state);
    else
        fail(rc, "list: %s", err);
    lpa_target_close(&t);
    return rc;
}

/* ---- check ------------------------------------------------------------ */

int cmd_check(struct cli *c)
{
    pid_t pid;
    if (c->nargs != 2)
        return fail(LPA_USAGE, "check: expected PID PATCH");
    if (lpa_parse_pid(c->args[0], &pid))
        return fail(LPA_USAGE, "check: not a process id: '%s'", c->args[0]);
    struct lp_patch *p;
    int rc = load_patch(c->args[1], &p);
    if (rc)
        return rc;
    char err[LP_ERR_MAX] = "", id[33];
    lp_hex(lp_patch_header(p)->patch_id, 16, id);
    struct lpa_target t;
    const char *status;
    rc = lpa_target_open(&t, pid, err);
    if (rc == 0) {
        struct lps_patch *r = lpa_state_find_id(&t.state, id);
        if (r) {
            status = r->status == LPS_APPLIED ? "applied" : status_name(r->status);
        } else if (lpa_target_bind(&t, p, c->o.allow_active, c->o.nallow, err) == 0 &&
                   lpa_seccomp_check(pid, err) == 0) {
            status = "applicable";
            lpa_err(err, "module %s%s", t.mod->path,
                    t.stacked ? " (on top of an applied patch)" : "");
        } else {
            status = "not applicable";
            rc = LPA_REFUSED;
        }
    } else {
        status = "error";
    }
    if (c->json) {
        printf("{\"pid\":%d,\"patch\":\"%s\",\"status\":\"%s\",\"detail\":", (int)pid, id, status);
        lpcli_json_print(stdout, err);
        printf("}\n");
    } else if (rc == 0 || rc == LPA_REFUSED) {
        printf("%.12s: %s%s%s\n", id, status, err[0] ? ": " : "", err);
    } else {
        fail(rc, "check: %s", err);
    }
    lpa_target_close(&t);
    lp_patch_free(p);
    return rc;
}

/* ---- info ------------------------------------------------------------- */

/* One line: the signature's status and whether apply would take the file. */
static void print_signature(const struct lpsign_result *r)
{
    char why[LPSIGN_ERR_MAX + 128];
    const char *dir = lpsign_keys_dir();
    switch (r->status) {
    case LPSIGN_GOOD:
        printf("signature: good, key %s (%s)\n", r->key_id, r->detail);
        return;
    case LPSIGN_UNCHECKED:
        printf("signature: key %s, not checked: no keys in %s\n", r->key_id, dir);
        return;
    case LPSIGN_UNSIGNED:
        if (!r->enforced) {
            printf("signature: unsigned (allowed: no keys in %s)\n", dir);
            return;
        }
        break;
    case LPSIGN_UNKNOWN_KEY:
    case LPSIGN_BAD:
        break;
    }
    printf("signature: %s%s\n", sign_refusal(r, why, sizeof why),
           r->enforced ? "; lpatch apply refuses it" : "");
}

int cmd_info(struct cli *c)
{
    if (c->nargs != 1)
        return fail(LPA_USAGE, "info: expected PATCH");
    struct lp_patch *p;
    struct lpsign_result sig;
    int rc = load_patch_sig(c->args[0], &p, &sig);
    if (rc)
        return rc;
    if (!c->json) {
        lp_patch_describe(p, stdout);
        print_signature(&sig);
    } else {
        const struct lp_header *h = lp_patch_header(p);
        char id[33], ob[65], nb[65];
        printf("{\"file\":");
        lpcli_json_print(stdout, c->args[0]);
        printf(",\"id\":\"%s\",\"module\":", lp_hex(h->patch_id, 16, id));
        lpcli_json_print(stdout, lp_patch_str(p, h->module_name));
        printf(",\"old_build_id\":\"%s\",\"new_build_id\":\"%s\",\"relocations\":%u,"
               "\"symbols\":%u,\"functions\":[",
               lp_hex(h->old_build_id, h->old_build_id_len, ob),
               lp_hex(h->new_build_id, h->new_build_id_len, nb), h->nrelocs, h->nsyms);
        uint32_t n;
        const struct lp_func *f = lp_patch_funcs(p, &n);
        for (uint32_t i = 0; i < n; i++) {
            printf("%s{\"name\":", i ? "," : "");
            lpcli_json_print(stdout, lp_patch_str(p, f[i].name));
            printf(",\"kind\":\"%s\",\"allow_active\":%s,\"old_size\":%u,\"new_size\":%u}",
                   f[i].flags & LP_FUNC_NEW ? "new" : "replace",
                   f[i].flags & LP_FUNC_ALLOW_ACTIVE ? "true" : "false", f[i].old_size,
                   f[i].new_size);
        }
        printf("],\"signature\":{\"status\":\"%s\",\"enforced\":%s,\"key_id\":",
               lpsign_status_name(sig.status), sig.enforced ? "true" : "false");
        lpcli_json_print(stdout, sig.key_id);
        printf(",\"detail\":");
        lpcli_json_print(stdout, sig.detail);
        printf("}}\n");
    }
    lp_patch_free(p);
    return 0;
}
