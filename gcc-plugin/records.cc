// records.cc - the metadata records (lpmeta.h), written as assembler
// directives into asm_out_file between .pushsection/.popsection so GCC's
// own idea of the current section is untouched.
//
// Per-function records go to ".livepatch.func" with SHF_LINK_ORDER ("o")
// on the function's symbol, so ld --gc-sections keeps or drops each record
// with its function, and (for COMDAT functions) in the function's group.
#include "lp-plugin.h"

#include "diagnostic-core.h"
#include "file-prefix-map.h"
#include "opts.h"
#include "output.h"
#include "rtl-iter.h"
#include "toplev.h"
#include "varasm.h"
#include "ggc.h"
#include "gtype-desc.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>
#include <xxhash.h>

static unsigned nfuncs_recorded;

// ---- section and record framing -------------------------------------------

// Open SECTION linked to SYM's section; inherit SYM's COMDAT group if any.
static void push_linked_section(const char *section, const char *sym, tree decl)
{
    const char *group = NULL;
    if (decl && DECL_COMDAT_GROUP(decl))
        group = IDENTIFIER_POINTER(DECL_COMDAT_GROUP(decl));
    if (group)
        fprintf(asm_out_file, "\t.pushsection %s,\"oG\",@progbits,%s,%s,comdat\n", section, sym,
                group);
    else
        fprintf(asm_out_file, "\t.pushsection %s,\"o\",@progbits,%s\n", section, sym);
    fputs("\t.balign 8\n", asm_out_file);
}

static void push_plain_section(const char *section)
{
    fprintf(asm_out_file, "\t.pushsection %s,\"\",@progbits\n\t.balign 8\n", section);
}

static size_t record_size(size_t fixed, const std::vector<const char *> &strings)
{
    size_t n = fixed;
    for (const char *s : strings)
        n += strlen(s) + 1;
    return (n + 7) & ~(size_t)7;
}

static void put_header(uint32_t kind, size_t size)
{
    fprintf(asm_out_file, "\t.long %u, %zu\n", kind, size);
}

// Strings are written byte by byte: names may hold characters .string escapes.
static void put_strings(const std::vector<const char *> &strings, size_t fixed, size_t size)
{
    size_t used = fixed;
    for (const char *s : strings) {
        fputs("\t.byte", asm_out_file);
        for (const char *p = s;; p++) {
            fprintf(asm_out_file, "%s%u", p == s ? " " : ",", (unsigned char)*p);
            if (!*p)
                break;
        }
        fputc('\n', asm_out_file);
        used += strlen(s) + 1;
    }
    if (size > used)
        fprintf(asm_out_file, "\t.zero %zu\n", size - used);
}

// ---- function records ----------------------------------------------------

void lp_emit_func_record(const char *name, const char *origin, tree decl, uint32_t flags,
                         const uint8_t hash[16], unsigned prepad, unsigned entry_off)
{
    std::vector<const char *> strings = {name, origin};
    size_t size = record_size(sizeof(struct lpmeta_func), strings);
    push_linked_section(LPMETA_SEC_FUNC, name, decl);
    put_header(LPMETA_FUNC, size);
    fprintf(asm_out_file, "\t.quad %s\n", name);
    fprintf(asm_out_file, "\t.quad 0x%016llx\n", (unsigned long long)lp_unit_id());
    fputs("\t.byte", asm_out_file);
    for (int i = 0; i < 16; i++)
        fprintf(asm_out_file, "%s0x%02x", i ? "," : " ", hash[i]);
    fprintf(asm_out_file, "\n\t.long %u\n\t.byte %u, %u\n\t.short 0\n", flags, prepad, entry_off);
    put_strings(strings, sizeof(struct lpmeta_func), size);
    fputs("\t.popsection\n", asm_out_file);
    nfuncs_recorded++;
}

// ---- inlining and clone links ----------------------------------------------
//
// GCC reports every inlining and clone decision on symtab->ipa_clones_dump_file
// (what -fdump-ipa-clones writes); we point it at a memory stream and parse it
// at the end of the unit.  Lines look like
//   Callgraph clone;ORIG;order;file;line;col;NEW;order;file;line;col;KIND
// where KIND is "inlining to" (ORIG was inlined into NEW) or a clone suffix.

