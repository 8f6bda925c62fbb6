/*
 * cmd_keys.c - lpatch's signing commands: `keygen` (an Ed25519 key pair),
 * `sign` (FILE.sig for patch files and manifests) and `verify` (each file's
 * signature against the keys directory).  The crypto and the file formats
 * are liblpsign's (sign/lpsign.h); this file checks operands and reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "cli.h"
#include "lpsign.h"

int cmd_keygen(struct cli *c)
{
    if (c->nargs != 1)
        return fail(LPA_USAGE, "keygen: expected NAME (the key files are NAME.sec, NAME.pub)");
    const char *dir = c->out ? c->out : ".";
    char id[LPSIGN_ID_HEX], err[LPSIGN_ERR_MAX];
    if (lpsign_keygen(dir, c->args[0], id, err) != 0)
        return fail(LPA_USAGE, "keygen: %s", err);
    printf("key id %s\n", id);
    printf("  secret %s/%s.sec (mode 0600: sign with it, keep it off the hosts)\n", dir,
           c->args[0]);
    printf("  public %s/%s.pub (put it in %s on the hosts to patch)\n", dir, c->args[0],
           LPSIGN_KEYS_DIR);
    return 0;
}

int cmd_sign(struct cli *c)
{
    if (!c->key)
        return fail(LPA_USAGE, "sign: expected --key SECRET");
    if (c->nargs < 1)
        return fail(LPA_USAGE, "sign: expected FILE...");
    for (int i = 0; i < c->nargs; i++) {
        char id[LPSIGN_ID_HEX], err[LPSIGN_ERR_MAX];
        if (lpsign_sign_file(c->key, c->args[i], id, err) != 0)
            return fail(LPA_USAGE, "sign: %s", err);
        printf("signed %s with key %s: %s.sig\n", c->args[i], id, c->args[i]);
    }
    return 0;
}

int cmd_verify(struct cli *c)
{
    if (c->nargs < 1)
        return fail(LPA_USAGE, "verify: expected FILE...");
    int worst = 0;
    for (int i = 0; i < c->nargs; i++) {
        const char *file = c->args[i];
        char err[LPSIGN_ERR_MAX + 128];
        uint8_t *buf;
        size_t len;
        struct lpsign_result r;
        if (lpsign_read_file(file, &buf, &len, err) != 0) {
            worst = fail(LPA_USAGE, "verify: %s", err);
            continue;
        }
        int rc = lpsign_check(buf, len, file, NULL, &r, err);
        free(buf);
        if (rc != 0) {
            worst = fail(LPA_USAGE, "verify: %s: cannot check its signature: %s", file, err);
            continue;
        }
        int good = r.status == LPSIGN_GOOD;
        if (c->json) {
            printf("{\"file\":");
            lpcli_json_print(stdout, file);
            printf(",\"status\":\"%s\",\"enforced\":%s,\"key_id\":", lpsign_status_name(r.status),
                   r.enforced ? "true" : "false");
            lpcli_json_print(stdout, r.key_id);
            printf(",\"detail\":");
            lpcli_json_print(stdout, r.detail);
            printf("}\n");
        } else if (good) {
            printf("%s: good signature, key %s (%s)\n", file, r.key_id, r.detail);
        } else if (r.status == LPSIGN_UNCHECKED) {
            fail(LPA_REFUSED, "%s: not checked: key %s, and no keys in %s", file, r.key_id,
                 lpsign_keys_dir());
        } else {
            fail(LPA_REFUSED, "%s: %s", file, sign_refusal(&r, err, sizeof err));
        }
        if (!good && worst < LPA_REFUSED)
            worst = LPA_REFUSED;
    }
    return worst;
}
