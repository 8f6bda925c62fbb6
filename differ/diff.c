/*
 * diff.c - `lpdiff`: the command line of the differ and the order of its
 * stages (load, match, compare, refuse, write) over one struct differ
 * (differ.h).
 */
#include <getopt.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "differ.h"
#include "dwinfo.h"
#include "liblivepatch.h"
#include "lp_entry.h"
#include "lpdiff.h"

static const char usage[] =
    "usage: lpdiff [options] --old DIR --new DIR --module REL/PATH -o OUT.lpatch\n"
    "       lpdiff --dump PATCH.lpatch\n"
    "       lpdiff --list FILE... | --units FILE...\n"
    "\n"
    "Compare the OLD build tree (what runs in production) with the NEW one and\n"
    "write a live patch for MODULE (an executable or shared library, given\n"
    "relative to both trees).  The trees are build directories as make leaves\n"
    "them: the linked module and its object files, built with the livepatch\n"
    "GCC plugin (or -ffunction-sections -fdata-sections\n"
    "-fpatchable-function-entry=" LP_PATCHABLE_FUNCTION_ENTRY ") and -g.\n"
    "\n"
    "options:\n"
    "  --old DIR            the running build\n"
    "  --new DIR            the fixed build\n"
    "  --module PATH        module to patch, relative to DIR\n"
    "  -o, --output FILE    patch to write\n"
    "  --report FILE        also write the report as JSON\n"
    "  --accept CODE:NAME   accept one refused item deliberately (NAME may be *);\n"
    "                       repeatable; recorded in the report\n"
    "  --accept-file FILE   CODE:NAME lines ('#' comments)\n"
    "  --allow-active FN    mark FN as allowed to be running while the patch is\n"
    "                       applied (a main loop): that activation ends in old code\n"
    "  --patch-line-changes also patch functions whose only change is the line\n"
    "                       numbers they pass to calls: assert(), __LINE__\n"
    "                       (skipped by default, with a note: lines added above\n"
    "                       shift them)\n"
    "  --hooks FILE         link the hook file FILE (.c, compiled here, or .o) into\n"
    "                       the patch: callbacks, shadow variables, the struct\n"
    "                       members it handles (see livepatch-hooks.h)\n"
    "  --hooks-cflags FLAGS compiler flags for the hook file (-I, -D)\n"
    "  -n, --dry-run        decide and report, write no patch\n"
    "  -v, --verbose        say why each function is considered changed\n"
    "  --dump PATCH         print a patch: functions, symbols, relocations\n"
    "  -h, --help           this text\n"
    "\n"
    "refusal codes: NO_ENTRY COMPILER_MISMATCH OPTIONS_MISMATCH LAYOUT_TYPE\n"
    "  BITFIELD_ADDED GLOBAL_SIZE GLOBAL_TYPE ENUM_VALUE DATA_INIT DATA_REMOVED\n"
    "  TLS_LAYOUT SIGNATURE CTOR_CHANGED AMBIGUOUS UNRESOLVED HASH_MISMATCH\n"
    "  NO_DEBUGINFO VTABLE_CHANGED BASE_CHANGED\n"
    "\n"
    "exit status: 0 patch written, 1 nothing changed, 2 usage or input error,\n"
    "  3 refused (see stderr and the report)\n";

struct args {
    const char *old_dir, *new_dir, *module, *out, *report, *dump;
    int dry_run;
};

static int usage_error(const char *msg)
{
    fprintf(stderr, "lpdiff: %s\nTry 'lpdiff --help'.\n", msg);
    return LPDIFF_USAGE;
}

