/*
 * sign.c - liblpsign (lpsign.h): Ed25519 key pairs, detached signatures
 * and their check against the keys directory, in signify's file formats,
 * with libsodium for the curve, the hash, the randomness and base64.
 *
 * A signify file is two lines: an untrusted comment and one base64 blob of
 * a fixed size that starts with the algorithm "Ed".  Every blob read here
 * must decode to exactly its size; anything else is named and rejected.
 * The secret key is written unencrypted (ROUNDS 0: its protection is the
 * file's mode, 0600) and wiped from memory after use.
 */
#include "lpsign.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMMENT_HDR   "untrusted comment: "
#define KEYNUM_LEN    8
#define MAX_SIGN_FILE (1ull << 32)
#define MAX_KEY_FILE  4096 /* a comment line and a blob; signify's comments are shorter */

struct pubkey_blob {
    uint8_t alg[2];
    uint8_t keynum[KEYNUM_LEN];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};
struct sig_blob {
    uint8_t alg[2];
    uint8_t keynum[KEYNUM_LEN];
    uint8_t sig[crypto_sign_BYTES];
};
struct seckey_blob {
    uint8_t alg[2];
    uint8_t kdfalg[2];
    uint32_t kdfrounds; /* big-endian; 0: not encrypted */
    uint8_t salt[16];
    uint8_t checksum[8]; /* SHA-512 of sk, first 8 bytes */
    uint8_t keynum[KEYNUM_LEN];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
};
_Static_assert(sizeof(struct pubkey_blob) == 42, "signify public key: 42 bytes");
_Static_assert(sizeof(struct sig_blob) == 74, "signify signature: 74 bytes");
_Static_assert(sizeof(struct seckey_blob) == 104, "signify secret key: 104 bytes");

static int fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, LPSIGN_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

