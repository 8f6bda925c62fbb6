/*
 * lpmeta.h - what the livepatch GCC plugin records in every object file.
 *
 * This is the contract between the plugin (writer, records.cc) and its
 * reader, liblpmeta (lpmeta_read.h), which lpdiff and lpatch use.  Everything
 * here is plain C so both the C++ plugin and the C reader include it.
 *
 * The plugin emits non-allocated ELF sections (no runtime cost, never loaded)
 * holding a stream of records.  Every record starts with struct lpmeta_hdr and
 * is padded to a multiple of 8 bytes; `size` covers header, fixed part and the
 * trailing NUL-terminated strings.  A reader walks a section record by record
 * and skips kinds it does not know (forward compatibility).  All integers are
 * little-endian (x86-64 only).
 *
 * Sections:
 *   .livepatch.func    one section per function, each holding one
 *                      LPMETA_FUNC record, SHF_LINK_ORDER to the function's
 *                      own text section, so --gc-sections keeps or drops it
 *                      with the function.  An object has many sections of
 *                      this name; the linker merges them into one.
 *   .livepatch.unit    one LPMETA_UNIT record per compilation unit.
 *   .livepatch.link    LPMETA_LINK records: inlining and clone edges.
 *   .livepatch.static  one section per function-scope static, holding one
 *                      LPMETA_STATIC record, SHF_LINK_ORDER to the variable's
 *                      section (dropped with it).
 *   .livepatch.nowrite LPMETA_NOWRITE records (format 2): tables proven
 *                      never written.
 *   .livepatch.anon    LPMETA_ANON records: the anonymous constants (string
 *                      literals, initializer templates, constant-pool
 *                      entries) a function refers to, one section per
 *                      function, SHF_LINK_ORDER to the function.
 *
 * A unit is identified by unit_id: XXH3-64 of the unit's source path as
 * written after -ffile-prefix-map / -fdebug-prefix-map remapping, so it is
 * the same for the same source file in any build directory.
 */
#ifndef LPMETA_H
#define LPMETA_H

#include <stdint.h>

/* 1: FUNC, UNIT, LINK, STATIC.  2: adds NOWRITE and ANON; a unit of format 1
 * has neither, so a reader must treat its variables as unproven and its
 * anonymous objects as unrecorded. */
#define LPMETA_FORMAT_VERSION 2

#define LPMETA_SEC_FUNC    ".livepatch.func"
#define LPMETA_SEC_UNIT    ".livepatch.unit"
#define LPMETA_SEC_LINK    ".livepatch.link"
#define LPMETA_SEC_STATIC  ".livepatch.static"
#define LPMETA_SEC_NOWRITE ".livepatch.nowrite"
#define LPMETA_SEC_ANON    ".livepatch.anon"

enum lpmeta_kind {
    LPMETA_FUNC = 1,
    LPMETA_UNIT = 2,
    LPMETA_LINK = 3,
    LPMETA_STATIC = 4,
    LPMETA_NOWRITE = 5,
    LPMETA_ANON = 6,
};

struct lpmeta_hdr {
    uint32_t kind; /* enum lpmeta_kind */
    uint32_t size; /* whole record in bytes, multiple of 8 */
};

/* Function flags. */
enum lpmeta_func_flags {
    LPMETA_F_PATCHABLE = 1u << 0, /* has the 2-byte atomic entry and the pad */
    LPMETA_F_EXCLUDED = 1u << 1,  /* opted out: attribute or exclude= */
    LPMETA_F_LOCAL = 1u << 2,     /* static (STB_LOCAL) function */
    LPMETA_F_COLD = 1u << 3,      /* a .cold part split off its parent */
    LPMETA_F_CLONE = 1u << 4,     /* an IPA clone (.constprop/.isra/.part) */
    LPMETA_F_CTOR = 1u << 5,      /* constructor: runs once at start-up */
    LPMETA_F_DTOR = 1u << 6,      /* destructor */
    LPMETA_F_NORETURN = 1u << 7,  /* declared noreturn */
};

/*
 * LPMETA_FUNC: one per emitted function body (cold parts get their own).
 * Strings after the fixed part: name (assembler name), then origin (the
 * function this one is a clone or cold part of; "" when none).
 */