static int parse_args(int argc, char **argv, struct args *a, struct differ *d)
{
    enum {
        O_OLD = 256,
        O_NEW,
        O_MODULE,
        O_REPORT,
        O_ACCEPT,
        O_ACCEPT_FILE,
        O_DUMP,
        O_ACTIVE,
        O_LINES,
        O_HOOKS,
        O_HOOKS_CFLAGS,
    };
    static const struct option opts[] = {
        {"old", required_argument, 0, O_OLD},
        {"new", required_argument, 0, O_NEW},
        {"module", required_argument, 0, O_MODULE},
        {"output", required_argument, 0, 'o'},
        {"report", required_argument, 0, O_REPORT},
        {"accept", required_argument, 0, O_ACCEPT},
        {"accept-file", required_argument, 0, O_ACCEPT_FILE},
        {"dry-run", no_argument, 0, 'n'},
        {"verbose", no_argument, 0, 'v'},
        {"dump", required_argument, 0, O_DUMP},
        {"allow-active", required_argument, 0, O_ACTIVE},
        {"patch-line-changes", no_argument, 0, O_LINES},
        {"hooks", required_argument, 0, O_HOOKS},
        {"hooks-cflags", required_argument, 0, O_HOOKS_CFLAGS},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    char err[512];
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:nvh", opts, NULL)) != -1) {
        switch (c) {
        case O_OLD:
            a->old_dir = optarg;
            break;
        case O_NEW:
            a->new_dir = optarg;
            break;
        case O_MODULE:
            a->module = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case O_REPORT:
            a->report = optarg;
            break;
        case O_ACCEPT:
            if (report_add_accept(&d->rep, optarg, err, sizeof(err))) {
                char msg[sizeof err + 16];
                snprintf(msg, sizeof msg, "--accept: %s", err);
                return usage_error(msg);
            }
            break;
        case O_ACCEPT_FILE:
            if (report_read_accept_file(&d->rep, optarg, err, sizeof(err))) {
                fprintf(stderr, "lpdiff: %s\n", err);
                return LPDIFF_USAGE;
            }
            break;
        case 'n':
            a->dry_run = 1;
            break;
        case 'v':
            d->verbose = 1;
            break;
        case O_DUMP:
            a->dump = optarg;
            break;
        case O_ACTIVE:
            VEC_PUSH(d->allow_active, optarg);
            break;
        case O_LINES:
            d->patch_line_changes = 1;
            break;
        case O_HOOKS:
            d->hooks.file = optarg;
            break;
        case O_HOOKS_CFLAGS:
            d->hooks.cflags = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case ':':
            snprintf(err, sizeof(err), "option '%s' needs an argument", argv[optind - 1]);
            return usage_error(err);
        default:
            snprintf(err, sizeof(err), "unknown option '%s'", argv[optind - 1]);
            return usage_error(err);
        }
    }
    if (optind < argc) {
        snprintf(err, sizeof(err), "unexpected argument '%s'", argv[optind]);
        return usage_error(err);
    }
    if (a->dump)
        return -1;
    if (!a->old_dir || !a->new_dir || !a->module)
        return usage_error("--old, --new and --module are required");
    if (!a->out && !a->dry_run)
        return usage_error("-o OUT.lpatch is required (or --dry-run)");
    return -1; /* go on */
}

static void hex_id(const struct elfobj *f, char *out)
{
    lp_hex(f->build_id, f->build_id_len, out);
}

/* Without DWARF no layout can be checked, so a patch could silently corrupt
 * state: refuse.  `--accept NO_DEBUGINFO:MODULE` goes on without the checks
 * (make livepatch builds with -g, so this is for foreign builds). */
static void load_dwarf(struct differ *d, struct side *s)
{
    char err[512];
    s->dw = dwinfo_load(s->mod->fd, s->module_path, err, sizeof(err));
    if (s->dw)
        return;
    report_refuse(&d->rep, REFUSE_NO_DEBUGINFO, d->module, "",
                  "module %s; layout checks impossible", err);
}

/* OLD and NEW must be two files: a --module path that leaves the build
 * directories ("../v1/prog") can name one file from both.  1 (err says
 * why) when they are one. */
