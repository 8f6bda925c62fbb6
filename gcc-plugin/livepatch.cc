// livepatch.cc - the GCC plugin's entry point: options, the patchable entry
// of every function, and the late RTL pass that hashes each function and
// records it.
//
// Entry layout (runtime/lp_entry.h): we ask GCC for
// -fpatchable-function-entry=LP_ENTRY_AREA,LP_ENTRY_PAD (18,16).  GCC then
// (1) calls targetm.asm_out.print_patchable_function_entry before the
// function label: our hook prints the LP_ENTRY_PAD-byte pad there; (2) inserts a
// `patchable_area` insn after endbr64 for the 2 bytes after the label: our
// pass turns it into ONE 2-byte NOP (`66 90`) so an applier can switch it to
// a short jump with a single atomic store.
#include "lp-plugin.h"
#include "plugin-version.h"

#include "context.h"
#include "diagnostic-core.h"
#include "file-prefix-map.h"
#include "insn-codes.h"
#include "insn-constants.h"
#include "output.h"
#include "target.h"
#include "tree-pass.h"
#include "version.h"

#include <set>
#include <xxhash.h>

int plugin_is_GPL_compatible;

static std::set<std::string> excluded_names;
static void (*gcc_print_patchable_entry)(FILE *, unsigned HOST_WIDE_INT, bool);
static char gcc_version_text[128];

const char *lp_asm_name(tree decl)
{
    const char *name = IDENTIFIER_POINTER(DECL_ASSEMBLER_NAME(decl));
    return name[0] == '*' ? name + 1 : name;
}

uint64_t lp_unit_id(void)
{
    const char *src = main_input_filename ? remap_debug_filename(main_input_filename) : "";
    return XXH3_64bits(src, strlen(src));
}

// Does this function use the layout we asked for (not opted out)?
static bool has_our_entry(void)
{
    return crtl->patch_area_size == LP_ENTRY_AREA && crtl->patch_area_entry == LP_ENTRY_PAD;
}

// Hook: GCC calls it before the label (size LP_ENTRY_PAD) and after it (the
// remaining bytes, which the patchable_area insn emits instead, so nothing
// to do).  Functions with their own patchable_function_entry attribute keep
// GCC's behaviour.
static void print_entry_pad(FILE *f, unsigned HOST_WIDE_INT size, bool record_p)
{
    if (!cfun || !has_our_entry()) {
        gcc_print_patchable_entry(f, size, record_p);
        return;
    }
    if (size != LP_ENTRY_PAD)
        return;
    fputs("\t.byte", f);
    for (int i = 0; i < LP_ENTRY_PAD; i++)
        fprintf(f, "%s%#x", i ? "," : " ", LP_NOP1);
    fputc('\n', f);
}

static bool is_unspecv(rtx_insn *insn, int which)
{
    rtx pat = PATTERN(insn);
    return GET_CODE(pat) == UNSPEC_VOLATILE && XINT(pat, 1) == which;
}

// Find the patchable_area insn and the endbr64 before it.  Returns NULL when
// GCC did not place one (e.g. -pg with -mfentry queues it elsewhere).
static rtx_insn *find_entry_insn(bool *after_endbr)
{
    *after_endbr = false;
    for (rtx_insn *insn = get_insns(); insn; insn = NEXT_INSN(insn)) {
        if (!NONDEBUG_INSN_P(insn))
            continue;
        if (is_unspecv(insn, UNSPECV_NOP_ENDBR)) {
            *after_endbr = true;
            continue;
        }
        if (is_unspecv(insn, UNSPECV_PATCHABLE_AREA))
            return insn;
        return NULL; // the entry must be the first instruction (after endbr64)
    }
    return NULL;
}

