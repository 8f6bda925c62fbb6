// lp-plugin.h - what the plugin's files share.  GCC headers must come first
// (gcc-plugin.h defines the configuration everything else depends on).
#ifndef LP_PLUGIN_H
#define LP_PLUGIN_H

#include "gcc-plugin.h"
#include "tree.h"
#include "memmodel.h"
#include "rtl.h"
#include "function.h"
#include "emit-rtl.h"
#include "cgraph.h"

#include <stdint.h>
#include <string>
#include <vector>

#include "lpmeta.h"

// The entry layout the plugin asks GCC for with -fpatchable-function-entry:
// LP_ENTRY_PAD bytes before the symbol, then LP_ENTRY_LEN at the entry (one
// `66 90`).  Shared with lpdiff, liblivepatch and lpatch (runtime/).
#include "lp_entry.h"

// A function's assembler name without GCC's '*' (verbatim) marker.
const char *lp_asm_name(tree decl);

// Stable name of a function-scope static: "function::var", "#k" for the
// k-th same-named one (k >= 2).  Empty string for anything else.
std::string lp_static_stable_name(tree var);

// XXH3-64 of the remapped main source path.
uint64_t lp_unit_id(void);

// hash.cc: XXH128 of the current function's final RTL, canonical bytes.
void lp_hash_function(uint8_t out[16], bool patchable, unsigned entry_off);

// records.cc: assembler output of the metadata records.
void lp_emit_func_record(const char *name, const char *origin, tree decl, uint32_t flags,
                         const uint8_t hash[16], unsigned prepad, unsigned entry_off);
void lp_emit_unit_records(const char *gcc_version);
void lp_clones_capture_start(void);
// Note the anonymous constants the current function refers to (recorded at
// the end of the unit, LPMETA_ANON).
void lp_note_anon_refs(const char *fn, tree fn_decl);
// The GC roots that keep the noted constants alive until then.
const struct ggc_root_tab *lp_anon_gc_roots(void);
void lp_add_link(uint32_t type, const char *from, const char *to);

// nowrite.cc: the GIMPLE pass proving tables are never written; the
// variables of this unit it proved (LPMETA_NOWRITE records).
void lp_nowrite_register(const char *plugin_name);
bool lp_nowrite_candidate(tree var);
std::vector<tree> lp_nowrite_proven(void);

#endif
