/*
 * model.h - what the differ knows about one build (OLD or NEW): the linked
 * module, the object files linked into it (units), and per unit the
 * functions and data objects, each matched to its peer in the other build.
 */
#ifndef DIFFER_MODEL_H
#define DIFFER_MODEL_H

#include <stdint.h>

#include "elfobj.h"
#include "lpmeta_read.h"
#include "strmap.h"
#include "util.h"

struct unit;
struct dwinfo;

struct fn {
    const char *name; /* symbol name in the object */
    char *key;        /* name with GCC's .N numbering removed */
    struct unit *u;
    size_t sym, sec;             /* indexes in the object */
    uint64_t off, size;          /* symbol value and size inside sec */
    const struct lpm_func *meta; /* plugin record, NULL without the plugin */
    struct fn *peer;
    struct fn *parent; /* a .cold part: its function */
    unsigned is_local : 1, is_cold : 1, is_ctor : 1;
    unsigned changed : 1, added : 1, in_patch : 1, dropped : 1;
    /* Another name of a code body already in the patch (C++'s C1/C2 and
     * D1/D2 constructors and destructors at -O1+: one address, two symbols):
     * replaced through that function's redirect, not one of its own. */
    unsigned is_alias : 1;
    const char *why; /* reason it is changed (static string) */
    /* Replaced functions: the OLD module's copy (filled by compare_check_entries). */
    uint64_t old_addr, old_size;
    uint8_t old_entry_off, old_prepad;
};

struct var {
    const char *name;
    char *key; /* stable name: plugin's "fn::var" or the name without .N */
    struct unit *u;
    size_t sym, sec;
    uint64_t off, size;
    struct var *peer;
    unsigned is_local : 1, writable : 1, tls : 1, changed : 1, added : 1;
    unsigned stable : 1; /* key is the plugin's stable name of a function-scope static */
    /* Writable, but the plugin proved in both builds that nothing writes it
     * and its address stays in its unit's reads (LPMETA_NOWRITE); it changed,
     * so the patch carries the NEW table like read-only data and every
     * function that refers to it is patched. */
    unsigned carried : 1;
};

/* A place in a section of a unit's object: an anonymous object recorded by
 * the plugin (size > 0), or a boundary (size 0: where some reference or
 * symbol points, so no inferred anonymous object reaches over it). */
struct anon_mark {
    size_t sec;
    uint64_t off, size;
};

/* The anonymous object a reference lands in (no symbol there). */
struct anon_obj {
    uint64_t start, size;
    int recorded; /* the plugin recorded it as a constant (LPMETA_ANON_CONST) */
};

struct unit {
    struct side *side;
    char *obj_path;
    struct elfobj *obj;
    struct lpm_module *meta; /* records of the object (may be empty) */
    const char *file;        /* STT_FILE name */
    uint64_t unit_id;        /* plugin unit id, 0 without the plugin */
    const char *gcc_version, *options;
    char *key; /* identity across builds */
    VEC(struct fn) fns;
    VEC(struct var) vars;
    struct strmap fn_by_key, var_by_key, fn_by_name;
    struct fn **fn_of_sym;   /* symbol index -> function defined there */
    struct var **var_of_sym; /* symbol index -> variable */
    size_t **sec_syms;       /* per section: defined symbols sorted by value */
    size_t *sec_nsyms;
    struct anon_mark *anons; /* recorded objects, sorted by (sec, off) */
    size_t nanons;
    struct anon_mark *bounds; /* boundaries, sorted by (sec, off) */
    size_t nbounds;
    struct unit *peer;
    int link_score; /* how well it matches the module's records */
};

struct side {
    const char *label; /* "old" / "new" */
    char *dir;
    char *module_path;
    struct elfobj *mod;
    struct lpm_module *mmeta; /* records of the linked module */
    int has_plugin;
    VEC(struct unit *) units;
    struct strmap global_syms;             /* module .symtab globals: name -> struct elfobj_sym* */
    struct strmap local_syms;              /* "name@file" -> struct elfobj_sym* */
    struct strmap local_keys;              /* "strippedname@file" -> struct elfobj_sym* */
    struct strmap dyn_undef;               /* .dynsym undefined names */
    struct strmap statics;                 /* "unitid:stable" -> struct lpm_static* */
    struct strmap global_fns, global_vars; /* over all units: name -> fn / var */
    struct strmap mfunc_names;             /* module plugin records by name */
    VEC(struct lpm_func *) mfuncs_by_addr;
    struct dwinfo *dw;
    VEC(char *) owned; /* strings to free */
};

#endif /* DIFFER_MODEL_H */