// "foo.constprop.0" -> "foo": the function a clone or part was made from.
static std::string clone_origin(const char *name)
{
    static const char *const suffixes[] = {".constprop.", ".isra.", ".part.", ".cold"};
    const char *cut = NULL;
    for (const char *s : suffixes) {
        const char *p = strstr(name, s);
        if (p && (!cut || p < cut))
            cut = p;
    }
    return cut ? std::string(name, cut - name) : std::string();
}

// exclude= names match the source or assembler name, and clones follow
// the function they were made from.
static bool is_excluded_by_name(tree decl)
{
    if (excluded_names.empty())
        return false;
    const char *name = lp_asm_name(decl);
    if (excluded_names.count(name) || excluded_names.count(clone_origin(name)))
        return true;
    return DECL_NAME(decl) && excluded_names.count(IDENTIFIER_POINTER(DECL_NAME(decl)));
}

static unsigned int livepatch_execute(function *fun)
{
    tree decl = fun->decl;
    const char *name = lp_asm_name(decl);
    bool after_endbr = false;
    rtx_insn *entry = has_our_entry() ? find_entry_insn(&after_endbr) : NULL;

    if (has_our_entry() && (is_excluded_by_name(decl) || !entry)) {
        // Opted out by name (or no place for the entry): no pad, no entry.
        crtl->patch_area_size = crtl->patch_area_entry = 0;
        if (entry)
            SET_INSN_DELETED(entry);
        entry = NULL;
    }
    bool patchable = entry != NULL;
    unsigned entry_off = patchable && after_endbr ? LP_ENDBR64_LEN : 0;
    if (entry) {
        // BUILTINS_LOCATION: final prints a "# line file" comment for real ones.
        char nop[32];
        snprintf(nop, sizeof nop, ".byte %#x, %#x", LP_NOP2_0, LP_NOP2_1);
        PATTERN(entry) = gen_rtx_ASM_INPUT_loc(VOIDmode, ggc_strdup(nop), BUILTINS_LOCATION);
        INSN_CODE(entry) = -1;
    }

    uint8_t hash[16];
    lp_hash_function(hash, patchable, entry_off);

    uint32_t flags = patchable ? LPMETA_F_PATCHABLE : LPMETA_F_EXCLUDED;
    if (!TREE_PUBLIC(decl))
        flags |= LPMETA_F_LOCAL;
    if (DECL_STATIC_CONSTRUCTOR(decl))
        flags |= LPMETA_F_CTOR;
    if (DECL_STATIC_DESTRUCTOR(decl))
        flags |= LPMETA_F_DTOR;
    if (TREE_THIS_VOLATILE(decl))
        flags |= LPMETA_F_NORETURN;
    std::string origin = clone_origin(name);
    if (!origin.empty())
        flags |= LPMETA_F_CLONE;
    lp_emit_func_record(name, origin.c_str(), decl, flags, hash, patchable ? LP_ENTRY_PAD : 0,
                        entry_off);
    lp_note_anon_refs(name, decl);

    if (crtl->has_bb_partition) {
        // The cold part: its own symbol, never an entry point, same hash.
        std::string cold = std::string(name) + ".cold";
        uint32_t cflags = LPMETA_F_COLD | LPMETA_F_LOCAL |
                          (flags & (LPMETA_F_CTOR | LPMETA_F_DTOR | LPMETA_F_NORETURN));
        lp_emit_func_record(cold.c_str(), name, decl, cflags, hash, 0, 0);
        lp_add_link(LPMETA_LINK_COLD, cold.c_str(), name);
    }
    return 0;
}

namespace
{
const pass_data livepatch_pass_data = {
    RTL_PASS, "livepatch", OPTGROUP_NONE, TV_NONE, PROP_rtl, 0, 0, 0, 0,
};

struct livepatch_pass : rtl_opt_pass {
    livepatch_pass(gcc::context *ctx) : rtl_opt_pass(livepatch_pass_data, ctx)
    {
    }
    unsigned int execute(function *fun) final override
    {
        return livepatch_execute(fun);
    }
};
} // namespace

