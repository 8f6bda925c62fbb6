/*
 * lpatch - apply, revert and inspect live patches in running processes.
 *
 *   lpatch apply [OPTIONS] PID PATCH...         lpatch revert [OPTIONS] PID [PATCH-ID]
 *   lpatch apply [OPTIONS] --all PATCH...       lpatch list [OPTIONS] PID | --all
 *   lpatch apply [OPTIONS] --module PATH PATCH...
 *   lpatch check [OPTIONS] PID PATCH            lpatch info [OPTIONS] PATCH
 *   lpatch keygen [--out DIR] NAME              lpatch sign --key SECRET FILE...
 *   lpatch verify [OPTIONS] FILE...             lpatch help [COMMAND]
 *   lpatch install [OPTIONS] PATCH|MANIFEST|DIR...  lpatch remove [OPTIONS] PATCH-ID|PATCH...
 *   lpatch auto [OPTIONS]                       lpatch status [OPTIONS] [PID...]
 *
 * This file is the command table, in the style of git's builtins: each
 * command names its handler (cmd_apply.c, cmd_inspect.c, cmd_keys.c,
 * cmd_registry.c, cmd_auto.c), the options it
 * takes, a one-line summary for `lpatch --help` and its own usage text for
 * `lpatch CMD --help`.  Every option is described once (options[]) and
 * listed by the commands that take it; the parser hands getopt_long only
 * those, so an option a command does not take is a usage error (exit 2)
 * naming the option and the command.
 */
#include <assert.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "cli.h"
#include "liblivepatch.h"
#include "lpsign.h"
#include "registry.h" /* LPR_ROOT_*: the help texts */

/* ---- options: each described once ------------------------------------- */

enum cli_opt {
    OPT_NONE, /* ends a command's option list */
    OPT_JSON,
    OPT_STATS,
    OPT_ALLOW,
    OPT_RETRIES,
    OPT_BACKOFF,
    OPT_BACKOFF_MAX,
    OPT_TIMEOUT,
    OPT_NOFIFO,
    OPT_ALL,
    OPT_MODULE,
    OPT_OUT,
    OPT_KEY,
    OPT_DRY_RUN,
    OPT_FORCE,
    OPT_HELP, /* every command takes it */
    OPT__COUNT,
};

_Static_assert(OPT__COUNT <= 32, "parse_options keeps a 32-bit mask of them");

/* getopt_long's value for an option: above every short option's. */
#define OPT_VAL(id) (256 + (int)(id))

struct cli_option {
    const char *name; /* --NAME */
    char short_name;  /* -C as well, or 0 */
    const char *arg;  /* placeholder of its argument; NULL: a flag */
    const char *help; /* '\n' continues in the help column */
};

static const struct cli_option options[OPT__COUNT] = {
    [OPT_JSON] = {"json", 0, NULL, "machine-readable output (one JSON object per line)"},
    [OPT_STATS] = {"stats", 0, NULL, "print the pause and its parts (stop, check, write, resume)"},
    [OPT_ALLOW] = {"allow-active", 0, "FUNC",
                   "FUNC may be running while patched (repeatable): the\n"
                   "running activation finishes on old code"},
    [OPT_RETRIES] = {"retries", 0, "N", "safety-check attempts before giving up (default 20)"},
    [OPT_BACKOFF] = {"backoff", 0, "MS",
                     "first wait between attempts, doubled each time (default 1)"},
    [OPT_BACKOFF_MAX] = {"backoff-max", 0, "MS", "longest wait between attempts (default 100)"},
    [OPT_TIMEOUT] = {"timeout", 0, "MS",
                     "bound on each wait for the target's threads (default 5000)"},
    [OPT_NOFIFO] = {"no-fifo", 0, NULL, "don't raise lpatch to SCHED_FIFO during the pause"},
    [OPT_ALL] = {"all", 0, NULL, "every process"},
    [OPT_MODULE] = {"module", 0, "PATH",
                    "every process mapping the module at PATH (matched by\n"
                    "GNU build-id, not by path)"},
    [OPT_OUT] = {"out", 0, "DIR", "where the key files go (default: the current directory)"},
    [OPT_KEY] = {"key", 0, "SECRET", "the secret key file (NAME.sec, from lpatch keygen)"},
    [OPT_DRY_RUN] = {"dry-run", 'n', NULL, "say what would be done; change nothing"},
    [OPT_FORCE] = {"force", 0, NULL, NULL}, /* each command says what it forces */
    [OPT_HELP] = {"help", 'h', NULL, "this help"},
};

