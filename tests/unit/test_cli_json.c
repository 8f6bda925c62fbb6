/* Unit tests of liblpcli's JSON strings (cli/lpcli.h): what lpdiff's report
 * and lpatch's --json print for names from outside, whatever their bytes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpcli.h"
#include "tap.h"

/* printed BYTES: what lpcli_json_print writes for them (caller frees). */
static char *printed(const char *bytes)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || lpcli_json_print(f, bytes) != 0) {
        if (f)
            fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    return buf;
}

/* The string a JSON text decodes to, checking it is valid JSON. */
static const char *decoded(const char *text, json_t **keep)
{
    json_error_t e;
    *keep = json_loads(text, JSON_DECODE_ANY, &e);
    return *keep ? json_string_value(*keep) : NULL;
}

TEST(utf8_is_kept_and_controls_escaped)
{
    char *t = printed("caf\xc3\xa9 \"q\" \\ \n\t\001");
    CHECK(t != NULL);
    /* é stays one UTF-8 sequence, not two \u00XX escapes */
    CHECK(strstr(t, "caf\xc3\xa9") != NULL);
    CHECK(strstr(t, "\\u00c3") == NULL);
    json_t *j;
    CHECK_STR(decoded(t, &j), "caf\xc3\xa9 \"q\" \\ \n\t\001");
    json_decref(j);
    free(t);
}

TEST(invalid_bytes_become_replacement_characters)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a\xff"
         "b",
         "a\xef\xbf\xbd"
         "b"},
        {"\xc3", "\xef\xbf\xbd"},                                         /* truncated sequence */
        {"\xc3(", "\xef\xbf\xbd("},                                       /* bad continuation */
        {"\xe2\x82\xac\xe2\x82", "\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd"}, /* € then half */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},         /* a surrogate */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                         /* overlong '/' */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = printed(cases[i].in);
        CHECK(t != NULL);
        json_t *j;
        const char *got = decoded(t, &j);
        CHECK(got != NULL);
        CHECK_STR(got, cases[i].want);
        json_decref(j);
        free(t);
    }
}

int main(void)
{
    RUN(utf8_is_kept_and_controls_escaped);
    RUN(invalid_bytes_become_replacement_characters);
    return tap_done();
}