static int init(char *err)
{
    if (sodium_init() < 0)
        return fail(err, "libsodium cannot be initialised");
    return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

const char *lpsign_keys_dir(void)
{
    const char *d = getenv(LPSIGN_KEYS_ENV);
    return d && *d ? d : LPSIGN_KEYS_DIR;
}

const char *lpsign_status_name(enum lpsign_status s)
{
    switch (s) {
    case LPSIGN_UNSIGNED:
        return "unsigned";
    case LPSIGN_GOOD:
        return "good";
    case LPSIGN_UNCHECKED:
        return "not checked";
    case LPSIGN_UNKNOWN_KEY:
        return "unknown key";
    case LPSIGN_BAD:
        return "bad signature";
    }
    return "?";
}

int lpsign_acceptable(const struct lpsign_result *r)
{
    return !r->enforced || r->status == LPSIGN_GOOD;
}

/* ---- files ------------------------------------------------------------ */

static int read_limited(const char *path, uint64_t max, uint8_t **buf, size_t *len, char *err)
{
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file
     * ignores the flag, and anything else is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        close(fd);
        return fail(err, "%s: not a regular file of at most %llu bytes", path,
                    (unsigned long long)max);
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *b = malloc(n + 1); /* +1: text files end in a NUL */
    if (!b) {
        close(fd);
        return fail(err, "%s: out of memory (%zu bytes)", path, n);
    }
    while (got < n) {
        ssize_t k = read(fd, b + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            close(fd);
            free(b);
            return fail(err, "%s: read failed: %s", path, strerror(e));
        }
        got += (size_t)k;
    }
    close(fd);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

int lpsign_read_file(const char *path, uint8_t **buf, size_t *len, char *err)
{
    return read_limited(path, MAX_SIGN_FILE, buf, len, err);
}

/* Parse a signify file's text: the comment line, then exactly one base64
 * blob of `size` bytes starting with "Ed" (a final newline allowed). */
static int parse_blob(const char *path, const char *text, size_t len, void *blob, size_t size,
                      char *err)
{
    assert(size >= 2);
    if (strlen(text) != len)
        return fail(err, "%s: not a signify text file (NUL byte)", path);
    if (strncmp(text, COMMENT_HDR, strlen(COMMENT_HDR)) != 0)
        return fail(err, "%s: first line is not '%s...'", path, COMMENT_HDR);
    const char *nl = strchr(text, '\n');
    if (!nl)
        return fail(err, "%s: no line after the comment", path);
    const char *b64 = nl + 1, *end = strchr(b64, '\n');
    size_t b64len = end ? (size_t)(end - b64) : strlen(b64);
    if (end && end[1] != '\0')
        return fail(err, "%s: text after the second line", path);
    size_t got = 0;
    const char *stop = NULL;
    if (sodium_base642bin(blob, size, b64, b64len, NULL, &got, &stop,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        stop != b64 + b64len || got != size)
        return fail(err, "%s: second line is not base64 of %zu bytes", path, size);
    if (memcmp(blob, "Ed", 2) != 0)
        return fail(err, "%s: algorithm is not Ed25519 ('Ed')", path);
    return 0;
}

static int read_blob(const char *path, void *blob, size_t size, char *err)
{
    uint8_t *text;
    size_t len;
    if (read_limited(path, MAX_KEY_FILE, &text, &len, err) != 0)
        return -1;
    int rc = parse_blob(path, (const char *)text, len, blob, size, err);
    sodium_memzero(text, len);
    free(text);
    return rc;
}

/* The comment line and the blob, into an open fd; then closed. */
static int write_blob(int fd, const char *path, const char *comment, const void *blob, size_t size,
                      char *err)
{
    char b64[sodium_base64_ENCODED_LEN(sizeof(struct seckey_blob), sodium_base64_VARIANT_ORIGINAL)];
    assert(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL) <= sizeof b64);
    sodium_bin2base64(b64, sizeof b64, blob, size, sodium_base64_VARIANT_ORIGINAL);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return fail(err, "%s: %s", path, strerror(errno));
    }
    fprintf(f, "%s%s\n%s\n", COMMENT_HDR, comment, b64);
    sodium_memzero(b64, sizeof b64);
    int bad = ferror(f) | fflush(f) | fsync(fileno(f));
    if (fclose(f) != 0 || bad)
        return fail(err, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

/* ---- keygen, sign ----------------------------------------------------- */

int lpsign_keygen(const char *dir, const char *name, char id[LPSIGN_ID_HEX], char *err)
{
    if (init(err))
        return -1;
    if (!*name || strchr(name, '/'))
        return fail(err, "key name '%s': not a file name", name);
    char sec[PATH_MAX], pub[PATH_MAX];
    if ((size_t)snprintf(sec, sizeof sec, "%s/%s.sec", dir, name) >= sizeof sec ||
        (size_t)snprintf(pub, sizeof pub, "%s/%s.pub", dir, name) >= sizeof pub)
        return fail(err, "%s/%s: path too long", dir, name);
    if (access(pub, F_OK) == 0)
        return fail(err, "%s: exists; not overwritten", pub);

    struct seckey_blob s = {.alg = "Ed", .kdfalg = "BK", .kdfrounds = htonl(0)};
    struct pubkey_blob p = {.alg = "Ed"};
    crypto_sign_keypair(p.pk, s.sk);
    randombytes_buf(s.keynum, sizeof s.keynum);
    randombytes_buf(s.salt, sizeof s.salt);
    memcpy(p.keynum, s.keynum, sizeof p.keynum);
    uint8_t digest[crypto_hash_sha512_BYTES];
    crypto_hash_sha512(digest, s.sk, sizeof s.sk);
    memcpy(s.checksum, digest, sizeof s.checksum);

    char comment[PATH_MAX + 32];
    int rc = -1;
    int fd = open(sec, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail(err, "%s: cannot create: %s", sec, strerror(errno));
        goto out;
    }
    snprintf(comment, sizeof comment, "%s secret key", name);
    if (write_blob(fd, sec, comment, &s, sizeof s, err) != 0)
        goto out_unlink;
    fd = open(pub, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fail(err, "%s: cannot create: %s", pub, strerror(errno));
        goto out_unlink;
    }
    snprintf(comment, sizeof comment, "%s public key", name);
    if (write_blob(fd, pub, comment, &p, sizeof p, err) != 0) {
        unlink(pub);
        goto out_unlink;
    }
    hex(p.keynum, sizeof p.keynum, id);
    rc = 0;
    goto out;
out_unlink:
    unlink(sec);
out:
    sodium_memzero(&s, sizeof s);
    return rc;
}

int lpsign_sign_file(const char *seckey, const char *file, char id[LPSIGN_ID_HEX], char *err)
{
    if (init(err))
        return -1;
    struct seckey_blob s;
    if (read_blob(seckey, &s, sizeof s, err) != 0)
        return -1;
    int rc = -1;
    uint8_t digest[crypto_hash_sha512_BYTES];
    uint8_t *msg = NULL;
    size_t len;
    if (memcmp(s.kdfalg, "BK", 2) != 0) {
        fail(err, "%s: not a signify secret key (KDF '%.2s')", seckey, (const char *)s.kdfalg);
        goto out;
    }
    if (ntohl(s.kdfrounds) != 0) {
        fail(err, "%s: passphrase-protected; lpatch signs with unencrypted keys only", seckey);
        goto out;
    }
    crypto_hash_sha512(digest, s.sk, sizeof s.sk);
    if (sodium_memcmp(digest, s.checksum, sizeof s.checksum) != 0) {
        fail(err, "%s: checksum mismatch (a damaged secret key)", seckey);
        goto out;
    }
    if (lpsign_read_file(file, &msg, &len, err) != 0)
        goto out;
    struct sig_blob sig = {.alg = "Ed"};
    memcpy(sig.keynum, s.keynum, sizeof sig.keynum);
    crypto_sign_detached(sig.sig, NULL, msg, len, s.sk);

    char sigpath[PATH_MAX], tmp[PATH_MAX + 16];
    if ((size_t)snprintf(sigpath, sizeof sigpath, "%s.sig", file) >= sizeof sigpath) {
        fail(err, "%s.sig: path too long", file);
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", sigpath);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        fail(err, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    fchmod(fd, 0644);
    /* The comment names the public key, as signify's does; only a hint. */
    const char *base = strrchr(seckey, '/');
    base = base ? base + 1 : seckey;
    size_t bl = strlen(base);
    char comment[PATH_MAX + 32];
    snprintf(comment, sizeof comment, "verify with %.*s.pub",
             (int)(bl > 4 && !strcmp(base + bl - 4, ".sec") ? bl - 4 : bl), base);
    if (write_blob(fd, tmp, comment, &sig, sizeof sig, err) != 0) {
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, sigpath) != 0) {
        fail(err, "%s: cannot rename to %s: %s", tmp, sigpath, strerror(errno));
        unlink(tmp);
        goto out;
    }
    hex(s.keynum, sizeof s.keynum, id);
    rc = 0;
out:
    free(msg);
    sodium_memzero(&s, sizeof s);
    return rc;
}

/* ---- check ------------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* A key source is trusted only if no one but root (or us) can change it. */
static int check_owner(const char *path, const struct stat *st, char *err)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return fail(err, "%s: owned by uid %u, not root; not trusted", path, (unsigned)st->st_uid);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return fail(err, "%s: writable by group or others (mode %03o); not trusted", path,
                    (unsigned)(st->st_mode & 0777));
    return 0;
}

/* Every DIR/NAME.pub: count them, and the one whose key number is keynum
 * (when keynum is not NULL) into *found.  A missing directory holds none. */
static int scan_keys(const char *dir, const uint8_t *keynum, int *nkeys, struct pubkey_blob *found,
                     int *hit, char *path_out, char *err)
{
    *nkeys = 0;
    *hit = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return fail(err, "keys directory %s: %s", dir, strerror(errno));
    }
    struct stat st;
    if (fstat(dirfd(d), &st) != 0 || check_owner(dir, &st, err) != 0) {
        closedir(d);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".pub"))
            continue;
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) {
            rc = fail(err, "%s/%s: path too long", dir, e->d_name);
            break;
        }
        struct pubkey_blob p;
        if (stat(path, &st) != 0 || check_owner(path, &st, err) != 0 ||
            read_blob(path, &p, sizeof p, err) != 0) {
            rc = -1;
            break;
        }
        (*nkeys)++;
        if (keynum && !*hit && memcmp(p.keynum, keynum, KEYNUM_LEN) == 0) {
            *found = p;
            *hit = 1;
            snprintf(path_out, PATH_MAX, "%s", path);
        }
    }
    closedir(d);
    return rc;
}

