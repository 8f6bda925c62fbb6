/* Unit tests of lpdiff's building blocks: GCC-suffix stripping (how
 * functions and statics are matched across builds), the JSON escaper, the
 * string map's ambiguity count, and --accept matching. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "tap.h"
#include "util.h"

static void check_strip(const char *in, const char *want)
{
    char *s = strip_gcc_suffix(in);
    CHECK_STR(s, want);
    free(s);
}

TEST(strip_suffix)
{
    check_strip("count.5", "count");
    check_strip("foo.constprop.0", "foo.constprop");
    check_strip("foo.isra.12.cold", "foo.isra.cold");
    check_strip("foo.part.0.constprop.3", "foo.part.constprop");
    check_strip("plain", "plain");
    check_strip("v1.5x", "v1.5x"); /* not a pure number component */
}

TEST(json_escape)
{
    struct sbuf b = {0};
    json_str(&b, "a\"b\\c\nd\te\001\xc3\xa9");
    CHECK_STR(sb_str(&b), "\"a\\\"b\\\\c\\nd\\te\\u0001\\u00c3\\u00a9\"");
    sb_free(&b);
}

TEST(strmap_counts_duplicates)
{
    struct strmap m = {0};
    int a, b;
    char keys[200][8];
    for (int i = 0; i < 200; i++) { /* forces several grows */
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        strmap_put(&m, keys[i], &a);
    }
    strmap_put(&m, "k7", &b);
    CHECK_EQ_INT(strmap_count(&m, "k7"), 2);
    CHECK(strmap_get(&m, "k7") == &a); /* first value wins */
    CHECK_EQ_INT(strmap_count(&m, "k199"), 1);
    CHECK(strmap_get(&m, "nope") == NULL);
    strmap_set(&m, "k3", &b);
    CHECK(strmap_get(&m, "k3") == &b);
    strmap_free(&m);
}

TEST(accept_patterns)
{
    struct report r = {0};
    VEC_PUSH(r.accept, xstrdup("DATA_INIT:limit"));
    VEC_PUSH(r.accept, xstrdup("NO_ENTRY:*"));
    VEC_PUSH(r.accept, xstrdup("AMBIGUOUS:*"));
    report_refuse(&r, "DATA_INIT", "limit", "l.c:1", "variable %s", "limit");
    report_refuse(&r, "DATA_INIT", "limits", "", "variable %s", "limits");
    report_refuse(&r, "NO_ENTRY", "f", "", "function f");
    report_refuse(&r, "AMBIGUOUS", "x", "", "symbol x");  /* never acceptable */
    report_refuse(&r, "NO_ENTRY", "f", "", "function f"); /* duplicate: kept once */
    CHECK_EQ_INT(r.refused.n, 4);
    CHECK_EQ_INT(report_blocking(&r), 2);
    CHECK(r.refused.v[0].accepted);
    CHECK(!r.refused.v[1].accepted);
    CHECK(r.refused.v[2].accepted);
    CHECK(!r.refused.v[3].accepted);
    CHECK(report_accepted(&r, "DATA_INIT", "limit"));
    CHECK(!report_accepted(&r, "DATA_INI", "limit"));
    report_free(&r);
}

TEST(accept_file)
{
    char path[] = "/tmp/lpdiff-accept-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n\n  GLOBAL_SIZE:hist   # why\nnot a pattern\n", f);
    fclose(f);
    struct report r = {0};
    char err[256];
    CHECK_EQ_INT(report_read_accept_file(&r, path, err, sizeof(err)), -1);
    CHECK(strstr(err, ":4: expected CODE:NAME") != NULL);
    CHECK_EQ_INT(r.accept.n, 1);
    CHECK_STR(r.accept.v[0], "GLOBAL_SIZE:hist");
    report_free(&r);
    unlink(path);
}

int main(void)
{
    RUN(strip_suffix);
    RUN(json_escape);
    RUN(strmap_counts_duplicates);
    RUN(accept_patterns);
    RUN(accept_file);
    return tap_done();
}
