/*
 * lpatch - apply, revert and inspect live patches in running processes.
 *
 *   lpatch apply [OPTIONS] PID PATCH...         lpatch revert PID [PATCH-ID]
 *   lpatch apply [OPTIONS] --all PATCH...       lpatch list PID | --all
 *   lpatch apply [OPTIONS] --module PATH PATCH...
 *   lpatch check PID PATCH                      lpatch info PATCH
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "liblivepatch.h"
#include "proc.h"
#include "state.h"
#include "stop.h"
#include "target.h"

static const char usage[] =
    "usage: lpatch COMMAND [OPTIONS] ARGS\n"
    "\n"
    "Live-patch running processes built with the livepatch GCC plugin.\n"
    "\n"
    "commands:\n"
    "  apply PID PATCH...           apply patches to one process\n"
    "  apply --all PATCH...         ... to every process mapping the patch's module\n"
    "  apply --module PATH PATCH... ... to every process mapping the module at PATH\n"
    "                               (matched by GNU build-id, not by path)\n"
    "  revert PID [PATCH-ID]        revert the newest patch, or the one given (an id\n"
    "                               prefix); out of order only if no later patch\n"
    "                               depends on it\n"
    "  list PID | --all             applied patches of a process (or of every process)\n"
    "  check PID PATCH              is PATCH applied, applicable, and if not, why\n"
    "  info PATCH                   describe a patch file\n"
    "\n"
    "options:\n"
    "  --json                  machine-readable output (one JSON object per line)\n"
    "  --stats                 print the pause and its parts (stop, check, write, resume)\n"
    "  --allow-active FUNC     FUNC may be running while patched (repeatable): the\n"
    "                          running activation finishes on old code\n"
    "  --retries N             safety-check attempts before giving up (default 20)\n"
    "  --backoff MS            first wait between attempts, doubled each time (default 1)\n"
    "  --backoff-max MS        longest wait between attempts (default 100)\n"
    "  --timeout MS            bound on each wait for the target's threads (default 5000)\n"
    "  --no-fifo               don't raise lpatch to SCHED_FIFO during the pause\n"
    "  -h, --help              this help\n"
    "\n"
    "exit status:\n"
    "  0  done (check: applied or applicable)\n"
    "  1  refused: not applicable (build-id, code differs, already applied), not safe\n"
    "     after the retries, or another patch depends on it\n"
    "  2  usage or input error: bad arguments, bad patch file, no such process\n"
    "  3  ptrace or /proc access refused\n";

enum {
    OPT_JSON = 256,
    OPT_STATS,
    OPT_ALLOW,
    OPT_RETRIES,
    OPT_BACKOFF,
    OPT_BACKOFF_MAX,
    OPT_TIMEOUT,
    OPT_NOFIFO,
    OPT_ALL,
    OPT_MODULE,
};

struct cli {
    const char *cmd;
    int json, stats, all;
    const char *module;
    struct lpa_opts o;
    char **args;
    int nargs;
};

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lpatch: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* realloc for the command line's own lists; out of memory ends lpatch
 * (before it touched any process). */
static void *grow_list(void *p, size_t bytes)
{
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        exit(fail(LPA_USAGE, "out of memory"));
    return q;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static int parse_pid(const char *s, pid_t *pid)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v <= 0 || v > 0x3fffffff)
        return -1;
    *pid = (pid_t)v;
    return 0;
}

static int parse_num(const char *opt, const char *s, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > max)
        return fail(LPA_USAGE, "%s: not a number in 0..%ld: '%s'", opt, max, s);
    *out = v;
    return 0;
}

