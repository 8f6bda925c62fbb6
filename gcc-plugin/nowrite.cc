// nowrite.cc - proof that a file-scope static table in writable storage is
// never written: the LPMETA_NOWRITE records (lpmeta.h).
//
// lpdiff refuses a changed writable variable because the running process
// holds its current value.  A table the program never writes (a
// `static char *allowed[] = {...}` that is not const) still holds its initial
// value, so a patch may carry the new table like read-only data, provided
// every function that reads it is patched.  lpdiff finds those readers by
// their relocations; this file proves that there is nothing else: no store,
// and no copy of its address that could be used outside the unit's reads.
//
// The proof is syntactic, on each function's GIMPLE right after it is put
// into SSA form (before inlining and IPA: every later body derives from
// these).  A variable is a candidate when it is a file-scope static, not
// const, not volatile, not thread-local, without `used` / `section`, and the
// unit has no asm statement, toplevel asm or variable alias (they could name
// it in ways we cannot see).  A candidate loses the proof when
//   - it is the destination of any assignment (or mentioned there at all);
//   - another variable's initializer mentions it;
//   - its address (or a pointer derived from it) is used in any way other
//     than: loading through it, pointer arithmetic / copies / PHIs into
//     further SSA names that obey the same rule, comparisons and pointer
//     differences.  Passing it to any call (even a static function), storing
//     it to memory, converting it to an integer, returning it or storing
//     through it is an escape.
// When in doubt the proof is not given; lpdiff then refuses as before.
#include "lp-plugin.h"

#include "tree-pass.h"
#include "context.h"
#include "basic-block.h"
#include "tree-ssa-alias.h"
#include "gimple-expr.h"
#include "gimple.h"
#include "gimple-iterator.h"
#include "ssa.h"
#include "attribs.h"
#include "output.h"

#include <set>
#include <vector>

static std::set<tree> unprovable_vars; // written, or their address escapes
static bool unit_unprovable;           // asm or aliases: no proof at all

bool lp_nowrite_candidate(tree var)
{
    if (!var || !VAR_P(var) || !TREE_STATIC(var) || DECL_EXTERNAL(var) || TREE_PUBLIC(var))
        return false;
    if (TREE_READONLY(var) || TREE_THIS_VOLATILE(var) || DECL_THREAD_LOCAL_P(var) ||
        DECL_PRESERVE_P(var) || DECL_HARD_REGISTER(var) || !DECL_NAME(var))
        return false;
    if (DECL_CONTEXT(var) && TREE_CODE(DECL_CONTEXT(var)) != TRANSLATION_UNIT_DECL)
        return false;
    return !lookup_attribute("section", DECL_ATTRIBUTES(var)) &&
           !lookup_attribute("used", DECL_ATTRIBUTES(var));
}

// ---- finding mentions ------------------------------------------------------

struct find_ctx {
    tree what;                // a decl or SSA name to count
    unsigned count;           // occurrences of `what`
    std::vector<tree> *cands; // or: collect candidate decls
};

static tree find_cb(tree *tp, int *walk_subtrees, void *data)
{
    find_ctx *c = (find_ctx *)data;
    if (c->cands) {
        if (VAR_P(*tp) && lp_nowrite_candidate(*tp))
            c->cands->push_back(*tp);
    } else if (*tp == c->what)
        c->count++;
    if (TYPE_P(*tp) || DECL_P(*tp))
        *walk_subtrees = 0;
    return NULL_TREE;
}

static unsigned count_in(tree t, tree what)
{
    if (!t)
        return 0;
    find_ctx c = {what, 0, NULL};
    walk_tree_without_duplicates(&t, find_cb, &c);
    return c.count;
}

static unsigned count_in_stmt(gimple *stmt, tree what)
{
    unsigned n = 0;
    if (gphi *phi = dyn_cast<gphi *>(stmt)) {
        for (unsigned i = 0; i < gimple_phi_num_args(phi); i++)
            n += count_in(gimple_phi_arg_def(phi, i), what);
        return n;
    }
    for (unsigned i = 0; i < gimple_num_ops(stmt); i++)
        n += count_in(gimple_op(stmt, i), what);
    return n;
}

