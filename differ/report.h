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

/* Why a change is refused.  Each code's name (report_code_name) is the
 * stable uppercase word users see and write in --accept CODE:NAME. */
enum refusal_code {
    REFUSE_AMBIGUOUS,
    REFUSE_BASE_CHANGED,
    REFUSE_BITFIELD_ADDED,
    REFUSE_COMPILER_MISMATCH,
    REFUSE_CSWTCH,
    REFUSE_CTOR_CHANGED,
    REFUSE_DATA_INIT,
    REFUSE_DATA_REMOVED,
    REFUSE_ENUM_VALUE,
    REFUSE_GLOBAL_SIZE,
    REFUSE_GLOBAL_TYPE,
    REFUSE_HASH_MISMATCH,
    REFUSE_LAYOUT_TYPE,
    REFUSE_NO_DEBUGINFO,
    REFUSE_NO_ENTRY,
    REFUSE_OPTIONS_MISMATCH,
    REFUSE_SIGNATURE,
    REFUSE_TLS_LAYOUT,
    REFUSE_UNRESOLVED,
    REFUSE_VTABLE_CHANGED,
    REFUSE_NCODES
};

/* "LAYOUT_TYPE" for REFUSE_LAYOUT_TYPE. */
const char *report_code_name(enum refusal_code code);
/* The code named `name` (its first `len` bytes), or -1. */
int report_code_parse(const char *name, size_t len);

struct refusal {
    enum refusal_code code;
    char *name;    /* the item: function, variable or type */
    char *message; /* "<what>: <detail>" */
    char *where;   /* "file.c:LINE" or "" */
    int accepted;
};

struct report {
    VEC(struct refusal) refused;
    VEC(char *) accept; /* "CODE:NAME" patterns; NAME may be "*" */
    VEC(char *) changed, added, removed, new_vars, notes;
    VEC(char *) carried; /* "var (file.c)": never-written tables carried like read-only data */
    const char *module;
    char old_build_id[65], new_build_id[65];
    const char *patch_path; /* NULL when no patch written */
    int dry_run_ok;         /* --dry-run: the patch was built and validated */
    char patch_id[33];
};

/* Record a refusal; it is marked accepted if an --accept pattern matches. */
void report_refuse(struct report *r, enum refusal_code code, const char *name, const char *where,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Add a note (once). */
void report_note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Number of refusals not accepted. */
size_t report_blocking(const struct report *r);
/* Has a refusal of `code` for `name` been accepted? */
int report_accepted(const struct report *r, enum refusal_code code, const char *name);
/* Add an --accept CODE:NAME pattern; 0, or -1 with err set (unknown code). */
int report_add_accept(struct report *r, const char *pattern, char *err, size_t errlen);
/* Read an accept file: one CODE:NAME a line, '#' comments.  0 or -1. */
int report_read_accept_file(struct report *r, const char *path, char *err, size_t errlen);

void report_print_refusals(const struct report *r); /* stderr lines */
void report_print_text(const struct report *r);     /* stdout summary */
int report_write_json(const struct report *r, const char *path, char *err, size_t errlen);
void report_free(struct report *r);

#endif /* DIFFER_REPORT_H */
