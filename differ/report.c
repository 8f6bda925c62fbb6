/* report.c - see report.h.  The JSON report is written with jansson (its
 * strings through lpcli.h); the refusal codes' names are defined here, once. */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liblivepatch.h"
#include "lpcli.h"
#include "report.h"
#include "sbuf.h"

static const char *const code_names[REFUSE_NCODES] = {
    [REFUSE_AMBIGUOUS] = "AMBIGUOUS",
    [REFUSE_BASE_CHANGED] = "BASE_CHANGED",
    [REFUSE_BITFIELD_ADDED] = "BITFIELD_ADDED",
    [REFUSE_COMPILER_MISMATCH] = "COMPILER_MISMATCH",
    [REFUSE_CSWTCH] = "CSWTCH",
    [REFUSE_CTOR_CHANGED] = "CTOR_CHANGED",
    [REFUSE_DATA_INIT] = "DATA_INIT",
    [REFUSE_DATA_REMOVED] = "DATA_REMOVED",
    [REFUSE_ENUM_VALUE] = "ENUM_VALUE",
    [REFUSE_GLOBAL_SIZE] = "GLOBAL_SIZE",
    [REFUSE_GLOBAL_TYPE] = "GLOBAL_TYPE",
    [REFUSE_HASH_MISMATCH] = "HASH_MISMATCH",
    [REFUSE_LAYOUT_TYPE] = "LAYOUT_TYPE",
    [REFUSE_NO_DEBUGINFO] = "NO_DEBUGINFO",
    [REFUSE_NO_ENTRY] = "NO_ENTRY",
    [REFUSE_OPTIONS_MISMATCH] = "OPTIONS_MISMATCH",
    [REFUSE_SIGNATURE] = "SIGNATURE",
    [REFUSE_TLS_LAYOUT] = "TLS_LAYOUT",
    [REFUSE_UNRESOLVED] = "UNRESOLVED",
    [REFUSE_VTABLE_CHANGED] = "VTABLE_CHANGED",
};

const char *report_code_name(enum refusal_code code)
{
    assert(code >= 0 && code < REFUSE_NCODES && code_names[code]);
    return code_names[code];
}

int report_code_parse(const char *name, size_t len)
{
    for (int c = 0; c < REFUSE_NCODES; c++)
        if (strlen(code_names[c]) == len && !memcmp(code_names[c], name, len))
            return c;
    return -1;
}

/* An accept pattern "CODE:NAME" (NAME may be "*"), checked when it was added. */
static int pattern_matches(const char *pat, enum refusal_code code, const char *name)
{
    const char *cn = report_code_name(code);
    size_t cl = strlen(cn);
    if (strncmp(pat, cn, cl) || pat[cl] != ':')
        return 0;
    return !strcmp(pat + cl + 1, "*") || !strcmp(pat + cl + 1, name);
}

int report_add_accept(struct report *r, const char *pattern, char *err, size_t errlen)
{
    const char *colon = strchr(pattern, ':');
    if (!colon || colon == pattern || !colon[1]) {
        snprintf(err, errlen, "expected CODE:NAME, got '%s'", pattern);
        return -1;
    }
    if (report_code_parse(pattern, (size_t)(colon - pattern)) < 0) {
        struct sbuf codes = {0};
        for (int c = 0; c < REFUSE_NCODES; c++)
            sbuf_addf(&codes, "%s%s", c ? " " : "", code_names[c]);
        snprintf(err, errlen, "unknown refusal code '%.*s' in '%s' (codes: %s)",
                 (int)(colon - pattern), pattern, pattern, codes.s);
        sbuf_free(&codes);
        return -1;
    }
    VEC_PUSH(r->accept, xstrdup(pattern));
    return 0;
}

void report_refuse(struct report *r, enum refusal_code code, const char *name, const char *where,
                   const char *fmt, ...)
{
    struct refusal f = {.code = code, .name = xstrdup(name), .where = xstrdup(where)};
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&f.message, fmt, ap) < 0)
        f.message = xstrdup(fmt);
    va_end(ap);
    char *plain = util_demangle_text(f.message); /* C++ names readable */
    free(f.message);
    f.message = plain;
    /* An ambiguous symbol has no right answer to accept. */
    for (size_t i = 0; i < r->accept.n && code != REFUSE_AMBIGUOUS; i++)
        if (pattern_matches(r->accept.v[i], code, name))
            f.accepted = 1;
    /* The same finding reached twice (e.g. a type used by two globals) is one refusal. */
    for (size_t i = 0; i < r->refused.n; i++)
        if (r->refused.v[i].code == code && !strcmp(r->refused.v[i].message, f.message)) {
            free(f.name);
            free(f.where);
            free(f.message);
            return;
        }
    VEC_PUSH(r->refused, f);
}

void report_note(struct report *r, const char *fmt, ...)
{
    va_list ap;
    char *n;
    va_start(ap, fmt);
    if (vasprintf(&n, fmt, ap) < 0)
        n = xstrdup(fmt);
    va_end(ap);
    char *plain = util_demangle_text(n);
    free(n);
    n = plain;
    for (size_t i = 0; i < r->notes.n; i++)
        if (!strcmp(r->notes.v[i], n)) {
            free(n);
            return;
        }
    VEC_PUSH(r->notes, n);
}

size_t report_blocking(const struct report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->refused.n; i++)
        n += !r->refused.v[i].accepted;
    return n;
}