static int parse_cli(int argc, char **argv, struct cli *c)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, OPT_JSON},
        {"stats", no_argument, 0, OPT_STATS},
        {"allow-active", required_argument, 0, OPT_ALLOW},
        {"retries", required_argument, 0, OPT_RETRIES},
        {"backoff", required_argument, 0, OPT_BACKOFF},
        {"backoff-max", required_argument, 0, OPT_BACKOFF_MAX},
        {"timeout", required_argument, 0, OPT_TIMEOUT},
        {"no-fifo", no_argument, 0, OPT_NOFIFO},
        {"all", no_argument, 0, OPT_ALL},
        {"module", required_argument, 0, OPT_MODULE},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    lpa_opts_default(&c->o);
    int ch;
    long v;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_JSON:
            c->json = 1;
            break;
        case OPT_STATS:
            c->stats = 1;
            break;
        case OPT_ALLOW:
            c->o.allow_active = grow_list(c->o.allow_active, (c->o.nallow + 1) * sizeof(char *));
            c->o.allow_active[c->o.nallow++] = optarg;
            break;
        case OPT_RETRIES:
            if (parse_num("--retries", optarg, 10000, &v))
                return LPA_USAGE;
            c->o.retries = (int)(v ? v : 1);
            break;
        case OPT_BACKOFF:
            if (parse_num("--backoff", optarg, 60000, &v))
                return LPA_USAGE;
            c->o.backoff_us = (unsigned)v * 1000;
            break;
        case OPT_BACKOFF_MAX:
            if (parse_num("--backoff-max", optarg, 600000, &v))
                return LPA_USAGE;
            c->o.backoff_max_us = (unsigned)v * 1000;
            break;
        case OPT_TIMEOUT:
            if (parse_num("--timeout", optarg, 600000, &v))
                return LPA_USAGE;
            c->o.timeout_ms = (int)(v ? v : 1);
            break;
        case OPT_NOFIFO:
            c->o.no_fifo = 1;
            break;
        case OPT_ALL:
            c->all = 1;
            break;
        case OPT_MODULE:
            c->module = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs("Try 'lpatch --help'.\n", stderr);
            return LPA_USAGE;
        }
    }
    c->args = argv + optind;
    c->nargs = argc - optind;
    return 0;
}

