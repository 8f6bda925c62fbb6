// hash.cc - XXH128 of a function's final RTL, normalised so that the same
// machine code gives the same hash whatever the line numbers, label and
// constant numbering, -g or build directory, and any change that can alter
// behaviour changes it.
//
// What is hashed: every real insn's pattern (no notes, no debug insns, no
// source locations); labels as their ordinal position in the function;
// symbols by name, except compiler-numbered ones: constant-pool entries,
// string literals and switch tables (CSWTCH) by content, function-scope
// statics by their stable "function::var" name.
#include "lp-plugin.h"

#include "real.h"
#include "stringpool.h"
#include "varasm.h"

#include <map>
#include <unordered_map>
#include <xxhash.h>

namespace
{

struct hasher {
    XXH3_state_t *state;
    std::unordered_map<int, unsigned> label_ordinal; // CODE_LABEL_NUMBER -> position
    int depth;
};

void put(hasher &h, const void *p, size_t n)
{
    XXH3_128bits_update(h.state, p, n);
}

void put_u64(hasher &h, uint64_t v)
{
    put(h, &v, sizeof(v));
}

void put_str(hasher &h, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_u64(h, n);
    put(h, s, n);
}

// Compiler-generated names end in ".N" / "N" that shift with unrelated code.
bool is_numbered_local(const char *name)
{
    return name[0] == '.' || !strncmp(name, "*.", 2) || !strncmp(name, "CSWTCH.", 7) ||
           !strncmp(name, "C.", 2);
}

void hash_tree_const(hasher &h, tree t);

void hash_decl_ref(hasher &h, tree decl)
{
    std::string stable = lp_static_stable_name(decl);
    if (!stable.empty()) {
        put_str(h, "static");
        put_str(h, stable.c_str());
        return;
    }
    const char *name = lp_asm_name(decl);
    // Artificial read-only tables (CSWTCH.N, C.N): by content, not number.
    if (VAR_P(decl) && DECL_ARTIFICIAL(decl) && TREE_READONLY(decl) && !TREE_PUBLIC(decl) &&
        DECL_INITIAL(decl) && is_numbered_local(name) && h.depth < 8) {
        put_str(h, "table");
        h.depth++;
        hash_tree_const(h, DECL_INITIAL(decl));
        h.depth--;
        return;
    }
    put_str(h, "sym");
    put_str(h, name);
}

// Constants a symbol may stand for: strings, initialisers, addresses.
void hash_tree_const(hasher &h, tree t)
{
    if (!t) {
        put_str(h, "null");
        return;
    }
    enum tree_code code = TREE_CODE(t);
    put_u64(h, code);
    if (TREE_TYPE(t) && TYPE_SIZE_UNIT(TREE_TYPE(t)) &&
        tree_fits_uhwi_p(TYPE_SIZE_UNIT(TREE_TYPE(t))))
        put_u64(h, tree_to_uhwi(TYPE_SIZE_UNIT(TREE_TYPE(t))));
    switch (code) {
    case STRING_CST:
        put_u64(h, TREE_STRING_LENGTH(t));
        put(h, TREE_STRING_POINTER(t), TREE_STRING_LENGTH(t));
        return;
    case INTEGER_CST: {
        wide_int w = wi::to_wide(t);
        for (unsigned i = 0; i < w.get_len(); i++)
            put_u64(h, (uint64_t)w.elt(i));
        return;
    }
    case REAL_CST: {
        long buf[4] = {0, 0, 0, 0};
        real_to_target(buf, TREE_REAL_CST_PTR(t), TYPE_MODE(TREE_TYPE(t)));
        put(h, buf, sizeof(buf));
        return;
    }
    case COMPLEX_CST:
        hash_tree_const(h, TREE_REALPART(t));
        hash_tree_const(h, TREE_IMAGPART(t));
        return;
    case VECTOR_CST:
        put_u64(h, VECTOR_CST_NELTS(t).to_constant());
        for (unsigned i = 0; i < VECTOR_CST_NELTS(t).to_constant(); i++)
            hash_tree_const(h, VECTOR_CST_ELT(t, i));
        return;
    case CONSTRUCTOR: {
        unsigned i;
        tree idx, val;
        put_u64(h, CONSTRUCTOR_NELTS(t));
        FOR_EACH_CONSTRUCTOR_ELT(CONSTRUCTOR_ELTS(t), i, idx, val)
        {
            if (idx && TREE_CODE(idx) == FIELD_DECL)
                put_u64(h, int_bit_position(idx));
            else
                hash_tree_const(h, idx);
            hash_tree_const(h, val);
        }
        return;
    }
    case VAR_DECL:
    case FUNCTION_DECL:
        hash_decl_ref(h, t);
        return;
    case LABEL_DECL:
        put_str(h, "label");
        return;
    default:
        if (EXPR_P(t)) {
            for (int i = 0; i < TREE_OPERAND_LENGTH(t); i++)
                hash_tree_const(h, TREE_OPERAND(t, i));
        }
        return;
    }
}

void hash_rtx(hasher &h, const_rtx x);

void hash_symbol_ref(hasher &h, const_rtx x)
{
    if (CONSTANT_POOL_ADDRESS_P(x)) {
        // .LCn of the RTL constant pool (floats, vectors): by content.
        put_str(h, "pool");
        put_u64(h, get_pool_mode(x));
        hash_rtx(h, get_pool_constant(x));
        return;
    }
    tree decl = SYMBOL_REF_DECL(x);
    if (TREE_CONSTANT_POOL_ADDRESS_P(x) && decl) {
        // .LCn of the tree constant pool: string literals and friends.
        put_str(h, "const");
        hash_tree_const(h, decl);
        return;
    }
    if (decl && DECL_P(decl)) {
        hash_decl_ref(h, decl);
        return;
    }
    put_str(h, "name");
    put_str(h, XSTR(x, 0));
}

void hash_label(hasher &h, const_rtx label)
{
    if (!label || !LABEL_P(label)) {
        put_str(h, "nolabel");
        return;
    }
    auto it = h.label_ordinal.find(CODE_LABEL_NUMBER(label));
    put_u64(h, it == h.label_ordinal.end() ? ~0ull : it->second);
}

void hash_rtx(hasher &h, const_rtx x)
{
    if (!x) {
        put_u64(h, 0xffff);
        return;
    }
    enum rtx_code code = GET_CODE(x);
    put_u64(h, ((uint64_t)code << 16) | (uint64_t)GET_MODE(x));
    switch (code) {
    case SYMBOL_REF:
        hash_symbol_ref(h, x);
        return;
    case LABEL_REF:
        hash_label(h, label_ref_label(x));
        return;
    case CODE_LABEL:
        hash_label(h, x);
        return;
    case CONST_DOUBLE:
        if (SCALAR_FLOAT_MODE_P(GET_MODE(x))) {
            long buf[4] = {0, 0, 0, 0};
            real_to_target(buf, CONST_DOUBLE_REAL_VALUE(x), GET_MODE(x));
            put(h, buf, sizeof(buf));
        } else {
            put_u64(h, CONST_DOUBLE_LOW(x));
            put_u64(h, CONST_DOUBLE_HIGH(x));
        }
        return;
    case CONST_WIDE_INT:
        for (int i = 0; i < CONST_WIDE_INT_NUNITS(x); i++)
            put_u64(h, CONST_WIDE_INT_ELT(x, i));
        return;
    case SUBREG:
        hash_rtx(h, SUBREG_REG(x));
        put_u64(h, SUBREG_BYTE(x).to_constant());
        return;
    case ASM_INPUT:
        put_u64(h, MEM_VOLATILE_P(x));
        put_str(h, XSTR(x, 0)); // operand 1 is the source location
        return;
    case ASM_OPERANDS:
        put_u64(h, MEM_VOLATILE_P(x));
        put_str(h, ASM_OPERANDS_TEMPLATE(x));
        put_str(h, ASM_OPERANDS_OUTPUT_CONSTRAINT(x));
        put_u64(h, ASM_OPERANDS_OUTPUT_IDX(x));
        for (int i = 0; i < ASM_OPERANDS_INPUT_LENGTH(x); i++) {
            hash_rtx(h, ASM_OPERANDS_INPUT(x, i));
            put_str(h, ASM_OPERANDS_INPUT_CONSTRAINT(x, i));
        }
        put_u64(h, ASM_OPERANDS_LABEL_LENGTH(x));
        for (int i = 0; i < ASM_OPERANDS_LABEL_LENGTH(x); i++)
            hash_rtx(h, ASM_OPERANDS_LABEL(x, i));
        return; // the last operand is the source location
    case MEM:
        put_u64(h, MEM_VOLATILE_P(x));
        hash_rtx(h, XEXP(x, 0));
        return;
    default:
        break;
    }
    const char *fmt = GET_RTX_FORMAT(code);
    for (int i = 0; fmt[i]; i++) {
        switch (fmt[i]) {
        case 'e':
            hash_rtx(h, XEXP(x, i));
            break;
        case 'E':
        case 'V':
            put_u64(h, XVEC(x, i) ? XVECLEN(x, i) : 0);
            for (int j = 0; XVEC(x, i) && j < XVECLEN(x, i); j++)
                hash_rtx(h, XVECEXP(x, i, j));
            break;
        case 'i':
            put_u64(h, XINT(x, i));
            break;
        case 'w':
            put_u64(h, XWINT(x, i));
            break;
        case 's':
        case 'S':
            put_str(h, XSTR(x, i));
            break;
        case 'r':
            put_u64(h, REGNO(x));
            break;
        case 'u':
            if (XEXP(x, i) && LABEL_P(XEXP(x, i)))
                hash_label(h, XEXP(x, i));
            break;
        default: // '0', 'n', 't', 'B', 'p': bookkeeping, not code
            break;
        }
    }
}

} // namespace