static char *clones_buf;
static size_t clones_len;
static FILE *clones_stream;

void lp_clones_capture_start(void)
{
    if (symtab && !symtab->ipa_clones_dump_file) {
        clones_stream = open_memstream(&clones_buf, &clones_len);
        symtab->ipa_clones_dump_file = clones_stream;
    }
}

struct link_rec {
    uint32_t type;
    std::string from, to;
    bool operator<(const link_rec &o) const
    {
        return std::tie(type, from, to) < std::tie(o.type, o.from, o.to);
    }
};

static std::set<link_rec> extra_links; // found by the RTL pass (cold parts)

void lp_add_link(uint32_t type, const char *from, const char *to)
{
    extra_links.insert({type, from, to});
}

static std::set<link_rec> parse_clone_links(void)
{
    std::set<link_rec> links = extra_links;
    if (!clones_stream)
        return links;
    fflush(clones_stream);
    std::string all(clones_buf ? clones_buf : "", clones_len);
    size_t pos = 0;
    while (pos < all.size()) {
        size_t eol = all.find('\n', pos);
        if (eol == std::string::npos)
            eol = all.size();
        std::string line = all.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.compare(0, 16, "Callgraph clone;"))
            continue;
        std::vector<std::string> f;
        size_t s = 0;
        for (;;) {
            size_t semi = line.find(';', s);
            f.push_back(line.substr(s, semi == std::string::npos ? semi : semi - s));
            if (semi == std::string::npos)
                break;
            s = semi + 1;
        }
        if (f.size() < 12)
            continue;
        const std::string &orig = f[1], &made = f[6], &kind = f[11];
        if (orig == made)
            continue;
        if (kind == "inlining to")
            links.insert({LPMETA_LINK_INLINE, made, orig});
        else
            links.insert({LPMETA_LINK_CLONE, made, orig});
    }
    return links;
}

static void emit_link(const link_rec &l, uint64_t unit_id)
{
    std::vector<const char *> strings = {l.from.c_str(), l.to.c_str()};
    size_t size = record_size(sizeof(struct lpmeta_link), strings);
    put_header(LPMETA_LINK, size);
    fprintf(asm_out_file, "\t.quad 0x%016llx\n\t.long %u, 0\n", (unsigned long long)unit_id,
            l.type);
    put_strings(strings, sizeof(struct lpmeta_link), size);
}

// ---- function-scope statics -----------------------------------------------

static bool is_function_static(tree var)
{
    return var && VAR_P(var) && TREE_STATIC(var) && !DECL_EXTERNAL(var) && DECL_CONTEXT(var) &&
           TREE_CODE(DECL_CONTEXT(var)) == FUNCTION_DECL && DECL_NAME(var);
}

std::string lp_static_stable_name(tree var)
{
    static std::map<tree, std::string> cache;
    if (!is_function_static(var))
        return std::string();
    auto hit = cache.find(var);
    if (hit != cache.end())
        return hit->second;
    // k-th static of that name in that function, in declaration (UID) order.
    tree fn = DECL_CONTEXT(var);
    unsigned rank = 1;
    varpool_node *node;
    FOR_EACH_VARIABLE(node)
    {
        tree other = node->decl;
        if (other != var && is_function_static(other) && DECL_CONTEXT(other) == fn &&
            DECL_NAME(other) == DECL_NAME(var) && DECL_UID(other) < DECL_UID(var))
            rank++;
    }
    std::string name = std::string(lp_asm_name(fn)) + "::" + IDENTIFIER_POINTER(DECL_NAME(var));
    if (rank > 1)
        name += "#" + std::to_string(rank);
    cache[var] = name;
    return name;
}

