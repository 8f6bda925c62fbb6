/* Unit tests of lpdiff's building blocks: GCC-suffix stripping (how
 * functions and statics are matched across builds), the JSON report's
 * strings, the string map's ambiguity count, refusal codes and --accept
 * matching. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "strmap.h"
#include "tap.h"
#include "util.h"

static void check_strip(const char *in, const char *want)
{
    char *s = util_strip_gcc_suffix(in);
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

/* The report is valid JSON whatever bytes a name holds: UTF-8 stays as it
 * is ("é" is not turned into "Ã©"), control characters are escaped, and a
 * byte that is not UTF-8 becomes U+FFFD. */
TEST(json_report_strings)
{
    char path[] = "/tmp/lpdiff-report-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct report r = {.module = "a\"b\\c\nd\te\001\xc3\xa9"};
    VEC_PUSH(r.changed, xstrdup("caf\xc3\xa9"));
    VEC_PUSH(r.changed, xstrdup("bad\xff\xc3(end"));
    report_refuse(&r, REFUSE_LAYOUT_TYPE, "struct s", "s.c:3", "type %s", "struct s");
    char err[256];
    CHECK_EQ_INT(report_write_json(&r, path, err, sizeof err), 0);
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr);
    CHECK(o != NULL);
    CHECK_STR(json_string_value(json_object_get(o, "module")), "a\"b\\c\nd\te\001\xc3\xa9");
    json_t *ch = json_object_get(o, "changed");
    CHECK_STR(json_string_value(json_array_get(ch, 0)), "caf\xc3\xa9");
    CHECK_STR(json_string_value(json_array_get(ch, 1)), "bad\xef\xbf\xbd\xef\xbf\xbd(end");
    json_t *ref = json_array_get(json_object_get(o, "refused"), 0);
    CHECK_STR(json_string_value(json_object_get(ref, "code")), "LAYOUT_TYPE");
    CHECK_STR(json_string_value(json_object_get(ref, "where")), "s.c:3");
    CHECK(json_is_null(json_object_get(o, "patch")));
    json_decref(o);
    r.module = NULL;
    report_free(&r);
    unlink(path);
}

TEST(refusal_codes)
{
    for (int c = 0; c < REFUSE_NCODES; c++) {
        const char *n = report_code_name((enum refusal_code)c);
        CHECK_EQ_INT(report_code_parse(n, strlen(n)), c);
    }
    CHECK_EQ_INT(report_code_parse("LAYOUT", 6), -1);
    CHECK_EQ_INT(report_code_parse("LAYOUT_TYPEX", 12), -1);
    struct report r = {0};
    char err[512];
    CHECK_EQ_INT(report_add_accept(&r, "LAYOT_TYPE:s", err, sizeof err), -1);
    CHECK(strstr(err, "unknown refusal code 'LAYOT_TYPE'") != NULL);
    CHECK(strstr(err, "LAYOUT_TYPE") != NULL); /* lists the valid ones */
    CHECK_EQ_INT(report_add_accept(&r, "LAYOUT_TYPE", err, sizeof err), -1);
    CHECK(strstr(err, "expected CODE:NAME") != NULL);
    CHECK_EQ_INT(report_add_accept(&r, "LAYOUT_TYPE:", err, sizeof err), -1);
    CHECK_EQ_INT(report_add_accept(&r, "LAYOUT_TYPE:s", err, sizeof err), 0);
    CHECK_EQ_INT(r.accept.n, 1);
    report_free(&r);
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
    report_refuse(&r, REFUSE_DATA_INIT, "limit", "l.c:1", "variable %s", "limit");
    report_refuse(&r, REFUSE_DATA_INIT, "limits", "", "variable %s", "limits");
    report_refuse(&r, REFUSE_NO_ENTRY, "f", "", "function f");
    report_refuse(&r, REFUSE_AMBIGUOUS, "x", "", "symbol x");  /* never acceptable */
    report_refuse(&r, REFUSE_NO_ENTRY, "f", "", "function f"); /* duplicate: kept once */
    CHECK_EQ_INT(r.refused.n, 4);
    CHECK_EQ_INT(report_blocking(&r), 2);
    CHECK(r.refused.v[0].accepted);
    CHECK(!r.refused.v[1].accepted);
    CHECK(r.refused.v[2].accepted);
    CHECK(!r.refused.v[3].accepted);
    CHECK(report_accepted(&r, REFUSE_DATA_INIT, "limit"));
    CHECK(!report_accepted(&r, REFUSE_DATA_INIT, "limits"));
    CHECK(!report_accepted(&r, REFUSE_GLOBAL_SIZE, "limit"));
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
    /* a misspelt code is an error naming the line, not a pattern that never matches */
    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("DATA_INIT:x\nDATA_INT:limit\n", f);
    fclose(f);
    struct report r2 = {0};
    CHECK_EQ_INT(report_read_accept_file(&r2, path, err, sizeof(err)), -1);
    CHECK(strstr(err, ":2: unknown refusal code 'DATA_INT'") != NULL);
    report_free(&r2);
    unlink(path);
}

int main(void)
{
    RUN(strip_suffix);
    RUN(json_report_strings);
    RUN(refusal_codes);
    RUN(strmap_counts_duplicates);
    RUN(accept_patterns);
    RUN(accept_file);
    return tap_done();
}
