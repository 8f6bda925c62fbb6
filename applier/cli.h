/*
 * cli.h - what lpatch's command handlers share: the parsed command line
 * (struct cli) and the helpers for errors, JSON strings, process ids and
 * patch files (checked against the keys directory first: lpsign.h).  main.c owns the command table
 * and the option parser and fills struct cli; the handlers in cmd_*.c only read it.  A handler sees
 * just the options its command accepts; the rest keep their defaults.
 */
#ifndef LPATCH_CLI_H
#define LPATCH_CLI_H

#include <stdio.h>
#include <sys/types.h>

#include "apply.h"
#include "liblivepatch.h"
#include "lpcli.h" /* lpcli_json_print: every string in --json output */
#include "lpsign.h"

struct cli {
    int json, stats, all;
    int dry_run, force; /* auto --dry-run; install, remove --force */
    const char *module;
    const char *out, *key; /* keygen --out, sign --key */
    struct lpa_opts o;
    char **args; /* the operands, after the options */
    int nargs;
};

/* "lpatch: MESSAGE" on stderr; returns code. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* realloc for the command line's own lists; out of memory ends lpatch
 * (before it touched any process). */
void *grow_list(void *p, size_t bytes);
/* Load a patch file whose signature policy allows it: the bytes read are
 * checked against PATH.sig and the keys directory (lpsign_check) before the
 * parser sees them; a refusal is LPA_REFUSED with one line naming the file
 * and the reason, a file or parse error LPA_USAGE with the loader's. */
int load_patch(const char *path, struct lp_patch **p);
/* load_patch without printing: 0, or LPA_REFUSED (refuse != 0 and the
 * signature does not pass) or LPA_USAGE with the line into why
 * (LOAD_WHY_MAX bytes).  bytes, if not NULL, gets the very bytes checked
 * and parsed (malloc'd: free bytes->data). */
#define LOAD_WHY_MAX (LP_ERR_MAX + LPSIGN_ERR_MAX + 4096)
struct lpa_bytes {
    uint8_t *data;
    size_t len;
};
int load_patch_quiet(const char *path, struct lp_patch **p, struct lpa_bytes *bytes,
                     struct lpsign_result *sig, int refuse, char *why);
/* The same without refusing: the verdict into *sig (lpatch info). */
int load_patch_sig(const char *path, struct lp_patch **p, struct lpsign_result *sig);
/* Why r does not pass, for the refusal line ("unsigned (...)"). */
const char *sign_refusal(const struct lpsign_result *r, char *buf, size_t len);

/* The commands (cmd_apply.c: apply, revert; cmd_inspect.c: list, check,
 * info).  Each returns lpatch's exit status (LPA_*). */
int cmd_apply(struct cli *c);
int cmd_revert(struct cli *c);
int cmd_list(struct cli *c);
int cmd_check(struct cli *c);
int cmd_info(struct cli *c);
/* cmd_registry.c: install, remove, auto, status (the registry: registry.h). */
int cmd_install(struct cli *c);
int cmd_remove(struct cli *c);
int cmd_auto(struct cli *c);
int cmd_status(struct cli *c);
/* One `auto` pass (cmd_auto.c) over pids[0..n) or, pids NULL, every
 * process: the lines of `lpatch auto` for each action and failure, not its
 * summary; the counts into *sum if not NULL.  Returns auto's exit status. */
struct auto_sum {
    unsigned nprocs, applied, reverted, failed, exited;
    size_t nchains; /* chains in the registry read */
};
int auto_pass(struct cli *c, const pid_t *pids, size_t n, struct auto_sum *sum);
/* The name fail() puts before its message ("lpatch" unless set). */
extern const char *cli_prog;
/* cmd_keys.c: keygen, sign, verify. */
int cmd_keygen(struct cli *c);
int cmd_sign(struct cli *c);
int cmd_verify(struct cli *c);

#endif
