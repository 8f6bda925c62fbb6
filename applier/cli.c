/*
 * cli.c - the helpers lpatch's command handlers share (cli.h): the one
 * error line on stderr, list growth that ends lpatch when memory runs out
 * (before it touched any process), loading a patch file: its bytes are
 * read once, checked against its detached signature under the policy of
 * the keys directory (sign/lpsign.h), and only then parsed, so what is
 * verified is what is applied and an unverified file never reaches the
 * parser when signatures are required.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_prog = "lpatch";

int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

void *grow_list(void *p, size_t bytes)
{
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        exit(fail(LPA_USAGE, "out of memory"));
    return q;
}

const char *sign_refusal(const struct lpsign_result *r, char *buf, size_t len)
{
    const char *dir = lpsign_keys_dir();
    switch (r->status) {
    case LPSIGN_UNSIGNED:
        snprintf(buf, len, "unsigned (no .sig; %s requires signatures)", dir);
        break;
    case LPSIGN_UNKNOWN_KEY:
        snprintf(buf, len, "signed by unknown key %s (not in %s)", r->key_id, dir);
        break;
    case LPSIGN_BAD:
        snprintf(buf, len, "bad signature: %s", r->detail);
        break;
    case LPSIGN_UNCHECKED:
    case LPSIGN_GOOD:
        snprintf(buf, len, "%s", lpsign_status_name(r->status));
        break;
    }
    return buf;
}

int load_patch_quiet(const char *path, struct lp_patch **p, struct lpa_bytes *bytes,
                     struct lpsign_result *sig, int refuse, char *why)
{
    char err[LP_ERR_MAX];
    uint8_t *buf;
    size_t len;
    *p = NULL;
    if (lpsign_read_file(path, &buf, &len, err) != 0) {
        snprintf(why, LOAD_WHY_MAX, "%s", err);
        return LPA_USAGE;
    }
    int rc = 0;
    if (lpsign_check(buf, len, path, NULL, sig, err) != 0) {
        snprintf(why, LOAD_WHY_MAX, "%s: cannot check its signature: %s", path, err);
        rc = LPA_USAGE;
    } else if (refuse && !lpsign_acceptable(sig)) {
        snprintf(why, LOAD_WHY_MAX, "%s: refused: %s", path, sign_refusal(sig, err, sizeof err));
        rc = LPA_REFUSED;
    } else if (lp_patch_parse_named(buf, len, path, p, err) != 0) {
        snprintf(why, LOAD_WHY_MAX, "%s", err);
        rc = LPA_USAGE;
    }
    if (rc == 0 && bytes) {
        bytes->data = buf;
        bytes->len = len;
    } else {
        free(buf);
    }
    return rc;
}

/* Read, check the signature, parse unless refused (refuse != 0). */
static int load_checked(const char *path, struct lp_patch **p, struct lpsign_result *sig,
                        int refuse)
{
    char why[LOAD_WHY_MAX];
    int rc = load_patch_quiet(path, p, NULL, sig, refuse, why);
    return rc ? fail(rc, "%s", why) : 0;
}

int load_patch(const char *path, struct lp_patch **p)
{
    struct lpsign_result sig;
    return load_checked(path, p, &sig, 1);
}

int load_patch_sig(const char *path, struct lp_patch **p, struct lpsign_result *sig)
{
    return load_checked(path, p, sig, 0);
}