int lpsign_check(const void *buf, size_t len, const char *file, const char *keys_dir,
                 struct lpsign_result *r, char *err)
{
    memset(r, 0, sizeof *r);
    if (init(err))
        return -1;
    if (!keys_dir)
        keys_dir = lpsign_keys_dir();
    char sigpath[PATH_MAX];
    if ((size_t)snprintf(sigpath, sizeof sigpath, "%s.sig", file) >= sizeof sigpath)
        return fail(err, "%s.sig: path too long", file);

    struct sig_blob sig;
    int have_sig = 0;
    if (access(sigpath, F_OK) != 0) {
        r->status = LPSIGN_UNSIGNED;
    } else if (read_blob(sigpath, &sig, sizeof sig, r->detail) != 0) {
        r->status = LPSIGN_BAD;
    } else {
        have_sig = 1;
        hex(sig.keynum, sizeof sig.keynum, r->key_id);
    }
    int nkeys, hit;
    struct pubkey_blob pk;
    char keypath[PATH_MAX] = "";
    if (scan_keys(keys_dir, have_sig ? sig.keynum : NULL, &nkeys, &pk, &hit, keypath, err) != 0)
        return -1;
    r->enforced = nkeys > 0;
    if (!have_sig)
        return 0;
    if (!hit) {
        r->status = nkeys ? LPSIGN_UNKNOWN_KEY : LPSIGN_UNCHECKED;
        snprintf(r->detail, sizeof r->detail, "key %s is not in %.400s", r->key_id, keys_dir);
    } else if (crypto_sign_verify_detached(sig.sig, buf, len, pk.pk) != 0) {
        r->status = LPSIGN_BAD;
        snprintf(r->detail, sizeof r->detail, "%.400s does not match the file (key %s)", sigpath,
                 r->key_id);
    } else {
        r->status = LPSIGN_GOOD;
        snprintf(r->detail, sizeof r->detail, "%.500s", keypath);
    }
    return 0;
}