/* ---- commands --------------------------------------------------------- */

/* One entry of a command's option list; help overrides the option's own. */
struct cmd_option {
    enum cli_opt id;
    const char *help;
};

enum {
    CMD_REALTIME = 1, /* SCHED_FIFO for the whole command (unless --no-fifo) */
};

struct lpa_cmd {
    const char *name;
    int (*run)(struct cli *c);
    const struct cmd_option *opts; /* ends with OPT_NONE; --help is implied */
    unsigned flags;                /* CMD_* */
    const char *args;              /* its operands, for the overview */
    const char *summary;           /* one line, for the overview */
    const char *usage;             /* usage lines and description, before the options */
};

static const struct cmd_option apply_opts[] = {
    {.id = OPT_JSON},
    {.id = OPT_STATS},
    {.id = OPT_ALLOW},
    {.id = OPT_RETRIES},
    {.id = OPT_BACKOFF},
    {.id = OPT_BACKOFF_MAX},
    {.id = OPT_TIMEOUT},
    {.id = OPT_NOFIFO},
    {.id = OPT_ALL, .help = "every process mapping the patch's module"},
    {.id = OPT_MODULE},
    {.id = OPT_NONE},
};
static const struct cmd_option revert_opts[] = {
    {.id = OPT_JSON},        {.id = OPT_STATS},   {.id = OPT_RETRIES}, {.id = OPT_BACKOFF},
    {.id = OPT_BACKOFF_MAX}, {.id = OPT_TIMEOUT}, {.id = OPT_NOFIFO},  {.id = OPT_NONE},
};
static const struct cmd_option list_opts[] = {
    {.id = OPT_JSON},
    {.id = OPT_ALL, .help = "every process that has a patch applied"},
    {.id = OPT_NONE},
};
static const struct cmd_option check_opts[] = {
    {.id = OPT_JSON},
    {.id = OPT_ALLOW, .help = "as for apply: FUNC may be running (repeatable)"},
    {.id = OPT_NONE},
};
static const struct cmd_option info_opts[] = {
    {.id = OPT_JSON},
    {.id = OPT_NONE},
};
static const struct cmd_option keygen_opts[] = {
    {.id = OPT_OUT},
    {.id = OPT_NONE},
};
static const struct cmd_option sign_opts[] = {
    {.id = OPT_KEY},
    {.id = OPT_NONE},
};
static const struct cmd_option verify_opts[] = {
    {.id = OPT_JSON},
    {.id = OPT_NONE},
};
static const struct cmd_option install_opts[] = {
    {.id = OPT_JSON, .help = "one JSON document: the patches and where they went"},
    {.id = OPT_FORCE,
     .help = "install a patch for another build of a module whose patches\n"
             "are installed as a separate chain"},
    {.id = OPT_NONE},
};
static const struct cmd_option remove_opts[] = {
    {.id = OPT_JSON, .help = "one JSON document: the patches removed"},
    {.id = OPT_FORCE, .help = "also remove the later patches stacked on it"},
    {.id = OPT_NONE},
};
static const struct cmd_option auto_opts[] = {
    {.id = OPT_JSON, .help = "one JSON document: every process and what was done"},
    {.id = OPT_DRY_RUN},
    {.id = OPT_RETRIES},
    {.id = OPT_BACKOFF},
    {.id = OPT_BACKOFF_MAX},
    {.id = OPT_TIMEOUT},
    {.id = OPT_NOFIFO},
    {.id = OPT_NONE},
};
static const struct cmd_option status_opts[] = {
    {.id = OPT_JSON, .help = "one JSON document: every process, module and patch"},
    {.id = OPT_NONE},
};
static const struct cmd_option help_opts[] = {
    {.id = OPT_NONE},
};

static int cmd_help(struct cli *c);