static void emit_statics(uint64_t unit_id)
{
    varpool_node *node;
    FOR_EACH_VARIABLE(node)
    {
        tree var = node->decl;
        if (!is_function_static(var) || !TREE_ASM_WRITTEN(var))
            continue;
        std::string stable = lp_static_stable_name(var);
        const char *asm_name = lp_asm_name(var);
        std::vector<const char *> strings = {asm_name, stable.c_str()};
        size_t size = record_size(sizeof(struct lpmeta_static), strings);
        push_linked_section(LPMETA_SEC_STATIC, asm_name, var);
        put_header(LPMETA_STATIC, size);
        fprintf(asm_out_file, "\t.quad %s\n\t.quad 0x%016llx\n", asm_name,
                (unsigned long long)unit_id);
        put_strings(strings, sizeof(struct lpmeta_static), size);
        fputs("\t.popsection\n", asm_out_file);
    }
}

// ---- tables never written --------------------------------------------------

static void emit_nowrite(uint64_t unit_id)
{
    std::vector<tree> vars = lp_nowrite_proven();
    if (vars.empty())
        return;
    push_plain_section(LPMETA_SEC_NOWRITE);
    for (tree var : vars) {
        std::vector<const char *> strings = {lp_asm_name(var)};
        size_t size = record_size(sizeof(struct lpmeta_nowrite), strings);
        put_header(LPMETA_NOWRITE, size);
        fprintf(asm_out_file, "\t.quad 0x%016llx\n", (unsigned long long)unit_id);
        put_strings(strings, sizeof(struct lpmeta_nowrite), size);
    }
    fputs("\t.popsection\n", asm_out_file);
}

// ---- anonymous constants ----------------------------------------------------
//
// The RTL pass notes which constant-pool symbols (.LCn: string literals,
// initializer templates, floating-point and vector constants) each function
// refers to.  An RTL-pool constant (float, vector) referenced by the final
// insns is written with the function: its record goes out at once.  A tree
// constant (string, template) may be written later, and the constants a
// template refers to (its strings) only exist then: those records go out at
// the end of the unit, for what GCC did write.  Until then the constants'
// symbols (and their decls) are held in GC roots: GCC's collector runs
// between functions.

struct anon_use {
    std::string fn, group; // the function, its COMDAT group ("" if none)
};
static std::vector<anon_use> anon_uses; // parallel to the lists, oldest first
static rtx anon_syms;                   // EXPR_LIST of their SYMBOL_REFs, newest first
static tree anon_decls;                 // TREE_LIST of their decls, newest first

static const struct ggc_root_tab anon_root_tab[] = {
    {&anon_syms, 1, sizeof(anon_syms), &gt_ggc_mx_rtx_def, &gt_pch_nx_rtx_def},
    {&anon_decls, 1, sizeof(anon_decls), &gt_ggc_mx_tree_node, &gt_pch_nx_tree_node},
    LAST_GGC_ROOT_TAB,
};

const struct ggc_root_tab *lp_anon_gc_roots(void)
{
    return anon_root_tab;
}

static bool is_anon_const(const_rtx x)
{
    return GET_CODE(x) == SYMBOL_REF &&
           (CONSTANT_POOL_ADDRESS_P(x) || TREE_CONSTANT_POOL_ADDRESS_P(x));
}

static void emit_anon(const anon_use &use, const char *label, uint64_t size)
{
    std::vector<const char *> strings = {use.fn.c_str()};
    size_t rsize = record_size(sizeof(struct lpmeta_anon), strings);
    if (!use.group.empty())
        fprintf(asm_out_file, "\t.pushsection %s,\"oG\",@progbits,%s,%s,comdat\n\t.balign 8\n",
                LPMETA_SEC_ANON, use.fn.c_str(), use.group.c_str());
    else
        fprintf(asm_out_file, "\t.pushsection %s,\"o\",@progbits,%s\n\t.balign 8\n",
                LPMETA_SEC_ANON, use.fn.c_str());
    put_header(LPMETA_ANON, rsize);
    fprintf(asm_out_file, "\t.quad %s\n\t.quad 0x%016llx\n\t.quad %llu\n\t.long %u, 0\n", label,
            (unsigned long long)lp_unit_id(), (unsigned long long)size, LPMETA_ANON_CONST);
    put_strings(strings, sizeof(struct lpmeta_anon), rsize);
    fputs("\t.popsection\n", asm_out_file);
}