// ---- what a statement does with a pointer into the candidate ----------------

// The innermost object of a reference: the decl, or the MEM_REF through a
// pointer (get_base_address looks through MEM_REF of an ADDR_EXPR).
static bool based_on(tree ref, tree x)
{
    tree base = get_base_address(ref);
    if (!base)
        return false;
    if (base == x)
        return true;
    return (TREE_CODE(base) == MEM_REF || TREE_CODE(base) == TARGET_MEM_REF) &&
           TREE_OPERAND(base, 0) == x;
}

// A load from memory x points into (or from decl x), x mentioned once.
static bool is_load_via(tree rhs, tree x)
{
    return rhs && TREE_CODE(rhs) != ADDR_EXPR && TREE_CODE(rhs) != SSA_NAME &&
           !CONSTANT_CLASS_P(rhs) && based_on(rhs, x) && count_in(rhs, x) == 1;
}

// A pointer value into x's memory: x itself (SSA) or &x[...] / &MEM[x + k].
static bool is_pointer_via(tree op, tree x)
{
    if (op == x)
        return TREE_CODE(x) == SSA_NAME;
    return op && TREE_CODE(op) == ADDR_EXPR && based_on(TREE_OPERAND(op, 0), x) &&
           count_in(op, x) == 1;
}

// Does `stmt`, which mentions x (the candidate decl or an SSA pointer derived
// from it), only read through it?  New derived pointers go on `work`.
static bool use_ok(gimple *stmt, tree x, std::vector<tree> &work)
{
    if (is_gimple_debug(stmt))
        return true;
    if (gphi *phi = dyn_cast<gphi *>(stmt)) {
        for (unsigned i = 0; i < gimple_phi_num_args(phi); i++) {
            tree a = gimple_phi_arg_def(phi, i);
            if (count_in(a, x) && !is_pointer_via(a, x))
                return false;
        }
        work.push_back(gimple_phi_result(phi));
        return true;
    }
    if (gimple_code(stmt) == GIMPLE_COND)
        return true; // a comparison: the result is a truth value
    if (!is_gimple_assign(stmt))
        return false; // calls, asm, returns, switches: an escape
    tree lhs = gimple_assign_lhs(stmt);
    if (count_in(lhs, x))
        return false; // a store into it (or through it), or x as an index
    enum tree_code code = gimple_assign_rhs_code(stmt);
    tree rhs1 = gimple_assign_rhs1(stmt);
    if (TREE_CODE_CLASS(code) == tcc_comparison || code == POINTER_DIFF_EXPR)
        return true;
    if (gimple_assign_single_p(stmt) && is_load_via(rhs1, x))
        return true; // the loaded value is data, not the table's address
    if (TREE_CODE(lhs) != SSA_NAME || !POINTER_TYPE_P(TREE_TYPE(lhs)))
        return false; // the address stored to memory or turned into a number
    if (gimple_assign_single_p(stmt) || CONVERT_EXPR_CODE_P(code)) {
        if (!is_pointer_via(rhs1, x))
            return false;
    } else if (code == POINTER_PLUS_EXPR) {
        if (!is_pointer_via(rhs1, x) || count_in(gimple_assign_rhs2(stmt), x))
            return false;
    } else
        return false;
    work.push_back(lhs);
    return true;
}

// Follow every pointer derived from candidate `var` at statement `stmt`.
static bool uses_ok(gimple *stmt, tree var)
{
    std::vector<tree> work;
    std::set<tree> done;
    if (!use_ok(stmt, var, work))
        return false;
    while (!work.empty()) {
        tree name = work.back();
        work.pop_back();
        if (TREE_CODE(name) != SSA_NAME)
            return false;
        if (!done.insert(name).second)
            continue;
        imm_use_iterator it;
        use_operand_p use;
        FOR_EACH_IMM_USE_FAST(use, it, name)
        {
            if (!use_ok(USE_STMT(use), name, work))
                return false;
        }
    }
    return true;
}