static const struct lpa_cmd commands[] = {
    {.name = "apply",
     .run = cmd_apply,
     .opts = apply_opts,
     .flags = CMD_REALTIME,
     .args = "PID PATCH...",
     .summary = "apply patches, in order, to processes",
     .usage = "usage: lpatch apply [OPTIONS] PID PATCH...\n"
              "   or: lpatch apply [OPTIONS] --all PATCH...\n"
              "   or: lpatch apply [OPTIONS] --module PATH PATCH...\n"
              "\n"
              "Apply the patches, in order, to process PID; with --all to every process\n"
              "mapping the first patch's module (or, for a stacked patch, whose patches\n"
              "reached its old build), with --module to every process mapping the module\n"
              "at PATH.  Modules are matched by GNU build-id, not by path.  A patch that\n"
              "fails stops the ones after it.\n"},
    {.name = "revert",
     .run = cmd_revert,
     .opts = revert_opts,
     .flags = CMD_REALTIME,
     .args = "PID [PATCH-ID]",
     .summary = "revert the newest patch, or the one given",
     .usage = "usage: lpatch revert [OPTIONS] PID [PATCH-ID]\n"
              "\n"
              "Revert the newest patch applied to process PID, or the one PATCH-ID names\n"
              "(its hex id, or a unique prefix of at least 4 digits); out of order only if\n"
              "no later patch depends on it.\n"},
    {.name = "list",
     .run = cmd_list,
     .opts = list_opts,
     .flags = 0,
     .args = "PID | --all",
     .summary = "applied patches of a process (or of every process)",
     .usage = "usage: lpatch list [OPTIONS] PID\n"
              "   or: lpatch list [OPTIONS] --all\n"
              "\n"
              "List the patches applied to process PID (or to every process), with their\n"
              "status and redirected functions.\n"},
    {.name = "check",
     .run = cmd_check,
     .opts = check_opts,
     .flags = 0,
     .args = "PID PATCH",
     .summary = "is PATCH applied, applicable, and if not, why",
     .usage = "usage: lpatch check [OPTIONS] PID PATCH\n"
              "\n"
              "Say whether PATCH is applied to process PID, could be applied, or why not.\n"
              "Exit status 0: applied or applicable, 1: not applicable.\n"},
    {.name = "info",
     .run = cmd_info,
     .opts = info_opts,
     .flags = 0,
     .args = "PATCH",
     .summary = "describe a patch file",
     .usage = "usage: lpatch info [OPTIONS] PATCH\n"
              "\n"
              "Describe a patch file: its id, module, build-ids and functions, and its\n"
              "signature (PATCH.sig) as checked against the keys directory.\n"},
    {.name = "install",
     .run = cmd_install,
     .opts = install_opts,
     .flags = 0,
     .args = "PATCH|MANIFEST|DIR...",
     .summary = "install patches in the registry, in stacking order",
     .usage = "usage: lpatch install [OPTIONS] PATCH|MANIFEST|DIR...\n"
              "\n"
              "Copy each patch (and PATCH.sig) into the registry, $" LPR_ROOT_ENV
              " or\n" LPR_ROOT_DEFAULT ", under the old build-id of the module build its chain\n"
              "starts from, after the patches installed before it.  A MANIFEST (a\n"
              "make livepatch manifest.json, or DIR/manifest.json) installs the patches it\n"
              "lists, in its order, and is kept beside them.  A patch must stack: on the\n"
              "build its chain starts from or on the build its newest patch leaves.  Every\n"
              "file is checked (signature, format, stacking) before anything is written.\n"
              "A patch installed already is left as it is.  No process is touched: run\n"
              "'lpatch auto'.\n"},
    {.name = "remove",
     .run = cmd_remove,
     .opts = remove_opts,
     .flags = 0,
     .args = "PATCH-ID|PATCH...",
     .summary = "take patches out of the registry",
     .usage = "usage: lpatch remove [OPTIONS] PATCH-ID|PATCH...\n"
              "\n"
              "Take the patch (its id, a unique prefix of at least 4 digits, or a patch\n"
              "file) out of the registry; refused while a later installed patch stacks\n"
              "on it, unless --force removes those too.  A patch not installed is\n"
              "reported and skipped.  'lpatch auto' then reverts it where it is applied.\n"},
    {.name = "auto",
     .run = cmd_auto,
     .opts = auto_opts,
     .flags = CMD_REALTIME,
     .args = "",
     .summary = "bring every process in line with the registry",
     .usage = "usage: lpatch auto [OPTIONS]\n"
              "\n"
              "For every process mapping a module with installed patches (by build-id):\n"
              "revert, newest first, the applied patches removed from the registry, then\n"
              "apply the installed patches not yet applied, in stacking order.  Each\n"
              "registry file is checked against the signature policy again.  A failure\n"
              "stops that chain in that process only; exit status 1 if any process\n"
              "failed.  A process that exits meanwhile is not a failure.\n"},
    {.name = "status",
     .run = cmd_status,
     .opts = status_opts,
     .flags = 0,
     .args = "[PID...]",
     .summary = "installed patches per process: applied, pending, refused",
     .usage = "usage: lpatch status [OPTIONS] [PID...]\n"
              "\n"
              "For every process mapping a module with installed patches (or the PIDs\n"
              "given): each such module and build-id, and each installed patch applied,\n"
              "pending (and whether it applies now) or refused, and why; patches\n"
              "applied but removed from the registry, and applied patches the registry\n"
              "does not hold.  Changes nothing.\n"},
    {.name = "keygen",
     .run = cmd_keygen,
     .opts = keygen_opts,
     .flags = 0,
     .args = "NAME",
     .summary = "make an Ed25519 key pair for signing patches",
     .usage = "usage: lpatch keygen [--out DIR] NAME\n"
              "\n"
              "Make DIR/NAME.sec (the secret key, mode 0600) and DIR/NAME.pub (the public\n"
              "key, for the keys directory of the hosts to patch); print the key id.\n"
              "Existing files are not overwritten.  The files are signify's.\n"},
    {.name = "sign",
     .run = cmd_sign,
     .opts = sign_opts,
     .flags = 0,
     .args = "--key SECRET FILE...",
     .summary = "sign patch files and manifests (FILE.sig)",
     .usage = "usage: lpatch sign --key SECRET FILE...\n"
              "\n"
              "Write FILE.sig, the detached Ed25519 signature of each FILE's bytes (a\n"
              "patch file, a manifest.json), replacing an older one.\n"},
    {.name = "verify",
     .run = cmd_verify,
     .opts = verify_opts,
     .flags = 0,
     .args = "FILE...",
     .summary = "check the signatures of files against the keys directory",
     .usage = "usage: lpatch verify [OPTIONS] FILE...\n"
              "\n"
              "Check each FILE.sig against the public keys (*.pub) of the keys directory,\n"
              "$LIVEPATCH_KEYS_DIR or " LPSIGN_KEYS_DIR ".  Exit status 0 only when\n"
              "every FILE has a good signature by one of them.\n"},
    {.name = "help",
     .run = cmd_help,
     .opts = help_opts,
     .flags = 0,
     .args = "[COMMAND]",
     .summary = "this overview, or COMMAND's usage and options",
     .usage = "usage: lpatch help [COMMAND]\n"
              "\n"
              "Print the overview of the commands, or COMMAND's usage and options (as\n"
              "'lpatch COMMAND --help' does).\n"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char exit_status[] =
    "exit status:\n"
    "  0  done (check: applied or applicable)\n"
    "  1  refused: not applicable (build-id, code differs, already applied, a function\n"
    "     not where the module's records put it, a seccomp target), not safe after\n"
    "     the retries, or another patch depends on it; or its signature:\n"
    "     unsigned, unknown key or bad, while the keys directory holds keys; install:\n"
    "     a patch that does not stack; remove: a later patch stacks on it; auto: a\n"
    "     process failed (the others are still done)\n"
    "  2  usage or input error: bad arguments, bad patch file, no such process\n"
    "  3  ptrace or /proc access refused\n";

static const struct lpa_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

/* ---- help ------------------------------------------------------------- */

#define HELP_COL 26 /* where option and command descriptions start */

/* text at HELP_COL, its '\n'-separated lines after the first indented so. */
static void print_column(FILE *f, int used, const char *text)
{
    if (used >= HELP_COL) {
        fputc('\n', f);
        used = 0;
    }
    for (;;) {
        const char *nl = strchr(text, '\n');
        int len = nl ? (int)(nl - text) : (int)strlen(text);
        fprintf(f, "%*s%.*s\n", HELP_COL - used, "", len, text);
        if (!nl)
            break;
        text = nl + 1;
        used = 0;
    }
}

static void print_option(FILE *f, enum cli_opt id, const char *help)
{
    assert(id > OPT_NONE && id < OPT__COUNT);
    const struct cli_option *o = &options[id];
    assert((help || o->help) && "an option without a help text");
    int n = fprintf(f, "  ");
    if (o->short_name)
        n += fprintf(f, "-%c, ", o->short_name);
    n += fprintf(f, "--%s", o->name);
    if (o->arg)
        n += fprintf(f, " %s", o->arg);
    print_column(f, n, help ? help : o->help);
}

static void print_usage(FILE *f, const struct lpa_cmd *cmd)
{
    fputs(cmd->usage, f);
    fputs("\noptions:\n", f);
    for (const struct cmd_option *co = cmd->opts; co->id != OPT_NONE; co++)
        print_option(f, co->id, co->help);
    print_option(f, OPT_HELP, NULL);
}

static void print_overview(FILE *f)
{
    fputs("usage: lpatch COMMAND [OPTIONS] ARGS\n"
          "\n"
          "Live-patch running processes built with the livepatch GCC plugin.\n"
          "\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        int n = fprintf(f, "  %s %s", commands[i].name, commands[i].args);
        print_column(f, n, commands[i].summary);
    }
    fputs("\n"
          "Each command takes only its own options; 'lpatch COMMAND --help' (or\n"
          "'lpatch help COMMAND') prints its usage and options.\n"
          "\n"
          "Signatures: when the keys directory ($" LPSIGN_KEYS_ENV ", default\n" LPSIGN_KEYS_DIR
          ") holds public keys (*.pub), apply, check, verify, install\n"
          "and auto accept a patch only with a good signature (PATCH.sig) by one of\n"
          "them (auto checks the registry's copy again).\n"
          "\n",
          f);
    fputs(exit_status, f);
}

static int cmd_help(struct cli *c)
{
    if (c->nargs > 1)
        return fail(LPA_USAGE, "help: expected at most one COMMAND");
    if (!c->nargs) {
        print_overview(stdout);
        return 0;
    }
    const struct lpa_cmd *cmd = find_command(c->args[0]);
    if (!cmd)
        return fail(LPA_USAGE, "unknown command '%s'; try 'lpatch --help'", c->args[0]);
    print_usage(stdout, cmd);
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

/* ---- the parser ------------------------------------------------------- */

enum { PARSE_HELP = -1 }; /* --help: print the command's usage */

/* Store one option a command accepted. */
static int set_option(struct cli *c, enum cli_opt id, char *arg)
{
    long v;
    switch (id) {
    case OPT_JSON:
        c->json = 1;
        break;
    case OPT_STATS:
        c->stats = 1;
        break;
    case OPT_ALLOW:
        c->o.allow_active = grow_list(c->o.allow_active, (c->o.nallow + 1) * sizeof(char *));
        c->o.allow_active[c->o.nallow++] = arg;
        break;
    case OPT_RETRIES:
        if (parse_num("--retries", arg, 10000, &v))
            return LPA_USAGE;
        c->o.retries = (int)(v ? v : 1);
        break;
    case OPT_BACKOFF:
        if (parse_num("--backoff", arg, 60000, &v))
            return LPA_USAGE;
        c->o.backoff_us = (unsigned)v * 1000;
        break;
    case OPT_BACKOFF_MAX:
        if (parse_num("--backoff-max", arg, 600000, &v))
            return LPA_USAGE;
        c->o.backoff_max_us = (unsigned)v * 1000;
        break;
    case OPT_TIMEOUT:
        if (parse_num("--timeout", arg, 600000, &v))
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
        c->module = arg;
        break;
    case OPT_OUT:
        c->out = arg;
        break;
    case OPT_KEY:
        c->key = arg;
        break;
    case OPT_DRY_RUN:
        c->dry_run = 1;
        break;
    case OPT_FORCE:
        c->force = 1;
        break;
    case OPT_HELP:
        return PARSE_HELP;
    case OPT_NONE:
    case OPT__COUNT:
        assert(!"not an option");
        return LPA_USAGE;
    }
    return 0;
}

/* The option getopt_long stopped at, as the user wrote it ("--name" without
 * "=value", or "-c"), into buf. */
static const char *bad_option(char **argv, int val, char *buf, size_t len)
{
    if (val >= OPT_VAL(OPT_NONE + 1) && val < OPT_VAL(OPT__COUNT))
        snprintf(buf, len, "--%s", options[val - OPT_VAL(0)].name);
    else if (val > 0 && val < 256)
        snprintf(buf, len, "-%c", val);
    else
        snprintf(buf, len, "%.*s", (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
    return buf;
}

/* How many of the long options start with the NAME of "--NAME". */
static int prefix_matches(const struct option *lo, const char *opt)
{
    int n = 0;
    if (strncmp(opt, "--", 2) != 0)
        return 0;
    for (; lo->name; lo++)
        n += strncmp(lo->name, opt + 2, strlen(opt + 2)) == 0;
    return n;
}

static int usage_error(const struct lpa_cmd *cmd, const char *fmt, const char *opt)
{
    fprintf(stderr, "lpatch %s: ", cmd->name);
    fprintf(stderr, fmt, opt);
    fprintf(stderr, "\nTry 'lpatch %s --help'.\n", cmd->name);
    return LPA_USAGE;
}

/* Parse argv (argv[0] is the command's name) with the command's options
 * only; the operands go to c->args.  0, PARSE_HELP or LPA_USAGE. */
static int parse_options(const struct lpa_cmd *cmd, int argc, char **argv, struct cli *c)
{
    struct option lo[OPT__COUNT + 1];
    char shorts[2 * OPT__COUNT + 2] = ":"; /* ':': a missing argument is reported as such */
    unsigned seen = 0;
    size_t n = 0;
    for (const struct cmd_option *co = cmd->opts;; co++) {
        enum cli_opt id = co->id != OPT_NONE ? co->id : OPT_HELP;
        assert(id > OPT_NONE && id < OPT__COUNT);
        assert(!(seen & (1u << id)) && "an option listed twice");
        seen |= 1u << id;
        const struct cli_option *o = &options[id];
        lo[n++] =
            (struct option){o->name, o->arg ? required_argument : no_argument, NULL, OPT_VAL(id)};
        if (o->short_name) {
            size_t k = strlen(shorts);
            assert(k + 2 < sizeof shorts);
            shorts[k] = o->short_name;
            shorts[k + 1] = o->arg ? ':' : '\0';
        }
        if (co->id == OPT_NONE)
            break;
    }
    assert(n <= OPT__COUNT);
    lo[n] = (struct option){0};

    opterr = 0; /* the messages below name the command */
    optind = 1;
    int ch;
    char buf[128];
    while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (ch == '?') {
            const char *opt = bad_option(argv, optopt, buf, sizeof buf);
            if (optopt >= OPT_VAL(0)) /* a flag given "=value" */
                return usage_error(cmd, "option '%s' takes no argument", opt);
            return usage_error(
                cmd, prefix_matches(lo, opt) > 1 ? "ambiguous option '%s'" : "unknown option '%s'",
                opt);
        }
        if (ch == ':')
            return usage_error(cmd, "option '%s' needs an argument",
                               bad_option(argv, optopt, buf, sizeof buf));
        enum cli_opt id = OPT_NONE;
        if (ch >= OPT_VAL(OPT_NONE + 1) && ch < OPT_VAL(OPT__COUNT))
            id = (enum cli_opt)(ch - OPT_VAL(0));
        for (int i = OPT_NONE + 1; i < OPT__COUNT && id == OPT_NONE; i++)
            if (options[i].short_name == ch)
                id = (enum cli_opt)i;
        assert(id != OPT_NONE && (seen & (1u << id)) && "getopt_long returned an option not given");
        int rc = set_option(c, id, optarg);
        if (rc)
            return rc;
    }
    c->args = argv + optind;
    c->nargs = argc - optind;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fail(LPA_USAGE, "missing command; try 'lpatch --help'");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        print_overview(stdout);
        return 0;
    }
    const struct lpa_cmd *cmd = find_command(argv[1]);
    if (!cmd)
        return fail(LPA_USAGE, "unknown command '%s'; try 'lpatch --help'", argv[1]);
    struct cli c = {0};
    lpa_opts_default(&c.o);
    int rc = parse_options(cmd, argc - 1, argv + 1, &c);
    if (rc == PARSE_HELP) {
        print_usage(stdout, cmd);
        rc = 0;
    } else if (rc == 0) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (cmd->flags & CMD_REALTIME)
            lpa_realtime(&c.o, 1);
        rc = cmd->run(&c);
        if (cmd->flags & CMD_REALTIME)
            lpa_realtime(&c.o, 0);
    }
    free(c.o.allow_active);
    return rc;
}