int report_accepted(const struct report *r, enum refusal_code code, const char *name)
{
    for (size_t i = 0; i < r->accept.n; i++)
        if (pattern_matches(r->accept.v[i], code, name))
            return 1;
    return 0;
}

int report_read_accept_file(struct report *r, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = line, *h = strchr(s, '#');
        if (h)
            *h = 0;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
            s[--n] = 0;
        if (!n)
            continue;
        char why[512];
        if (report_add_accept(r, s, why, sizeof why)) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

void report_print_refusals(const struct report *r)
{
    for (size_t i = 0; i < r->refused.n; i++) {
        const struct refusal *f = &r->refused.v[i];
        fprintf(stderr, "lpdiff: %s [%s] %s%s%s%s\n", f->accepted ? "accepted" : "refused",
                report_code_name(f->code), f->message, *f->where ? " (" : "", f->where,
                *f->where ? ")" : "");
    }
}

/* Lists of symbols are printed demangled (demangle); notes already are. */
static void print_list(const char *title, char *const *v, size_t n, int demangle)
{
    if (!n)
        return;
    printf("%s (%zu):\n", title, n);
    for (size_t i = 0; i < n; i++) {
        char *plain = demangle ? util_demangle_text(v[i]) : xstrdup(v[i]); /* JSON: the symbol */
        printf("  %s\n", plain);
        free(plain);
    }
}

void report_print_text(const struct report *r)
{
    printf("module: %s\nold build-id: %s\nnew build-id: %s\n", r->module, r->old_build_id,
           r->new_build_id);
    print_list("changed functions", r->changed.v, r->changed.n, 1);
    print_list("added functions", r->added.v, r->added.n, 1);
    print_list("removed functions", r->removed.v, r->removed.n, 1);
    print_list("new variables (start at their initial value)", r->new_vars.v, r->new_vars.n, 1);
    print_list("tables never written, carried in the patch (every reader patched)", r->carried.v,
               r->carried.n, 1);
    print_list("notes", r->notes.v, r->notes.n, 0);
    size_t acc = r->refused.n - report_blocking(r);
    if (r->refused.n)
        printf("refused: %zu, accepted by override: %zu\n", report_blocking(r), acc);
    if (r->patch_path)
        printf("patch: %s (id %s)\n", r->patch_path, r->patch_id);
    else if (r->dry_run_ok)
        printf("patch: not written (dry run); it builds and validates\n");
    else
        printf("patch: none\n");
}

static json_t *json_list(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, lpcli_json_bytes(v[i]));
    return a;
}

static json_t *json_refusals(const struct report *r, int accepted)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->refused.n; i++) {
        const struct refusal *f = &r->refused.v[i];
        if (f->accepted != accepted)
            continue;
        json_array_append_new(
            a, json_pack("{s:s, s:o, s:o, s:o}", "code", report_code_name(f->code), "name",
                         lpcli_json_bytes(f->name), "message", lpcli_json_bytes(f->message),
                         "where", lpcli_json_bytes(f->where)));
    }
    return a;
}

int report_write_json(const struct report *r, const char *path, char *err, size_t errlen)
{
    json_t *o = json_pack(
        "{s:i, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "format", 1,
        "module", lpcli_json_bytes(r->module ? r->module : ""), "old_build_id", r->old_build_id,
        "new_build_id", r->new_build_id, "changed", json_list(r->changed.v, r->changed.n), "added",
        json_list(r->added.v, r->added.n), "removed", json_list(r->removed.v, r->removed.n),
        "new_variables", json_list(r->new_vars.v, r->new_vars.n), "carried_tables",
        json_list(r->carried.v, r->carried.n), "refused", json_refusals(r, 0), "accepted",
        json_refusals(r, 1), "notes", json_list(r->notes.v, r->notes.n), "patch",
        r->patch_path ? lpcli_json_bytes(r->patch_path) : json_null(), "patch_id",
        r->patch_path ? json_string(r->patch_id) : json_null());
    if (!o) {
        snprintf(err, errlen, "%s: cannot build the report (out of memory)", path);
        return -1;
    }
    /* dumped to memory, then replaced atomically: never through a symlink */
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    char e[LP_ERR_MAX];
    if (!text) {
        snprintf(err, errlen, "%s: cannot build the report (out of memory)", path);
        return -1;
    }
    int rc = lp_file_replace(path, text, strlen(text), e);
    free(text);
    if (rc) {
        snprintf(err, errlen, "cannot write report: %s", e);
        return -1;
    }
    return 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

void report_free(struct report *r)
{
    for (size_t i = 0; i < r->refused.n; i++) {
        free(r->refused.v[i].name);
        free(r->refused.v[i].message);
        free(r->refused.v[i].where);
    }
    VEC_FREE(r->refused);
    free_list(r->accept.v, r->accept.n);
    VEC_FREE(r->accept);
    free_list(r->changed.v, r->changed.n);
    VEC_FREE(r->changed);
    free_list(r->added.v, r->added.n);
    VEC_FREE(r->added);
    free_list(r->removed.v, r->removed.n);
    VEC_FREE(r->removed);
    free_list(r->new_vars.v, r->new_vars.n);
    VEC_FREE(r->new_vars);
    free_list(r->notes.v, r->notes.n);
    VEC_FREE(r->notes);
    free_list(r->carried.v, r->carried.n);
    VEC_FREE(r->carried);
}