static void check_stmt(gimple *stmt)
{
    if (is_gimple_debug(stmt))
        return;
    if (gimple_code(stmt) == GIMPLE_ASM) {
        unit_unprovable = true;
        return;
    }
    std::vector<tree> cands;
    find_ctx c = {NULL_TREE, 0, &cands};
    if (gphi *phi = dyn_cast<gphi *>(stmt)) {
        for (unsigned i = 0; i < gimple_phi_num_args(phi); i++) {
            tree a = gimple_phi_arg_def(phi, i);
            walk_tree_without_duplicates(&a, find_cb, &c);
        }
    } else {
        for (unsigned i = 0; i < gimple_num_ops(stmt); i++)
            if (gimple_op(stmt, i))
                walk_tree_without_duplicates(gimple_op_ptr(stmt, i), find_cb, &c);
    }
    for (tree var : cands)
        if (!unprovable_vars.count(var) && (count_in_stmt(stmt, var) != 1 || !uses_ok(stmt, var)))
            unprovable_vars.insert(var);
}

static unsigned int nowrite_execute(function *fun)
{
    basic_block bb;
    FOR_EACH_BB_FN(bb, fun)
    {
        for (gphi_iterator gi = gsi_start_phis(bb); !gsi_end_p(gi); gsi_next(&gi))
            check_stmt(gi.phi());
        for (gimple_stmt_iterator gi = gsi_start_bb(bb); !gsi_end_p(gi); gsi_next(&gi))
            check_stmt(gsi_stmt(gi));
    }
    return 0;
}

namespace
{
const pass_data nowrite_pass_data = {
    GIMPLE_PASS, "livepatch-nowrite", OPTGROUP_NONE, TV_NONE, PROP_ssa | PROP_cfg, 0, 0, 0, 0,
};

struct nowrite_pass : gimple_opt_pass {
    nowrite_pass(gcc::context *ctx) : gimple_opt_pass(nowrite_pass_data, ctx)
    {
    }
    unsigned int execute(function *fun) final override
    {
        return nowrite_execute(fun);
    }
};
} // namespace

// Other variables' initializers, and aliases.
static void check_varpool(void)
{
    varpool_node *node;
    FOR_EACH_VARIABLE(node)
    {
        if (node->alias || lookup_attribute("alias", DECL_ATTRIBUTES(node->decl)))
            unit_unprovable = true;
        tree init = DECL_INITIAL(node->decl);
        if (!init || init == error_mark_node)
            continue;
        std::vector<tree> cands;
        find_ctx c = {NULL_TREE, 0, &cands};
        walk_tree_without_duplicates(&init, find_cb, &c);
        for (tree var : cands)
            unprovable_vars.insert(var);
    }
}

static void ipa_start(void *, void *)
{
    check_varpool();
}

void lp_nowrite_register(const char *plugin_name)
{
    static struct register_pass_info pass = {new nowrite_pass(g), "ssa", 1, PASS_POS_INSERT_AFTER};
    register_callback(plugin_name, PLUGIN_PASS_MANAGER_SETUP, NULL, &pass);
    register_callback(plugin_name, PLUGIN_ALL_IPA_PASSES_START, ipa_start, NULL);
}

std::vector<tree> lp_nowrite_proven(void)
{
    std::vector<tree> out;
    check_varpool(); // once more: initializers are still there at the end
    if (unit_unprovable || symtab->first_asm_symbol())
        return out;
    varpool_node *node;
    FOR_EACH_VARIABLE(node)
    {
        tree var = node->decl;
        if (lp_nowrite_candidate(var) && TREE_ASM_WRITTEN(var) && !unprovable_vars.count(var))
            out.push_back(var);
    }
    return out;
}