static int same_file(const struct differ *d, char *err, size_t errlen)
{
    struct stat a, b;
    if (fstat(d->old.mod->fd, &a) == 0 && fstat(d->new.mod->fd, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
        snprintf(err, errlen, "OLD module %s and NEW module %s are the same file",
                 d->old.module_path, d->new.module_path);
        return 1;
    }
    return 0;
}

/* A patch names two builds: one build-id for both would make lpatch bind
 * it to a process it has already patched as if it had not.  Two
 * reproducible builds of unchanged sources have one build-id, and nothing
 * to patch; a patch from them (objects edited, a refusal accepted) is
 * refused.  1 (err says why) when the ids are equal. */
static int same_build_id(const struct differ *d, char *err, size_t errlen)
{
    const struct elfobj *o = d->old.mod, *n = d->new.mod;
    if (!o->build_id_len || o->build_id_len != n->build_id_len ||
        memcmp(o->build_id, n->build_id, o->build_id_len) != 0)
        return 0;
    snprintf(err, errlen, "OLD module %s and NEW module %s have the same build-id %s: no patch",
             d->old.module_path, d->new.module_path, d->rep.old_build_id);
    return 1;
}

static int run(struct differ *d, const struct args *a)
{
    char err[1024];
    d->module = a->module;
    d->rep.module = a->module;
    d->old.label = "old";
    d->new.label = "new";
    if (build_load(&d->old, a->old_dir, a->module, err, sizeof(err)) ||
        build_load(&d->new, a->new_dir, a->module, err, sizeof(err))) {
        fprintf(stderr, "lpdiff: %s\n", err);
        return LPDIFF_USAGE;
    }
    /* The hook runtime is always there to bind NEW code's calls of
     * lp_shadow_*; without --hooks a missing runtime only matters if such a
     * call is made (then it is unresolved). */
    if (hooks_load(&d->hooks, err, sizeof(err)) && d->hooks.file) {
        fprintf(stderr, "lpdiff: %s\n", err);
        return LPDIFF_USAGE;
    }
    hex_id(d->old.mod, d->rep.old_build_id);
    hex_id(d->new.mod, d->rep.new_build_id);
    if (same_file(d, err, sizeof(err))) {
        fprintf(stderr, "lpdiff: %s\n", err);
        return LPDIFF_USAGE;
    }
    if (!d->old.mod->build_id_len)
        report_note(&d->rep,
                    "%s has no GNU build-id (link with -Wl,--build-id): the applier "
                    "cannot check that a process runs this build",
                    d->old.module_path);
    load_dwarf(d, &d->old);
    load_dwarf(d, &d->new);

    compare_match(d);
    compare_check_builds(d);
    compare_find_changes(d);
    compare_check_classes(d);
    compare_check_entries(d);
    typecheck_run(d);

    int rc;
    if (report_blocking(&d->rep))
        rc = LPDIFF_REFUSED;
    else if (!d->patch.n && !d->hooks.hook_unit)
        rc = LPDIFF_NO_CHANGE;
    else if (same_build_id(d, err, sizeof(err))) {
        fprintf(stderr, "lpdiff: %s\n", err);
        rc = LPDIFF_USAGE;
    } else if (emit_write_patch(d, a->dry_run ? NULL : a->out, err, sizeof(err))) {
        rc = report_blocking(&d->rep) ? LPDIFF_REFUSED : LPDIFF_USAGE;
        if (rc == LPDIFF_USAGE)
            fprintf(stderr, "lpdiff: %s: %s\n", a->out, err);
    } else {
        d->rep.patch_path = a->dry_run ? NULL : a->out;
        d->rep.dry_run_ok = a->dry_run;
        rc = LPDIFF_PATCH_WRITTEN;
    }
    report_print_refusals(&d->rep);
    report_print_text(&d->rep);
    if (rc == LPDIFF_NO_CHANGE)
        printf("nothing changed: no patch needed\n");
    if (a->report && report_write_json(&d->rep, a->report, err, sizeof(err))) {
        fprintf(stderr, "lpdiff: %s\n", err);
        rc = LPDIFF_USAGE;
    }
    return rc;
}

int diff_main(int argc, char **argv)
{
    struct args a = {0};
    struct differ d = {0};
    int rc = parse_args(argc, argv, &a, &d);
    if (rc < 0)
        rc = a.dump ? emit_dump_patch(a.dump) : run(&d, &a);
    dwinfo_free(d.old.dw);
    dwinfo_free(d.new.dw);
    build_free(&d.old);
    build_free(&d.new);
    hooks_free(&d.hooks);
    VEC_FREE(d.patch);
    VEC_FREE(d.allow_active);
    report_free(&d.rep);
    return rc;
}
