/*
 * lpsign.h - public API of sign/ (liblpsign): Ed25519 key pairs, detached
 * signatures of files (patch files, manifests) and the verification policy
 * lpatch (and, later, lpatchd) applies before it trusts a file.
 *
 * The files are those of OpenBSD's signify, so signify-openbsd can make and
 * check them too (docs/signing.md):
 *   NAME.pub   "untrusted comment: ...\n" base64("Ed" KEYNUM[8] PUBKEY[32])
 *   NAME.sec   "untrusted comment: ...\n" base64("Ed" "BK" ROUNDS[4] SALT[16]
 *              CHECKSUM[8] KEYNUM[8] SECKEY[64]), unencrypted (ROUNDS 0),
 *              mode 0600
 *   FILE.sig   "untrusted comment: ...\n" base64("Ed" KEYNUM[8] SIG[64]),
 *              the Ed25519 signature of FILE's bytes exactly
 * KEYNUM (8 random bytes, printed as 16 hex digits) is the key id.  The
 * comment lines are never trusted.  The crypto is libsodium's.
 *
 * Policy: signatures are required when the keys directory ($LIVEPATCH_KEYS_DIR,
 * default /etc/livepatch/keys) holds at least one *.pub file; then a file
 * is accepted only with a good signature by one of those keys.  The directory
 * and its keys must be owned by root (or the caller) and not writable by
 * group or others, or the check fails (-1) naming them.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * one line (no newline) naming the file and the problem in `err`.
 */
#ifndef LPSIGN_H
#define LPSIGN_H

#include <stddef.h>
#include <stdint.h>

#define LPSIGN_ERR_MAX  512
#define LPSIGN_KEYS_DIR "/etc/livepatch/keys"
#define LPSIGN_KEYS_ENV "LIVEPATCH_KEYS_DIR"
#define LPSIGN_ID_HEX   17 /* 16 hex digits and NUL */

/* The keys directory: $LIVEPATCH_KEYS_DIR if set and not empty, else
 * LPSIGN_KEYS_DIR. */
const char *lpsign_keys_dir(void);

/* Make DIR/NAME.sec (mode 0600, never overwritten) and DIR/NAME.pub;
 * the key id into id. */
int lpsign_keygen(const char *dir, const char *name, char id[LPSIGN_ID_HEX], char *err);

/* Sign FILE with the secret key file: FILE.sig (replaced atomically); the
 * key id into id. */
int lpsign_sign_file(const char *seckey, const char *file, char id[LPSIGN_ID_HEX], char *err);

/* A whole regular file (at most 4 GiB) into *buf (malloc'd; free it). */
int lpsign_read_file(const char *path, uint8_t **buf, size_t *len, char *err);

enum lpsign_status {
    LPSIGN_UNSIGNED,    /* no FILE.sig */
    LPSIGN_GOOD,        /* good signature by a key of the keys directory */
    LPSIGN_UNCHECKED,   /* FILE.sig present, but no keys to check it with */
    LPSIGN_UNKNOWN_KEY, /* signed by a key the directory does not hold */
    LPSIGN_BAD,         /* FILE.sig malformed, or the signature does not match */
};

struct lpsign_result {
    enum lpsign_status status;
    int enforced;                /* the keys directory holds keys: only GOOD passes */
    char key_id[LPSIGN_ID_HEX];  /* the signature's key id ("" when unsigned) */
    char detail[LPSIGN_ERR_MAX]; /* for BAD: what is wrong; for GOOD: the key file */
};

/* Check the signature FILE.sig of buf/len (FILE's bytes, as read by the
 * caller: what is checked is what is used) against the keys directory
 * (lpsign_keys_dir() when keys_dir is NULL).  -1 only when the check itself
 * cannot be made (an unreadable keys directory or a malformed key file);
 * otherwise 0 with the verdict in *r. */
int lpsign_check(const void *buf, size_t len, const char *file, const char *keys_dir,
                 struct lpsign_result *r, char *err);

/* Whether the verdict lets the file be used: GOOD, or any status when the
 * policy is not enforced. */
int lpsign_acceptable(const struct lpsign_result *r);

/* "good", "unsigned", "not checked", "unknown key", "bad signature". */
const char *lpsign_status_name(enum lpsign_status s);

#endif