// What -flive-patching=inline-clone would have switched off, had it run
// before we were loaded: facts a caller may assume about its callee.
static void restrict_ipa(void)
{
    flag_ipa_pta = 0;
    flag_ipa_reference = 0;
    flag_ipa_reference_addressable = 0;
    flag_ipa_ra = 0;
    flag_ipa_icf = 0;
    flag_ipa_icf_functions = 0;
    flag_ipa_icf_variables = 0;
    flag_ipa_bit_cp = 0;
    flag_ipa_vrp = 0;
    flag_ipa_pure_const = 0;
    flag_ipa_modref = 0;
    flag_ipa_stack_alignment = 0;
    flag_whole_program = 0;
}

static void add_excluded(const char *list)
{
    std::string all(list ? list : "");
    size_t start = 0;
    while (start <= all.size()) {
        size_t comma = all.find(',', start);
        if (comma == std::string::npos)
            comma = all.size();
        if (comma > start)
            excluded_names.insert(all.substr(start, comma - start));
        start = comma + 1;
    }
}

static void finish_unit(void *, void *)
{
    lp_emit_unit_records(gcc_version_text);
}

static struct plugin_info livepatch_info = {
    "1",
    "livepatch: patchable entries and per-function hashes for live patching.\n"
    "  -fplugin-arg-livepatch-exclude=f,g   no patchable entry for functions f and g\n",
};

int plugin_init(struct plugin_name_args *info, struct plugin_gcc_version *ver)
{
    if (!plugin_default_version_check(ver, &gcc_version)) {
        error("livepatch: plugin built for GCC %s, this is GCC %s", gcc_version.basever,
              ver->basever);
        return 1;
    }
    for (int i = 0; i < info->argc; i++) {
        if (!strcmp(info->argv[i].key, "exclude"))
            add_excluded(info->argv[i].value);
        else {
            // error() fails the compilation; returning 0 spares a second line
            error("livepatch: unknown plugin argument %<-fplugin-arg-%s-%s%>", info->base_name,
                  info->argv[i].key);
            return 0;
        }
    }
    if (flag_lto || flag_generate_lto) {
        const char *lto = "-flto"; // printed plain, as users type it
        error("livepatch: %s is not supported: live patches replace functions of one "
              "compilation unit at a time; build without %s",
              lto, lto);
        return 0;
    }
    if (flag_patchable_function_entry) {
        // The entry layout is ours; a second one would break both.
        const char *opt = "-fpatchable-function-entry";
        error("livepatch: %s is set by the plugin itself; remove %s=%s", opt, opt,
              flag_patchable_function_entry);
        return 0;
    }
    snprintf(gcc_version_text, sizeof(gcc_version_text), "%s %s", version_string,
             pkgversion_string);
    size_t len = strlen(gcc_version_text);
    while (len && gcc_version_text[len - 1] == ' ')
        gcc_version_text[--len] = '\0';

    flag_function_sections = 1;
    flag_data_sections = 1;
    restrict_ipa();
    flag_patchable_function_entry = LP_PATCHABLE_FUNCTION_ENTRY;
    gcc_print_patchable_entry = targetm.asm_out.print_patchable_function_entry;
    targetm.asm_out.print_patchable_function_entry = print_entry_pad;
    lp_clones_capture_start();

    struct register_pass_info pass = {new livepatch_pass(g), "final", 1, PASS_POS_INSERT_BEFORE};
    register_callback(info->base_name, PLUGIN_PASS_MANAGER_SETUP, NULL, &pass);
    lp_nowrite_register(info->base_name);
    register_callback(info->base_name, PLUGIN_FINISH_UNIT, finish_unit, NULL);
    register_callback(info->base_name, PLUGIN_REGISTER_GGC_ROOTS, NULL,
                      const_cast<ggc_root_tab *>(lp_anon_gc_roots()));
    register_callback(info->base_name, PLUGIN_INFO, NULL, &livepatch_info);
    return 0;
}
