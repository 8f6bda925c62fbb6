/* report.c - see report.h.  JSON is produced by a small emitter that escapes
 * every string (control characters, quotes, backslashes, invalid UTF-8 is
 * passed through byte-wise as \u00XX). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int pattern_matches(const char *pat, const char *code, const char *name)
{
    size_t cl = strlen(code);
    if (strncmp(pat, code, cl) || pat[cl] != ':')
        return 0;
    return !strcmp(pat + cl + 1, "*") || !strcmp(pat + cl + 1, name);
}

void report_refuse(struct report *r, const char *code, const char *name, const char *where,
                   const char *fmt, ...)
{
    struct refusal f = {.code = code, .name = xstrdup(name), .where = xstrdup(where)};
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&f.message, fmt, ap) < 0)
        f.message = xstrdup(fmt);
    va_end(ap);
    /* An ambiguous symbol has no right answer to accept. */
    for (size_t i = 0; i < r->accept.n && strcmp(code, "AMBIGUOUS"); i++)
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

int report_accepted(const struct report *r, const char *code, const char *name)
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
        if (!strchr(s, ':') || s[0] == ':') {
            snprintf(err, errlen, "%s:%d: expected CODE:NAME, got '%s'", path, lineno, s);
            fclose(f);
            return -1;
        }
        VEC_PUSH(r->accept, xstrdup(s));
    }
    fclose(f);
    return 0;
}

void report_print_refusals(const struct report *r)
{
    for (size_t i = 0; i < r->refused.n; i++) {
        const struct refusal *f = &r->refused.v[i];
        fprintf(stderr, "lpdiff: %s [%s] %s%s%s%s\n", f->accepted ? "accepted" : "refused", f->code,
                f->message, *f->where ? " (" : "", f->where, *f->where ? ")" : "");
    }
}

static void print_list(const char *title, char *const *v, size_t n)
{
    if (!n)
        return;
    printf("%s (%zu):\n", title, n);
    for (size_t i = 0; i < n; i++)
        printf("  %s\n", v[i]);
}

void report_print_text(const struct report *r)
{
    printf("module: %s\nold build-id: %s\nnew build-id: %s\n", r->module, r->old_build_id,
           r->new_build_id);
    print_list("changed functions", r->changed.v, r->changed.n);
    print_list("added functions", r->added.v, r->added.n);
    print_list("removed functions", r->removed.v, r->removed.n);
    print_list("new variables (start at their initial value)", r->new_vars.v, r->new_vars.n);
    print_list("notes", r->notes.v, r->notes.n);
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

void json_str(struct sbuf *b, const char *s)
{
    sb_add(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            sb_add(b, "\\\"");
            break;
        case '\\':
            sb_add(b, "\\\\");
            break;
        case '\n':
            sb_add(b, "\\n");
            break;
        case '\t':
            sb_add(b, "\\t");
            break;
        default:
            if (*p < 0x20 || *p >= 0x7f)
                sb_addf(b, "\\u%04x", *p);
            else
                sb_addn(b, (const char *)p, 1);
        }
    }
    sb_add(b, "\"");
}

static void json_list(struct sbuf *b, const char *key, char *const *v, size_t n)
{
    sb_addf(b, ",\n  \"%s\": [", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_add(b, ", ");
        json_str(b, v[i]);
    }
    sb_add(b, "]");
}

static void json_refusals(struct sbuf *b, const char *key, const struct report *r, int accepted)
{
    sb_addf(b, ",\n  \"%s\": [", key);
    int first = 1;
    for (size_t i = 0; i < r->refused.n; i++) {
        const struct refusal *f = &r->refused.v[i];
        if (f->accepted != accepted)
            continue;
        sb_add(b, first ? "\n    {\"code\": " : ",\n    {\"code\": ");
        first = 0;
        json_str(b, f->code);
        sb_add(b, ", \"name\": ");
        json_str(b, f->name);
        sb_add(b, ", \"message\": ");
        json_str(b, f->message);
        sb_add(b, ", \"where\": ");
        json_str(b, f->where);
        sb_add(b, "}");
    }
    sb_add(b, first ? "]" : "\n  ]");
}

int report_write_json(const struct report *r, const char *path, char *err, size_t errlen)
{
    struct sbuf b = {0};
    sb_add(&b, "{\n  \"format\": 1,\n  \"module\": ");
    json_str(&b, r->module ? r->module : "");
    sb_add(&b, ",\n  \"old_build_id\": ");
    json_str(&b, r->old_build_id);
    sb_add(&b, ",\n  \"new_build_id\": ");
    json_str(&b, r->new_build_id);
    json_list(&b, "changed", r->changed.v, r->changed.n);
    json_list(&b, "added", r->added.v, r->added.n);
    json_list(&b, "removed", r->removed.v, r->removed.n);
    json_list(&b, "new_variables", r->new_vars.v, r->new_vars.n);
    json_refusals(&b, "refused", r, 0);
    json_refusals(&b, "accepted", r, 1);
    json_list(&b, "notes", r->notes.v, r->notes.n);
    sb_add(&b, ",\n  \"patch\": ");
    if (r->patch_path)
        json_str(&b, r->patch_path);
    else
        sb_add(&b, "null");
    sb_add(&b, ",\n  \"patch_id\": ");
    if (r->patch_path)
        json_str(&b, r->patch_id);
    else
        sb_add(&b, "null");
    sb_add(&b, "\n}\n");
    FILE *f = fopen(path, "w");
    int rc = 0;
    if (!f || fwrite(b.s, 1, b.len, f) != b.len)
        rc = -1;
    if (f && fclose(f))
        rc = -1;
    if (rc)
        snprintf(err, errlen, "%s: cannot write report: %s", path, strerror(errno));
    sb_free(&b);
    return rc;
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
}
