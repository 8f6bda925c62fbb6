/*
 * dwinfo.h - the DWARF of a linked module read once (libdwarf) into a compact
 * tree, for file:line of functions and variables, compiler identification,
 * and the type checks (typecheck.c).
 */
#ifndef DIFFER_DWINFO_H
#define DIFFER_DWINFO_H

#include <stdint.h>

#include "strmap.h"
#include "util.h"

#define DWINFO_NONE UINT32_MAX

struct dwinfo_node {
    uint64_t off;        /* DIE offset in .debug_info */
    const char *name;    /* "" if none */
    const char *linkage; /* DW_AT_linkage_name or "" */
    /* -1: absent.  A bit-field member has bit_size and bit_offset (bits from
     * the start of its struct, DW_AT_data_bit_offset; DWARF 4's
     * DW_AT_bit_offset is converted) and no member_off. */
    int64_t byte_size, bit_size, bit_offset, member_off, upper, count, value;
    uint32_t type;        /* node index of DW_AT_type, DWINFO_NONE if none */
    uint32_t child, next; /* first child / next sibling, DWINFO_NONE if none */
    uint32_t parent;
    uint32_t cu; /* index into dwinfo.cus */
    uint32_t line;
    uint64_t addr;    /* DW_OP_addr of a variable / DW_AT_low_pc of code, 0 if none */
    const char *file; /* decl file (basename) or "" */
    uint16_t tag;
    unsigned has_location : 1, tls : 1, external : 1, declaration : 1, has_value : 1;
};

struct dwinfo_cu {
    const char *name, *producer;
    uint32_t root; /* node index of the CU DIE */
};

/* One row of a line table: code from addr on is line `line`, up to the
 * next row; an end row closes its sequence. */
struct dwinfo_row {
    uint64_t addr;
    uint32_t line;
    uint32_t end : 1, ord : 31; /* ord: position in the tables, for a stable sort */
};

/* One code range of an inlined function's body and the line of the call
 * it was inlined for (DW_AT_call_line). */
struct dwinfo_inline {
    uint64_t lo, hi;
    uint32_t call_line;
};

struct dwinfo {
    void *dbg;
    VEC(struct dwinfo_row) rows;       /* every CU's line table, sorted by address */
    VEC(struct dwinfo_inline) inlines; /* every inlined call's code ranges */
    VEC(struct dwinfo_node) nodes;
    VEC(struct dwinfo_cu) cus;
    struct strmap cu_by_name; /* CU name and basename -> cu index + 1 */
    struct strmap entities;   /* "cu:tag:name" / "cu:tag:fn::name" -> node + 1 */
    VEC(char *) owned;
};

/* NULL with err when the module has no usable DWARF (not an error for the
 * caller unless it needs DWARF). */
struct dwinfo *dwinfo_load(int fd, const char *path, char *err, size_t errlen);
void dwinfo_free(struct dwinfo *d);

/* Link-time address of a unit's top-level variable or function, found
 * through the CU named exactly `cu_name` (a unit's source path); 0 if
 * unknown or if that CU name is not unique. */
uint64_t dwinfo_addr_of(const struct dwinfo *d, const char *cu_name, int is_var, const char *name);
/* CU for an object's STT_FILE name, -1 if none. */
int dwinfo_cu_for(const struct dwinfo *d, const char *file);
/* Top-level or function-scope entity of a CU by name and tag; function is
 * "" for top-level.  Definitions (with location / code) are preferred. */
uint32_t dwinfo_find(const struct dwinfo *d, int cu, uint16_t tag, const char *function,
                     const char *name);
/* The source line the line tables give the instruction at link-time
 * address addr; 0 if no table covers it. */
uint32_t dwinfo_line_at(const struct dwinfo *d, uint64_t addr);
/* The call lines of the inlined calls whose code holds addr, innermost
 * first, at most max of them; returns how many.  (Ranges of DWARF 5
 * rnglists and low/high pc; DWARF 4 .debug_ranges are not read.) */
unsigned dwinfo_call_lines_at(const struct dwinfo *d, uint64_t addr, uint32_t *lines, unsigned max);
/* "file.c:LINE" of node i into buf (empty string if unknown). */
const char *dwinfo_where(const struct dwinfo *d, uint32_t i, char *buf, size_t len);
/* Readable name of a type ("struct conn", "int *", ...) into buf. */
const char *dwinfo_type_name(const struct dwinfo *d, uint32_t t, char *buf, size_t len);

#endif /* DIFFER_DWINFO_H */