static const char *label_of(const_rtx sym)
{
    const char *label = XSTR(sym, 0);
    return label + (label[0] == '*');
}

void lp_note_anon_refs(const char *fn, tree fn_decl)
{
    anon_use use = {fn, ""};
    if (DECL_COMDAT_GROUP(fn_decl))
        use.group = IDENTIFIER_POINTER(DECL_COMDAT_GROUP(fn_decl));
    std::set<std::string> seen;
    for (rtx_insn *insn = get_insns(); insn; insn = NEXT_INSN(insn)) {
        if (!NONDEBUG_INSN_P(insn))
            continue;
        subrtx_iterator::array_type array;
        FOR_EACH_SUBRTX(iter, array, PATTERN(insn), ALL)
        {
            const_rtx x = *iter;
            if (!is_anon_const(x) || !seen.insert(label_of(x)).second)
                continue;
            if (CONSTANT_POOL_ADDRESS_P(x)) {
                uint64_t size = GET_MODE_SIZE(get_pool_mode(x));
                if (size)
                    emit_anon(use, label_of(x), size);
            } else if (SYMBOL_REF_DECL(x)) {
                anon_syms = gen_rtx_EXPR_LIST(VOIDmode, CONST_CAST_RTX(x), anon_syms);
                anon_decls = tree_cons(NULL_TREE, SYMBOL_REF_DECL(x), anon_decls);
                anon_uses.push_back(use);
            }
        }
    }
}

// The value and size of a tree constant (the decl of its .LCn) that GCC
// wrote out; false when it was not written (optimised away late).
static bool anon_written(tree decl, tree *value, uint64_t *size)
{
    tree v = DECL_P(decl) ? DECL_INITIAL(decl) : decl;
    if (!v || !(TREE_ASM_WRITTEN(v) || TREE_ASM_WRITTEN(decl)))
        return false;
    HOST_WIDE_INT n = int_size_in_bytes(TREE_TYPE(v));
    if (TREE_CODE(v) == STRING_CST && TREE_STRING_LENGTH(v) > n)
        n = TREE_STRING_LENGTH(v);
    *value = v;
    *size = n > 0 ? (uint64_t)n : 0;
    return *size > 0;
}

// Constants a constant refers to by address: the strings of a template.
static void nested_consts(tree t, std::vector<rtx> &out, int depth)
{
    if (!t || depth > 16)
        return;
    if (TREE_CODE(t) == CONSTRUCTOR) {
        unsigned i;
        tree val;
        FOR_EACH_CONSTRUCTOR_VALUE(CONSTRUCTOR_ELTS(t), i, val)
        nested_consts(val, out, depth + 1);
        return;
    }
    if (TREE_CODE(t) == ADDR_EXPR) {
        tree base = TREE_OPERAND(t, 0);
        while (handled_component_p(base))
            base = TREE_OPERAND(base, 0);
        if (CONSTANT_CLASS_P(base) || TREE_CODE(base) == CONSTRUCTOR) {
            rtx mem = lookup_constant_def(base);
            if (mem && MEM_P(mem) && is_anon_const(XEXP(mem, 0)) && SYMBOL_REF_DECL(XEXP(mem, 0)))
                out.push_back(XEXP(mem, 0));
        }
        return;
    }
    if (EXPR_P(t))
        for (int i = 0; i < TREE_OPERAND_LENGTH(t); i++)
            nested_consts(TREE_OPERAND(t, i), out, depth + 1);
}