void lp_hash_function(uint8_t out[16], bool patchable, unsigned entry_off)
{
    hasher h;
    h.state = XXH3_createState();
    h.depth = 0;
    XXH3_128bits_reset(h.state);

    // Labels by position: number them in insn order first, so that a
    // forward reference hashes the same as the definition.
    unsigned next = 0;
    for (rtx_insn *insn = get_insns(); insn; insn = NEXT_INSN(insn))
        if (LABEL_P(insn))
            h.label_ordinal[CODE_LABEL_NUMBER(insn)] = next++;

    put_u64(h, patchable);
    put_u64(h, entry_off);
    // Attributes that change how the code is placed.
    if (DECL_SECTION_NAME(current_function_decl))
        put_str(h, DECL_SECTION_NAME(current_function_decl));
    put_u64(h, DECL_ALIGN(current_function_decl));

    for (rtx_insn *insn = get_insns(); insn; insn = NEXT_INSN(insn)) {
        if (NOTE_P(insn)) {
            // Hot/cold split point: where the code leaves the main section.
            if (NOTE_KIND(insn) == NOTE_INSN_SWITCH_TEXT_SECTIONS)
                put_str(h, "switch-section");
            continue;
        }
        if (DEBUG_INSN_P(insn) || BARRIER_P(insn))
            continue;
        put_u64(h, GET_CODE(insn));
        if (LABEL_P(insn)) {
            hash_label(h, insn);
            continue;
        }
        if (CALL_P(insn))
            put_u64(h, SIBLING_CALL_P(insn));
        hash_rtx(h, PATTERN(insn));
    }

    XXH128_hash_t digest = XXH3_128bits_digest(h.state);
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, digest);
    memcpy(out, canon.digest, 16);
    XXH3_freeState(h.state);
}