struct lpmeta_func {
    struct lpmeta_hdr hdr;
    uint64_t addr;     /* R_X86_64_64 against the function symbol: the
                          link-time address in a linked module */
    uint64_t unit_id;  /* see above */
    uint8_t hash[16];  /* XXH128 of the normalised final code, canonical
                          (big-endian) byte order as XXH128_canonicalFromHash */
    uint32_t flags;    /* enum lpmeta_func_flags */
    uint8_t prepad;    /* NOP bytes before the symbol (the jump pad), 0 if none */
    uint8_t entry_off; /* offset of the 2-byte entry NOP from the symbol:
                          0, or 4 after endbr64 */
    uint16_t reserved;
    /* char strings[]; */
};

/*
 * LPMETA_UNIT: one per compilation unit.  Strings: source path (remapped),
 * GCC version string, codegen-relevant options (space separated, in a
 * canonical order, excluding -I/-D/-g/-W/-o and path-only options).
 */
struct lpmeta_unit {
    struct lpmeta_hdr hdr;
    uint64_t unit_id;
    uint32_t format_version; /* LPMETA_FORMAT_VERSION */
    uint32_t nfuncs;         /* functions recorded for this unit */
    /* char strings[]; */
};

enum lpmeta_link_type {
    LPMETA_LINK_INLINE = 1, /* callee's body was inlined into caller */
    LPMETA_LINK_CLONE = 2,  /* callee is a clone of caller ("caller" = origin) */
    LPMETA_LINK_COLD = 3,   /* callee is the cold part of caller */
};

/*
 * LPMETA_LINK: an edge "from depends on to" in the sense that a change in
 * `to`'s source must change `from`.  INLINE: from = caller containing the
 * inlined body, to = inlined function.  CLONE/COLD: from = clone, to = origin.
 * Strings: from (assembler name), to (assembler name or source-level name
 * for functions with no emitted body).
 */
struct lpmeta_link {
    struct lpmeta_hdr hdr;
    uint64_t unit_id;
    uint32_t type; /* enum lpmeta_link_type */
    uint32_t reserved;
    /* char strings[]; */
};

/*
 * LPMETA_STATIC: a function-scope static variable.  GCC names these
 * "var.N" with N counted across the unit, so N changes when unrelated code
 * is added; the stable name is "function::var" (with "#k" appended for the
 * k-th same-named static in one function, k >= 2).
 * Strings: assembler name (e.g. "count.3"), stable name ("handle::count").
 */
struct lpmeta_static {
    struct lpmeta_hdr hdr;
    uint64_t addr; /* R_X86_64_64 against the variable symbol */
    uint64_t unit_id;
    /* char strings[]; */
};

/*
 * LPMETA_NOWRITE (format 2): a file-scope static variable in writable
 * storage that no code of its unit writes, and whose address is used only to
 * read it inside the unit's functions (never stored, passed to a call,
 * converted to an integer or returned; no initializer, alias or asm names
 * it).  The running process therefore still holds its initial value, and
 * only the unit's functions that refer to it read it: a patch may carry a
 * changed table like read-only data if it replaces all of them.  The proof
 * is made per build by the plugin (gcc-plugin/nowrite.cc).
 * Strings: assembler name of the variable.
 */
struct lpmeta_nowrite {
    struct lpmeta_hdr hdr;
    uint64_t unit_id;
    /* char strings[]; */
};

enum lpmeta_anon_flags {
    LPMETA_ANON_CONST = 1u << 0, /* a constant the compiler made: nothing writes it */
};

/*
 * LPMETA_ANON: an object with no symbol (an assembler-local .LCn label) that
 * a function refers to, and the constants such an object refers to in turn
 * (the strings of an initializer template).  GCC puts an initializer
 * template with addresses in it (`const char *help[] = {"a", "b"}` inside
 * a function) in writable .data when compiling PIC, and at -O0 string
 * literals in plain .rodata: only this record tells such an object from
 * state, and gives its extent.  A function's records are emitted once per
 * object it uses; several functions may record the same object.
 * Strings: the function's assembler name.
 */
struct lpmeta_anon {
    struct lpmeta_hdr hdr;
    uint64_t addr; /* R_X86_64_64 against the object's label (a section
                      symbol + offset in an object file) */
    uint64_t unit_id;
    uint64_t size;  /* bytes */
    uint32_t flags; /* enum lpmeta_anon_flags */
    uint32_t reserved;
    /* char strings[]; */
};

/* Strings of a record start right after its fixed part. */
#define LPMETA_STRINGS(rec) ((const char *)((rec) + 1))

#endif /* LPMETA_H */