static void emit_anons(void)
{
    std::vector<std::pair<anon_use, rtx>> work; // in the order noted
    for (rtx l = anon_syms; l; l = XEXP(l, 1))
        work.push_back({anon_use(), XEXP(l, 0)});
    std::reverse(work.begin(), work.end());
    gcc_assert(work.size() == anon_uses.size());
    for (size_t i = 0; i < work.size(); i++)
        work[i].first = anon_uses[i];
    std::set<std::pair<std::string, std::string>> done; // (function, label)
    // No collection runs here: the nested constants found need no root.
    for (size_t i = 0; i < work.size(); i++) {
        const anon_use use = work[i].first; // copies: the loop appends
        rtx sym = work[i].second;
        tree value;
        uint64_t size;
        if (!anon_written(SYMBOL_REF_DECL(sym), &value, &size) ||
            !done.insert({use.fn, label_of(sym)}).second)
            continue;
        std::vector<rtx> inner;
        nested_consts(value, inner, 0);
        for (rtx x : inner)
            work.push_back({use, x});
        emit_anon(use, label_of(sym), size);
    }
    anon_uses.clear();
    anon_syms = NULL_RTX;
    anon_decls = NULL_TREE;
}

// ---- the unit record ------------------------------------------------------

// Options that change code, in a canonical order: the last setting of each
// option, sorted.  Paths, diagnostics, dumps and preprocessor-only options
// are left out so that the same build in another directory compares equal.
static std::string codegen_options(void)
{
    static const char *const skip[] = {
        "-I",
        "-D",
        "-U",
        "-g",
        "-W",
        "-w",
        "-o",
        "-M",
        "-i",
        "-quiet",
        "-dump",
        "-aux",
        "-fplugin",
        "-fdiagnostics",
        "-fmessage-length",
        "-fdump",
        "-fdebug-prefix-map",
        "-ffile-prefix-map",
        "-fmacro-prefix-map",
        "-fprofile-prefix-map",
        "-fpreprocessed",
        "-fworking-directory",
        "-fno-working-directory",
        "-v",
        "-Q",
        "-pedantic",
        "-fcompare-debug",
        "-fno-diagnostics",
        "-fshow-column",
        "-fno-show-column",
        "-fcolor",
        "-fno-color",
        "-flto",
    };
    std::map<size_t, std::string> last; // option index -> text
    for (unsigned i = 1; i < save_decoded_options_count; i++) {
        const cl_decoded_option &o = save_decoded_options[i];
        if (o.opt_index == OPT_SPECIAL_input_file || !o.orig_option_with_args_text)
            continue;
        const char *text = o.orig_option_with_args_text;
        if (text[0] != '-')
            continue;
        bool dropped = false;
        for (const char *p : skip)
            if (!strncmp(text, p, strlen(p)))
                dropped = true;
        if (!dropped)
            last[o.opt_index] = text;
    }
    std::vector<std::string> kept;
    for (auto &kv : last)
        kept.push_back(kv.second);
    std::sort(kept.begin(), kept.end());
    std::string out;
    for (auto &s : kept) {
        if (!out.empty())
            out += ' ';
        out += s;
    }
    return out;
}

void lp_emit_unit_records(const char *gcc_version)
{
    if (seen_error() || !asm_out_file)
        return;
    uint64_t unit_id = lp_unit_id();
    const char *source = main_input_filename ? remap_debug_filename(main_input_filename) : "";
    std::string options = codegen_options();
    std::vector<const char *> strings = {source, gcc_version, options.c_str()};
    size_t size = record_size(sizeof(struct lpmeta_unit), strings);

    // Kept by ld with or without --gc-sections: no relocations, not linked.
    push_plain_section(LPMETA_SEC_UNIT);
    put_header(LPMETA_UNIT, size);
    fprintf(asm_out_file, "\t.quad 0x%016llx\n\t.long %u, %u\n", (unsigned long long)unit_id,
            LPMETA_FORMAT_VERSION, nfuncs_recorded);
    put_strings(strings, sizeof(struct lpmeta_unit), size);
    fputs("\t.popsection\n", asm_out_file);

    std::set<link_rec> links = parse_clone_links();
    if (!links.empty()) {
        push_plain_section(LPMETA_SEC_LINK);
        for (const link_rec &l : links)
            emit_link(l, unit_id);
        fputs("\t.popsection\n", asm_out_file);
    }
    emit_statics(unit_id);
    emit_nowrite(unit_id);
    emit_anons();
}
