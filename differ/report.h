/*
 * report.h - what lpdiff found: refusals (with the author's overrides),
 * changed/added/removed functions and new variables; printed as text on
 * stdout and as JSON (--report).
 */
#ifndef DIFFER_REPORT_H
#define DIFFER_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct refusal {
    const char *code; /* short stable uppercase word */
    char *name;       /* the item: function, variable or type */
    char *message;    /* "<what>: <detail>" */
    char *where;      /* "file.c:LINE" or "" */
    int accepted;
};

struct report {
    VEC(struct refusal) refused;
    VEC(char *) accept; /* "CODE:NAME" patterns; NAME may be "*" */
    VEC(char *) changed, added, removed, new_vars, notes;
    const char *module;
    char old_build_id[65], new_build_id[65];
    const char *patch_path; /* NULL when no patch written */
    int dry_run_ok;         /* --dry-run: the patch was built and validated */
    char patch_id[33];
};

/* Record a refusal; it is marked accepted if an --accept pattern matches. */
void report_refuse(struct report *r, const char *code, const char *name, const char *where,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Add a note (once). */
void report_note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Number of refusals not accepted. */
size_t report_blocking(const struct report *r);
/* Has a refusal of `code` for `name` been accepted? */
int report_accepted(const struct report *r, const char *code, const char *name);
/* Read an accept file: one CODE:NAME a line, '#' comments.  0 or -1. */
int report_read_accept_file(struct report *r, const char *path, char *err, size_t errlen);

void report_print_refusals(const struct report *r); /* stderr lines */
void report_print_text(const struct report *r);     /* stdout summary */
int report_write_json(const struct report *r, const char *path, char *err, size_t errlen);
void report_free(struct report *r);

/* JSON string literal of s appended to b (quotes included). */
void json_str(struct sbuf *b, const char *s);

#endif /* DIFFER_REPORT_H */
