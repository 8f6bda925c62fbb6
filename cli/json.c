/*
 * json.c - JSON strings from arbitrary bytes (lpcli.h).
 *
 * jansson refuses a string that is not valid UTF-8.  For such a string the
 * bytes are copied sequence by sequence: a sequence jansson accepts on its
 * own is kept, any other byte becomes U+FFFD.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lpcli.h"

/* The length a UTF-8 sequence starting with lead byte c claims; 0 if c
 * cannot start one. */
static size_t utf8_claimed_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c >> 5) == 6)
        return 2;
    if ((c >> 4) == 14)
        return 3;
    if ((c >> 3) == 30)
        return 4;
    return 0;
}

json_t *lpcli_json_bytes(const char *s)
{
    assert(s);
    json_t *j = json_string(s);
    if (j)
        return j;
    static const char replacement[] = "\xef\xbf\xbd";
    size_t len = strlen(s), n = 0;
    char *fixed = malloc(3 * len + 1); /* each byte at worst becomes U+FFFD */
    if (!fixed)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_claimed_len((unsigned char)s[i]);
        json_t *seq = k && k <= len - i ? json_stringn(s + i, k) : NULL;
        if (seq) { /* jansson validated the sequence */
            json_decref(seq);
            memcpy(fixed + n, s + i, k);
            n += k;
        } else {
            memcpy(fixed + n, replacement, 3);
            n += 3;
            k = 1;
        }
        i += k;
    }
    assert(n <= 3 * len);
    j = json_stringn(fixed, n);
    free(fixed);
    return j;
}

int lpcli_json_print(FILE *f, const char *s)
{
    json_t *j = lpcli_json_bytes(s);
    if (!j)
        return -1;
    int rc = json_dumpf(j, f, JSON_ENCODE_ANY);
    json_decref(j);
    return rc;
}