static int load_patch(const char *path, struct lp_patch **p)
{
    char err[LP_ERR_MAX];
    if (lp_patch_load(path, p, err) != 0)
        return fail(LPA_USAGE, "%s", err);
    return 0;
}

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
            json_str(stdout, paths[i]);
            printf(",\"status\":\"%s\"", rc ? "failed" : "applied");
            if (rc) {
                printf(",\"exit\":%d,\"error\":", rc);
                json_str(stdout, err);
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

/* Processes mapping a module with one of the build-ids; all when ids empty. */
static pid_t *processes_with(const uint8_t (*ids)[LPA_BUILD_ID_MAX], const uint32_t *lens,
                             size_t nids, size_t *n)
{
    pid_t *out = NULL;
    *n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    pid_t self = getpid();
    while (d && (de = readdir(d))) {
        pid_t pid;
        if (parse_pid(de->d_name, &pid) || pid == self)
            continue;
        struct lpa_maps m;
        struct lpa_module *mods;
        size_t nm;
        char err[512];
        if (lpa_maps_read(pid, &m, err) != 0)
            continue;
        int match = 0;
        if (lpa_modules(pid, &m, &mods, &nm, err) == 0) {
            for (size_t i = 0; i < nm && !match; i++)
                for (size_t j = 0; j < nids && !match; j++)
                    match = mods[i].build_id_len == lens[j] &&
                            memcmp(mods[i].build_id, ids[j], lens[j]) == 0;
            free(mods);
        }
        lpa_maps_free(&m);
        if (match) {
            out = grow_list(out, (*n + 1) * sizeof *out);
            out[(*n)++] = pid;
        }
    }
    if (d)
        closedir(d);
    return out;
}

static int cmd_apply(struct cli *c)
{
    int first_patch = (c->all || c->module) ? 0 : 1;
    if (c->nargs < first_patch + 1)
        return fail(LPA_USAGE, "apply: expected %s PATCH...",
                    first_patch ? "PID" : "--all or --module PATH, then");
    pid_t pid = 0;
    if (first_patch && parse_pid(c->args[0], &pid))
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
            char err[512];
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
            pids = NULL;
            DIR *d = opendir("/proc");
            struct dirent *de;
            while (d && (de = readdir(d))) {
                pid_t p;
                if (parse_pid(de->d_name, &p) || p == getpid())
                    continue;
                struct lpa_target t;
                char err[LP_ERR_MAX];
                if (lpa_target_open(&t, p, err) == 0 &&
                    lpa_target_bind(&t, ps[0], NULL, 0, err) == 0 && t.stacked) {
                    pids = grow_list(pids, (n + 1) * sizeof *pids);
                    pids[n++] = p;
                }
                lpa_target_close(&t);
            }
            if (d)
                closedir(d);
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

static int cmd_revert(struct cli *c)
{
    pid_t pid;
    if (c->nargs < 1 || c->nargs > 2)
        return fail(LPA_USAGE, "revert: expected PID [PATCH-ID]");
    if (parse_pid(c->args[0], &pid))
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
            json_str(stdout, err);
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

/* ---- list ------------------------------------------------------------- */

static const char *status_name(uint32_t s)
{
    return s == LPS_APPLIED     ? "applied"
           : s == LPS_APPLYING  ? "applying (interrupted)"
           : s == LPS_REVERTING ? "reverting (interrupted)"
                                : "unknown";
}

static void list_one(const struct cli *c, pid_t pid, struct lps_state *s)
{
    char comm[32];
    lpa_comm(pid, comm, sizeof comm);
    if (c->json) {
        printf("{\"pid\":%d,\"comm\":", (int)pid);
        json_str(stdout, comm);
        printf(",\"patches\":[");
    } else {
        printf("process %d (%s): %u patch%s\n", (int)pid, comm, lps_hdr(s)->npatches,
               lps_hdr(s)->npatches == 1 ? "" : "es");
    }
    int first = 1;
    for (struct lps_patch *p = lps_next(s, NULL); p; p = lps_next(s, p)) {
        char id[33], ob[65], nb[65], when[32];
        lp_hex(p->patch_id, 16, id);
        lp_hex(p->old_build_id, p->old_build_id_len, ob);
        lp_hex(p->new_build_id, p->new_build_id_len, nb);
        time_t at = (time_t)p->applied_at;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
        struct lps_func *f = lps_funcs(p);
        if (c->json) {
            printf("%s{\"id\":\"%s\",\"seq\":%llu,\"status\":\"%s\",\"module\":", first ? "" : ",",
                   id, (unsigned long long)p->seq,
                   p->status == LPS_APPLIED    ? "applied"
                   : p->status == LPS_APPLYING ? "applying"
                                               : "reverting");
            json_str(stdout, p->module);
            printf(",\"source\":");
            json_str(stdout, p->source);
            printf(",\"old_build_id\":\"%s\",\"new_build_id\":\"%s\",\"applied_at\":\"%s\","
                   "\"image\":\"%#llx\",\"image_size\":%llu,\"new_functions\":%u,\"functions\":[",
                   ob, nb, when, (unsigned long long)p->image_addr,
                   (unsigned long long)p->image_size, p->nnew);
            for (uint32_t i = 0; i < p->nfuncs; i++) {
                printf("%s{\"name\":", i ? "," : "");
                json_str(stdout, f[i].name);
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

static int cmd_list(struct cli *c)
{
    char err[LP_ERR_MAX];
    if (c->all) {
        if (c->nargs)
            return fail(LPA_USAGE, "list: --all takes no PID");
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            pid_t pid;
            if (parse_pid(de->d_name, &pid))
                continue;
            int fd = lpa_mem_open(pid, err);
            if (fd < 0)
                continue;
            struct lps_state s;
            if (lps_load(pid, fd, &s, err) == 0 && lps_hdr(&s)->npatches)
                list_one(c, pid, &s);
            lps_free(&s);
            close(fd);
        }
        if (d)
            closedir(d);
        return 0;
    }
    pid_t pid;
    if (c->nargs != 1)
        return fail(LPA_USAGE, "list: expected PID or --all");
    if (parse_pid(c->args[0], &pid))
        return fail(LPA_USAGE, "list: not a process id: '%s'", c->args[0]);
    struct lpa_target t;
    int rc = lpa_target_open(&t, pid, err);
    if (rc == 0)
        list_one(c, pid, &t.state);
    else
        fail(rc, "list: %s", err);
    lpa_target_close(&t);
    return rc;
}

/* ---- check ------------------------------------------------------------ */

static int cmd_check(struct cli *c)
{
    pid_t pid;
    if (c->nargs != 2)
        return fail(LPA_USAGE, "check: expected PID PATCH");
    if (parse_pid(c->args[0], &pid))
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
        struct lps_patch *r = lps_find_id(&t.state, id);
        if (r) {
            status = r->status == LPS_APPLIED ? "applied" : status_name(r->status);
        } else if (lpa_target_bind(&t, p, c->o.allow_active, c->o.nallow, err) == 0) {
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
        json_str(stdout, err);
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

static int cmd_info(struct cli *c)
{
    if (c->nargs != 1)
        return fail(LPA_USAGE, "info: expected PATCH");
    struct lp_patch *p;
    int rc = load_patch(c->args[0], &p);
    if (rc)
        return rc;
    if (!c->json) {
        lp_patch_describe(p, stdout);
    } else {
        const struct lp_header *h = lp_patch_header(p);
        char id[33], ob[65], nb[65];
        printf("{\"file\":");
        json_str(stdout, c->args[0]);
        printf(",\"id\":\"%s\",\"module\":", lp_hex(h->patch_id, 16, id));
        json_str(stdout, lp_patch_str(p, h->module_name));
        printf(",\"old_build_id\":\"%s\",\"new_build_id\":\"%s\",\"relocations\":%u,"
               "\"symbols\":%u,\"functions\":[",
               lp_hex(h->old_build_id, h->old_build_id_len, ob),
               lp_hex(h->new_build_id, h->new_build_id_len, nb), h->nrelocs, h->nsyms);
        uint32_t n;
        const struct lp_func *f = lp_patch_funcs(p, &n);
        for (uint32_t i = 0; i < n; i++) {
            printf("%s{\"name\":", i ? "," : "");
            json_str(stdout, lp_patch_str(p, f[i].name));
            printf(",\"kind\":\"%s\",\"allow_active\":%s,\"old_size\":%u,\"new_size\":%u}",
                   f[i].flags & LP_FUNC_NEW ? "new" : "replace",
                   f[i].flags & LP_FUNC_ALLOW_ACTIVE ? "true" : "false", f[i].old_size,
                   f[i].new_size);
        }
        printf("]}\n");
    }
    lp_patch_free(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fail(LPA_USAGE, "missing command; try 'lpatch --help'");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return 0;
    }
    struct cli c = {.cmd = argv[1]};
    int rc = parse_cli(argc - 1, argv + 1, &c);
    if (rc)
        return rc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rt = !strcmp(c.cmd, "apply") || !strcmp(c.cmd, "revert");
    if (rt)
        lpa_realtime(&c.o, 1);
    if (!strcmp(c.cmd, "apply"))
        rc = cmd_apply(&c);
    else if (!strcmp(c.cmd, "revert"))
        rc = cmd_revert(&c);
    else if (!strcmp(c.cmd, "list"))
        rc = cmd_list(&c);
    else if (!strcmp(c.cmd, "check"))
        rc = cmd_check(&c);
    else if (!strcmp(c.cmd, "info"))
        rc = cmd_info(&c);
    else
        rc = fail(LPA_USAGE, "unknown command '%s'; try 'lpatch --help'", c.cmd);
    if (rt)
        lpa_realtime(&c.o, 0);
    free(c.o.allow_active);
    return rc;
}
