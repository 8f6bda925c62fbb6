/*
 * compare.c - decide what changed between OLD and NEW, and refuse what a
 * running process cannot take.
 *
 * Functions are matched per unit by name (GCC's .N numbering of clones and
 * statics ignored when unambiguous).  A function is changed when the
 * plugin's hash differs or its object code differs; the two are cross-
 * checked and a disagreement is refused (HASH_MISMATCH).  Object code is
 * compared with relocations normalised: targets by name plus offset,
 * anonymous data (strings, constant pools, switch tables, initializer
 * templates) by content - bytes and what its own relocations refer to -
 * never by where it lies in its section.  A change
 * of named read-only data changes every function that references it.
 * A function whose only difference is the line numbers its assert()s or
 * other calls pass (__LINE__, shifted by lines added above) is left out;
 * that is decided on instructions decoded with Zydis, the lines checked
 * against each build's DWARF line table.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <Zydis/Zydis.h>
#include <xxhash.h>

#include "differ.h"
#include "dwinfo.h"
#include "lp_entry.h"
#include "sbuf.h"
#include "strmap.h"

/* ---- matching ---------------------------------------------------------- */

#define MATCH_BY_NAME_THEN_KEY(T, list, bykey)                                                     \
    static void match_##list(struct unit *nu, struct unit *ou)                                     \
    {                                                                                              \
        struct strmap by_name = {0};                                                               \
        for (size_t i = 0; i < ou->list.n; i++)                                                    \
            strmap_put(&by_name, ou->list.v[i].name, &ou->list.v[i]);                              \
        for (size_t i = 0; i < nu->list.n; i++) {                                                  \
            T *n = &nu->list.v[i],                                                                 \
              *o = strstr(n->key, "::") ? NULL : strmap_get(&by_name, n->name);                    \
            if (!o && strmap_count(&ou->bykey, n->key) == 1 &&                                     \
                strmap_count(&nu->bykey, n->key) == 1)                                             \
                o = strmap_get(&ou->bykey, n->key);                                                \
            if (o && !o->peer) {                                                                   \
                n->peer = o;                                                                       \
                o->peer = n;                                                                       \
            }                                                                                      \
        }                                                                                          \
        strmap_free(&by_name);                                                                     \
    }

MATCH_BY_NAME_THEN_KEY(struct fn, fns, fn_by_key)
MATCH_BY_NAME_THEN_KEY(struct var, vars, var_by_key)

/* A global function or variable that moved to another file is still the
 * same symbol of the module: callers and state are the old one's. */
static void match_moved_globals(struct differ *d)
{
    struct strmap fns = {0}, vars = {0};
    for (size_t i = 0; i < d->old.units.n; i++) {
        struct unit *u = d->old.units.v[i];
        for (size_t k = 0; k < u->fns.n; k++)
            if (!u->fns.v[k].peer && !u->fns.v[k].is_local)
                strmap_put(&fns, u->fns.v[k].name, &u->fns.v[k]);
        for (size_t k = 0; k < u->vars.n; k++)
            if (!u->vars.v[k].peer && !u->vars.v[k].is_local)
                strmap_put(&vars, u->vars.v[k].name, &u->vars.v[k]);
    }
    for (size_t i = 0; i < d->new.units.n; i++) {
        struct unit *u = d->new.units.v[i];
        for (size_t k = 0; k < u->fns.n; k++) {
            struct fn *n = &u->fns.v[k], *o = n->is_local ? NULL : strmap_get(&fns, n->name);
            if (!n->peer && o && !o->peer) {
                n->peer = o;
                o->peer = n;
            }
        }
        for (size_t k = 0; k < u->vars.n; k++) {
            struct var *n = &u->vars.v[k], *o = n->is_local ? NULL : strmap_get(&vars, n->name);
            if (!n->peer && o && !o->peer) {
                n->peer = o;
                o->peer = n;
            }
        }
    }
    strmap_free(&fns);
    strmap_free(&vars);
}

void compare_match(struct differ *d)
{
    struct strmap old_units = {0};
    for (size_t i = 0; i < d->old.units.n; i++) {
        struct unit *u = d->old.units.v[i];
        if (strmap_count(&old_units, u->key))
            report_refuse(&d->rep, REFUSE_AMBIGUOUS, u->file, "",
                          "unit %s: linked from two object files (%s)", u->file, u->obj_path);
        strmap_put(&old_units, u->key, u);
    }
    for (size_t i = 0; i < d->new.units.n; i++) {
        struct unit *nu = d->new.units.v[i], *ou = strmap_get(&old_units, nu->key);
        if (!ou || ou->peer)
            continue;
        nu->peer = ou;
        ou->peer = nu;
        match_fns(nu, ou);
        match_vars(nu, ou);
    }
    strmap_free(&old_units);
    match_moved_globals(d);
}

/* ---- compiler identity ------------------------------------------------- */

/* DW_AT_producer "GNU C17 12.2.0 -mtune=generic -O2 ..." -> version part and
 * the codegen options (paths, debug, warnings, preprocessor left out). */
static void split_producer(const char *p, struct sbuf *ver, struct sbuf *opts)
{
    const char *o = strstr(p, " -");
    sbuf_addn(ver, p, o ? (size_t)(o - p) : strlen(p));
    while (o && *o) {
        while (*o == ' ')
            o++;
        const char *e = strchr(o, ' ');
        size_t n = e ? (size_t)(e - o) : strlen(o);
        static const char *const skip[] = {"-g",
                                           "-W",
                                           "-I",
                                           "-D",
                                           "-U",
                                           "-o",
                                           "-fplugin",
                                           "-fdebug-prefix-map",
                                           "-ffile-prefix-map",
                                           "-fmacro-prefix-map",
                                           "-iquote",
                                           "-isystem",
                                           NULL};
        int keep = n > 0;
        for (int i = 0; skip[i] && keep; i++)
            if (!strncmp(o, skip[i], strlen(skip[i])))
                keep = 0;
        if (keep) {
            sbuf_addn(opts, o, n);
            sbuf_add(opts, " ");
        }
        o += n;
    }
}

static void unit_compiler(struct side *s, struct unit *u, struct sbuf *ver, struct sbuf *opts)
{
    if (*u->gcc_version) {
        sbuf_add(ver, u->gcc_version);
        sbuf_add(opts, u->options);
        return;
    }
    int cu = dwinfo_cu_for(s->dw, u->file);
    if (cu >= 0 && s->dw->cus.v[cu].producer)
        split_producer(s->dw->cus.v[cu].producer, ver, opts);
}

void compare_check_builds(struct differ *d)
{
    if (d->old.has_plugin != d->new.has_plugin)
        report_refuse(&d->rep, REFUSE_OPTIONS_MISMATCH, d->module, "",
                      "module %s: only the %s build was compiled with the livepatch plugin",
                      d->module, d->old.has_plugin ? "OLD" : "NEW");
    for (size_t i = 0; i < d->new.units.n; i++) {
        struct unit *nu = d->new.units.v[i], *ou = nu->peer;
        if (!ou)
            continue;
        struct sbuf ov = {0}, oo = {0}, nv = {0}, no = {0};
        unit_compiler(&d->old, ou, &ov, &oo);
        unit_compiler(&d->new, nu, &nv, &no);
        if (strcmp(sbuf_str(&ov), sbuf_str(&nv)))
            report_refuse(&d->rep, REFUSE_COMPILER_MISMATCH, nu->file, "",
                          "unit %s: built by '%s' then by '%s'", nu->file, sbuf_str(&ov),
                          sbuf_str(&nv));
        else if (strcmp(sbuf_str(&oo), sbuf_str(&no)))
            report_refuse(&d->rep, REFUSE_OPTIONS_MISMATCH, nu->file, "",
                          "unit %s: codegen options differ: '%s' vs '%s'", nu->file, sbuf_str(&oo),
                          sbuf_str(&no));
        sbuf_free(&ov);
        sbuf_free(&oo);
        sbuf_free(&nv);
        sbuf_free(&no);
    }
}

/* ---- normalised relocation targets ------------------------------------- */

/* Where a section-relative reference points: offset in its section. */
static uint64_t target_offset(const struct elfobj_sym *y, const struct elfobj_rela *r)
{
    int64_t t = (int64_t)y->value + r->addend + (elfobj_is_pcrel(r->type) ? 4 : 0);
    return t < 0 ? 0 : (uint64_t)t;
}

static int is_section_ref(const struct elfobj_sym *y)
{
    return y->type == STT_SECTION || (y->type == STT_NOTYPE && y->bind == STB_LOCAL &&
                                      y->shndx != SHN_UNDEF && y->shndx < SHN_LORESERVE);
}

/* The variable a relocation refers to (through a section symbol or by name,
 * globals across units), NULL if it is not a variable. */
static struct var *reloc_var(const struct unit *u, const struct elfobj_rela *r)
{
    const struct elfobj_sym *y = &u->obj->syms[r->sym];
    if (y->shndx == SHN_UNDEF)
        return strmap_get(&u->side->global_vars, y->name);
    if (is_section_ref(y)) {
        size_t k = build_unit_sym_at(u, y->shndx, target_offset(y, r));
        return k == SIZE_MAX ? NULL : u->var_of_sym[k];
    }
    return u->var_of_sym[r->sym];
}

static uint64_t var_content_hash(const struct var *v);
static void reloc_desc(const struct unit *u, const struct elfobj_rela *r, char *buf, size_t len,
                       int64_t *addend, int depth);

/* How deep anonymous objects referring to anonymous objects are followed
 * (a template -> its strings is 1). */
#define ANON_DEPTH_MAX 4

/* Content of an anonymous object: its bytes and what its relocations refer
 * to (normalised, as for code), never where it lies in its section. */
static uint64_t anon_content_hash(const struct unit *u, size_t sec, const struct anon_obj *a,
                                  int depth)
{
    const struct elfobj_sec *s = &u->obj->secs[sec];
    assert(a->start + a->size <= s->size);
    struct sbuf desc = {0};
    sbuf_addf(&desc, "%" PRIu64 ":", a->size);
    size_t n, k = elfobj_relas_in(s, a->start, a->start + a->size, &n);
    for (size_t i = 0; i < n; i++) {
        const struct elfobj_rela *r = &s->relas[k + i];
        char d[512];
        int64_t add;
        reloc_desc(u, r, d, sizeof(d), &add, depth + 1);
        sbuf_addf(&desc, "%" PRIu64 ",%u,%s,%" PRId64 ";", r->off - a->start, r->type, d, add);
    }
    uint64_t h = XXH3_64bits_withSeed(sbuf_str(&desc), strlen(sbuf_str(&desc)),
                                      s->data ? XXH3_64bits(s->data + a->start, a->size) : 0);
    sbuf_free(&desc);
    return h;
}

/* Canonical description of what relocation r of unit u refers to, with the
 * addend made relative to that target. */
static void reloc_desc(const struct unit *u, const struct elfobj_rela *r, char *buf, size_t len,
                       int64_t *addend, int depth)
{
    const struct elfobj *o = u->obj;
    const struct elfobj_sym *y = &o->syms[r->sym];
    *addend = r->addend;
    /* A global name is one target whether this unit defines it or not:
     * `check` moved into the caller's file is still `check`. */
    if (y->shndx == SHN_UNDEF ||
        (!is_section_ref(y) && (y->bind == STB_GLOBAL || y->bind == STB_WEAK) && y->name[0])) {
        snprintf(buf, len, "U:%s", y->name);
        return;
    }
    if (!is_section_ref(y) || y->shndx >= o->nsecs) {
        const struct fn *f = u->fn_of_sym[r->sym];
        const struct var *v = u->var_of_sym[r->sym];
        if (v && !strncmp(v->name, "CSWTCH", 6))
            snprintf(buf, len, "C:%016" PRIx64, var_content_hash(v));
        else
            snprintf(buf, len, "%s:%s", f ? "F" : v ? "V" : "S", f ? f->key : v ? v->key : y->name);
        return;
    }
    const struct elfobj_sec *s = &o->secs[y->shndx];
    uint64_t t = target_offset(y, r);
    if ((s->sh.sh_flags & SHF_MERGE) && s->data) {
        uint64_t ent = s->sh.sh_entsize ? s->sh.sh_entsize : 1;
        if (t >= s->size)
            t = y->value + (uint64_t)r->addend < s->size ? y->value + (uint64_t)r->addend : 0;
        uint64_t n = ent;
        if (s->sh.sh_flags & SHF_STRINGS)
            for (n = 0; t + n < s->size && s->data[t + n]; n++)
                ;
        if (t + n > s->size)
            n = s->size - t;
        snprintf(buf, len, "M:%016" PRIx64, XXH3_64bits(s->data + t, n));
        *addend = r->addend - (int64_t)(t - y->value);
        return;
    }
    size_t k = build_unit_sym_at(u, y->shndx, t);
    if (k != SIZE_MAX) {
        const struct fn *f = u->fn_of_sym[k];
        const struct var *v = u->var_of_sym[k];
        *addend = r->addend + (int64_t)y->value - (int64_t)o->syms[k].value;
        if (v && !strncmp(v->name, "CSWTCH", 6))
            snprintf(buf, len, "C:%016" PRIx64, var_content_hash(v));
        else
            snprintf(buf, len, "%s:%s", f ? "F" : "V", f ? f->key : v ? v->key : "?");
        return;
    }
    /* Anonymous data (a string, an initializer template, a jump table):
     * by content, the addend relative to the object's start. */
    struct anon_obj a;
    if (depth < ANON_DEPTH_MAX && build_unit_anon_at(u, y->shndx, t, &a)) {
        snprintf(buf, len, "K:%016" PRIx64, anon_content_hash(u, y->shndx, &a, depth));
        *addend = r->addend + (int64_t)y->value - (int64_t)a.start;
        return;
    }
    /* A label in a function (its own section: offsets are the code's). */
    char *key = util_strip_gcc_suffix(s->name);
    snprintf(buf, len, "A:%s", key);
    free(key);
    *addend = r->addend + (int64_t)y->value;
}

/* Same normalised relocations in [a_off, a_off+size)? */
static int relocs_equal(const struct unit *ua, size_t asec, uint64_t aoff, const struct unit *ub,
                        size_t bsec, uint64_t boff, uint64_t size)
{
    const struct elfobj_sec *sa = &ua->obj->secs[asec], *sb = &ub->obj->secs[bsec];
    size_t na, nb;
    size_t ia = elfobj_relas_in(sa, aoff, aoff + size, &na);
    size_t ib = elfobj_relas_in(sb, boff, boff + size, &nb);
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        const struct elfobj_rela *ra = &sa->relas[ia + i], *rb = &sb->relas[ib + i];
        if (ra->off - aoff != rb->off - boff || ra->type != rb->type)
            return 0;
        char da[512], db[512];
        int64_t xa, xb;
        reloc_desc(ua, ra, da, sizeof(da), &xa, 0);
        reloc_desc(ub, rb, db, sizeof(db), &xb, 0);
        if (xa != xb || strcmp(da, db))
            return 0;
    }
    return 1;
}

/* Same bytes and same normalised relocations in [a_off, a_off+size)? */
static int range_equal(const struct unit *ua, size_t asec, uint64_t aoff, const struct unit *ub,
                       size_t bsec, uint64_t boff, uint64_t size)
{
    const struct elfobj_sec *sa = &ua->obj->secs[asec], *sb = &ub->obj->secs[bsec];
    if (aoff + size > sa->size || boff + size > sb->size)
        return 0;
    if (sa->data && sb->data) {
        if (memcmp(sa->data + aoff, sb->data + boff, size))
            return 0;
    } else {
        const struct elfobj_sec *one = sa->data ? sa : sb->data ? sb : NULL;
        uint64_t off = sa->data ? aoff : boff;
        for (uint64_t i = 0; one && i < size; i++)
            if (one->data[off + i])
                return 0;
    }
    return relocs_equal(ua, asec, aoff, ub, bsec, boff, size);
}

static uint64_t var_content_hash(const struct var *v)
{
    const struct elfobj_sec *s = &v->u->obj->secs[v->sec];
    if (!s->data || v->off + v->size > s->size)
        return 0;
    return XXH3_64bits(s->data + v->off, v->size);
}

static int fn_code_equal(const struct fn *a, const struct fn *b)
{
    return a->size == b->size && range_equal(a->u, a->sec, a->off, b->u, b->sec, b->off, a->size);
}

/* ---- line numbers passed as arguments --------------------------------- */

/* Instructions after the line's mov that may set up the rest of the call
 * (file, function and expression arguments, stack alignment; the scheduler
 * may hoist the mov into the prologue).  Whatever the distance, a value in
 * an argument register at a call can only be the callee's: those
 * registers are caller-saved, dead once the call returns. */
#define LINE_SETUP_INSNS 48

/* One decoded instruction: the Zydis decode, its operands (hidden ones
 * included) and where it starts in the function. */
struct insn {
    ZydisDecodedInstruction d;
    ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
    uint64_t off;
};

/* Decode the instruction at offset off of code[0..size); 0 on failure. */
static int decode_at(const ZydisDecoder *dec, const uint8_t *code, uint64_t size, uint64_t off,
                     struct insn *in)
{
    if (off >= size)
        return 0;
    in->off = off;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(dec, code + off, size - off, &in->d, in->op)))
        return 0;
    assert(in->d.length > 0 && off + in->d.length <= size);
    return 1;
}

/* The 64-bit register of the integer argument a `mov $imm32, %r32` loads
 * (edi, esi, edx, ecx, r8d, r9d: the SysV argument registers), or
 * ZYDIS_REGISTER_NONE when it is not such a mov (b8+r or c7 /0, no prefixes
 * that change it). */
static ZydisRegister arg_imm32_mov(const struct insn *in)
{
    const ZydisDecodedInstruction *d = &in->d;
    if (d->mnemonic != ZYDIS_MNEMONIC_MOV || d->operand_count_visible != 2 ||
        d->operand_width != 32 || in->op[0].type != ZYDIS_OPERAND_TYPE_REGISTER ||
        in->op[1].type != ZYDIS_OPERAND_TYPE_IMMEDIATE || d->raw.imm[0].size != 32 ||
        (d->attributes & (ZYDIS_ATTRIB_HAS_LOCK | ZYDIS_ATTRIB_HAS_SEGMENT)))
        return ZYDIS_REGISTER_NONE;
    switch (in->op[0].reg.value) {
    case ZYDIS_REGISTER_EDI:
    case ZYDIS_REGISTER_ESI:
    case ZYDIS_REGISTER_EDX:
    case ZYDIS_REGISTER_ECX:
    case ZYDIS_REGISTER_R8D:
    case ZYDIS_REGISTER_R9D:
        return ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, in->op[0].reg.value);
    default:
        return ZYDIS_REGISTER_NONE;
    }
}

/* Does the instruction write reg (a 64-bit register) or any part of it? */
static int writes_reg(const struct insn *in, ZydisRegister reg)
{
    for (unsigned i = 0; i < in->d.operand_count; i++) {
        const ZydisDecodedOperand *o = &in->op[i];
        if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
            (o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
            ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->reg.value) == reg)
            return 1;
    }
    return 0;
}

/* Is the decoded call at fn_off in section sec a call of an
 * assertion-failure function: a relocation on its target field (rel32 of
 * `call rel32`, disp32 of `call *x(%rip)`) naming __assert_fail or
 * __assert_perror_fail? */
static int assert_call_at(const struct unit *u, size_t sec, uint64_t fn_off, const struct insn *in)
{
    const ZydisDecodedInstruction *d = &in->d;
    uint64_t field;
    if (d->raw.imm[0].size == 32 && d->raw.imm[0].is_relative)
        field = d->raw.imm[0].offset;
    else if (in->op[0].type == ZYDIS_OPERAND_TYPE_MEMORY &&
             in->op[0].mem.base == ZYDIS_REGISTER_RIP && d->raw.disp.size == 32)
        field = d->raw.disp.offset;
    else
        return 0;
    const struct elfobj_sec *s = &u->obj->secs[sec];
    uint64_t at = fn_off + in->off + field;
    size_t n, i = elfobj_relas_in(s, at, at + 1, &n);
    for (size_t k = 0; k < n; k++) {
        const struct elfobj_sym *y = &u->obj->syms[s->relas[i + k].sym];
        if (s->relas[i + k].off == at &&
            (!strcmp(y->name, "__assert_fail") || !strcmp(y->name, "__assert_perror_fail")))
            return 1;
    }
    return 0;
}

/* The call the argument register `reg` that mov sets is passed to: within
 * LINE_SETUP_INSNS instructions, with nothing in between that branches or
 * writes reg.  0 if there is none. */
static int call_after(const ZydisDecoder *dec, const struct fn *f, const uint8_t *code,
                      const struct insn *mov, ZydisRegister reg, struct insn *call)
{
    uint64_t off = mov->off + mov->d.length;
    for (int k = 0; k < LINE_SETUP_INSNS && decode_at(dec, code, f->size, off, call); k++) {
        if (call->d.mnemonic == ZYDIS_MNEMONIC_CALL)
            return 1;
        if (call->d.meta.branch_type != ZYDIS_BRANCH_TYPE_NONE ||
            call->d.meta.category == ZYDIS_CATEGORY_RET || writes_reg(call, reg))
            return 0;
        off += call->d.length;
    }
    return 0;
}

/* Link-time address of function f in its side's module, 0 if unknown. */
static uint64_t fn_module_addr(struct side *s, const struct fn *f)
{
    const struct elfobj_sym *y = f->is_local ? NULL : strmap_get(&s->global_syms, f->name);
    int amb = 0;
    if (!y)
        y = build_local_sym(s, f->u, f->name, f->key, &amb);
    return y && !amb ? y->value : 0;
}

/* How far from a line of the call's code its __LINE__ may be: a call
 * written over several lines has __LINE__ on a later one. */
#define LINE_SLACK 8

/* Where the call's source line can be read in the DWARF, for the mov at
 * module address `at` + mov->off: the line table's lines of the mov, the
 * call, and the instruction the call returns to (when the call comes from
 * the body of a partly inlined function, the first two carry the callee's
 * lines, and the caller's statement resumes after it); and the call lines
 * of the inlined functions whose body holds the call, innermost first. */
enum { ANCHOR_MOV, ANCHOR_CALL, ANCHOR_RETURN, ANCHOR_INLINED, NANCHORS = ANCHOR_INLINED + 4 };

static void call_lines(const struct fn *f, uint64_t at, const struct insn *mov,
                       const struct insn *call, uint32_t line[NANCHORS])
{
    const struct dwinfo *dw = f->u->side->dw;
    memset(line, 0, NANCHORS * sizeof(*line));
    if (!at || !dw)
        return;
    line[ANCHOR_MOV] = dwinfo_line_at(dw, at + mov->off);
    line[ANCHOR_CALL] = dwinfo_line_at(dw, at + call->off);
    line[ANCHOR_RETURN] = dwinfo_line_at(dw, at + call->off + call->d.length);
    /* and, when the call is in the body of inlined functions, the lines
     * they were called from (__LINE__ passed down to them) */
    dwinfo_call_lines_at(dw, at + call->off, line + ANCHOR_INLINED, NANCHORS - ANCHOR_INLINED);
}

/* Are imm_a (OLD) and imm_b (NEW) what __LINE__ in the call's arguments
 * gives in each build: near the line of the same anchor in each (within
 * LINE_SLACK) and at the same distance from it?  Lines added above move
 * __LINE__ and its call together; a constant the author changed moves by
 * the lines added only by coincidence. */
static int are_call_lines(const uint32_t la[NANCHORS], uint32_t imm_a, const uint32_t lb[NANCHORS],
                          uint32_t imm_b)
{
    for (int k = 0; k < NANCHORS; k++) {
        if (!la[k] || !lb[k])
            continue;
        int64_t da = (int64_t)imm_a - la[k], db = (int64_t)imm_b - lb[k];
        if (da == db && da >= -LINE_SLACK && da <= LINE_SLACK)
            return 1;
    }
    return 0;
}

/* Is there a relocation on any byte of [from, to) of f's section? */
static int reloc_in(const struct fn *f, uint64_t from, uint64_t to)
{
    size_t n;
    elfobj_relas_in(&f->u->obj->secs[f->sec], f->off + from, f->off + to, &n);
    return n > 0;
}

/* Kinds of line-only change, for the note. */
enum { LINES_ASSERT = 1, LINES_CALL = 2 };

/* Do a and b differ only in source line numbers passed to calls?  Lines
 * added above a function shift them; replacing the function would change
 * nothing but what a failed assertion or a log line prints, at the cost of
 * waiting for a possibly hot function to be left.  Returns the kinds seen
 * (LINES_*), 0 when anything else differs.
 *
 * Both versions are decoded instruction by instruction from the start.
 * Every instruction must have the same length in both; one that differs
 * must be a `mov $imm32, %reg` into the same argument register in both,
 * whose bytes differ only in the immediate (no relocation on it), followed
 * within a few set-up instructions by a call, and either
 *   - the call is __assert_fail and reg is edx (assert's line argument), or
 *   - in each build, the immediate is near (LINE_SLACK) the line that
 *     build's own DWARF line table gives that call (are_call_lines), at the
 *     same distance in both: __LINE__ in the call's arguments, also through
 *     a logging macro.  A real constant changed by the author keeps its
 *     distance from its call's line only if it changed by exactly the lines
 *     added above, so it is still patched.
 * Anything Zydis cannot decode answers no: the function is patched, the
 * safe side. */
static int only_lines_differ(const struct fn *a, const struct fn *b)
{
    const struct elfobj_sec *sa = &a->u->obj->secs[a->sec], *sb = &b->u->obj->secs[b->sec];
    if (a->size != b->size || !sa->data || !sb->data || a->off + a->size > sa->size ||
        b->off + b->size > sb->size)
        return 0;
    const uint8_t *x = sa->data + a->off, *y = sb->data + b->off;
    ZydisDecoder dec;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
        return 0;
    int kinds = 0;
    uint64_t at_a = 0, at_b = 0; /* module addresses, looked up once needed */
    int looked_up = 0;
    struct insn ia, ib, ca, cb;
    for (uint64_t off = 0; off < a->size; off += ia.d.length) {
        if (!decode_at(&dec, x, a->size, off, &ia) || !decode_at(&dec, y, b->size, off, &ib) ||
            ia.d.length != ib.d.length)
            return 0;
        uint64_t len = ia.d.length;
        if (!memcmp(x + off, y + off, len))
            continue;
        ZydisRegister reg = arg_imm32_mov(&ia);
        if (reg == ZYDIS_REGISTER_NONE || arg_imm32_mov(&ib) != reg ||
            ia.d.raw.imm[0].offset != ib.d.raw.imm[0].offset)
            return 0;
        uint64_t imm = ia.d.raw.imm[0].offset;
        assert(imm + 4 <= len);
        /* the differing bytes must all be the immediate's */
        if (memcmp(x + off, y + off, imm) ||
            memcmp(x + off + imm + 4, y + off + imm + 4, len - imm - 4) ||
            reloc_in(a, off + imm, off + imm + 4) || reloc_in(b, off + imm, off + imm + 4) ||
            !call_after(&dec, a, x, &ia, reg, &ca) || !call_after(&dec, b, y, &ib, reg, &cb) ||
            ca.off != cb.off)
            return 0;
        if (reg == ZYDIS_REGISTER_RDX && assert_call_at(a->u, a->sec, a->off, &ca) &&
            assert_call_at(b->u, b->sec, b->off, &cb)) {
            kinds |= LINES_ASSERT;
            continue;
        }
        if (!looked_up) {
            at_a = fn_module_addr(a->u->side, a);
            at_b = fn_module_addr(b->u->side, b);
            looked_up = 1;
        }
        uint32_t la[NANCHORS], lb[NANCHORS];
        call_lines(a, at_a, &ia, &ca, la);
        call_lines(b, at_b, &ib, &cb, lb);
        if (!are_call_lines(la, (uint32_t)ia.op[1].imm.value.u, lb, (uint32_t)ib.op[1].imm.value.u))
            return 0;
        kinds |= LINES_CALL;
    }
    if (!relocs_equal(a->u, a->sec, a->off, b->u, b->sec, b->off, a->size))
        return 0;
    return kinds;
}

static int var_data_equal(const struct var *a, const struct var *b)
{
    return a->size == b->size && range_equal(a->u, a->sec, a->off, b->u, b->sec, b->off, a->size);
}

/* ---- where things are declared ----------------------------------------- */

const char *compare_where(struct side *s, const struct unit *u, const char *name, int is_var,
                          char *buf, size_t len)
{
    buf[0] = 0;
    int cu = dwinfo_cu_for(s->dw, u->file);
    if (cu < 0)
        return buf;
    char *base = xstrdup(name);
    char *sep = strstr(base, "::");
    uint32_t n;
    if (is_var && sep) {
        *sep = 0;
        char *hash = strchr(sep + 2, '#');
        if (hash)
            *hash = 0;
        n = dwinfo_find(s->dw, cu, DW_TAG_variable, base, sep + 2);
    } else {
        char *dot = strchr(base, '.');
        if (dot && dot != base)
            *dot = 0;
        n = dwinfo_find(s->dw, cu, is_var ? DW_TAG_variable : DW_TAG_subprogram, "", base);
    }
    free(base);
    return dwinfo_where(s->dw, n, buf, len);
}

/* ---- what changed ------------------------------------------------------ */

static void set_changed(struct fn *f, const char *why)
{
    if (!f->changed)
        f->why = why;
    f->changed = 1;
}

static void compare_functions(struct differ *d, struct unit *nu)
{
    for (size_t i = 0; i < nu->fns.n; i++) {
        struct fn *f = &nu->fns.v[i], *o = f->peer;
        if (!o) {
            f->added = 1;
            continue;
        }
        int code_changed = !fn_code_equal(f, o);
        int lines = code_changed && !d->patch_line_changes ? only_lines_differ(f, o) : 0;
        if (lines) {
            report_note(&d->rep,
                        "function %s: only %s line numbers changed: not patched "
                        "(--patch-line-changes to include it)",
                        f->name,
                        lines == LINES_ASSERT ? "assert()"
                        : lines == LINES_CALL ? "__LINE__ argument"
                                              : "assert() and __LINE__ argument");
            continue;
        }
        /* A .cold part carries its parent's hash (one RTL function): the
         * parent's comparison decides for both. */
        if (f->meta && o->meta && !f->is_cold) {
            int hash_changed = memcmp(f->meta->hash, o->meta->hash, 16) != 0;
            if (hash_changed != code_changed) {
                char w[256];
                report_refuse(&d->rep, REFUSE_HASH_MISMATCH, f->name,
                              compare_where(&d->new, nu, f->name, 0, w, sizeof(w)),
                              "function %s: plugin hash says %s but the object code is %s", f->name,
                              hash_changed ? "changed" : "unchanged",
                              code_changed ? "different" : "identical");
            }
            if (hash_changed)
                set_changed(f, "plugin hash differs");
        }
        if (code_changed)
            set_changed(f, "object code differs");
    }
}

static void refuse_var(struct differ *d, struct side *s, const struct var *v,
                       enum refusal_code code, const char *fmt_what, const char *detail)
{
    char w[256];
    report_refuse(&d->rep, code, v->key, compare_where(s, v->u, v->key, 1, w, sizeof(w)),
                  "%s %s: %s", fmt_what, v->key, detail);
}

static const struct elfobj_sym *global_made_local(struct side *s, const char *name)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s@", name);
    return strmap_count(&s->local_syms, buf) == 1 ? strmap_get(&s->local_syms, buf) : NULL;
}

static const struct elfobj_sym *module_sym_of_var(struct differ *d, struct side *s,
                                                  const struct var *v)
{
    (void)d;
    const struct elfobj_sym *y = v->is_local ? NULL : strmap_get(&s->global_syms, v->name);
    int amb;
    if (!y)
        y = build_local_sym(s, v->u, v->name, v->key, &amb);
    return y || v->is_local ? y : global_made_local(s, v->name);
}

/* Did the plugin prove that v's unit never writes v (LPMETA_NOWRITE)? */
static int proven_nowrite(const struct var *v)
{
    const struct lpm_module *m = v->u->meta;
    if (!m || v->tls || !v->is_local)
        return 0;
    for (size_t i = 0; i < m->nnowrites; i++)
        if (m->nowrites[i].unit_id == v->u->unit_id && !strcmp(m->nowrites[i].asm_name, v->name))
            return 1;
    return 0;
}

static void compare_variables(struct differ *d, struct unit *nu)
{
    for (size_t i = 0; i < nu->vars.n; i++) {
        struct var *v = &nu->vars.v[i], *o = v->peer;
        const char *kind = v->tls ? "thread-local variable" : "variable";
        if (!o) {
            v->added = 1;
            if (v->tls)
                refuse_var(d, &d->new, v, REFUSE_TLS_LAYOUT, kind,
                           "new thread-local storage cannot be added to running threads");
            else if (v->writable)
                VEC_PUSH(d->rep.new_vars, xasprintf("%s (%s)", v->key, nu->file));
            continue;
        }
        if (v->tls != o->tls || v->writable != o->writable) {
            refuse_var(d, &d->new, v, REFUSE_GLOBAL_TYPE, kind,
                       "changed between thread-local, read-only and writable storage");
            continue;
        }
        if (!v->writable && !v->tls) {
            if (!var_data_equal(v, o))
                v->changed = 1; /* travels in the patch; users get patched */
            continue;
        }
        /* Never written in either build: the process still holds OLD's
         * initial table, and only the functions that refer to it read it. */
        if (v->writable && proven_nowrite(v) && proven_nowrite(o)) {
            if (v->size != o->size || !var_data_equal(v, o)) {
                v->changed = v->carried = 1;
                VEC_PUSH(d->rep.carried, xasprintf("%s (%s)", v->key, nu->file));
            }
            continue;
        }
        if (v->size != o->size) {
            char det[128];
            snprintf(det, sizeof(det), "size %" PRIu64 " -> %" PRIu64 " bytes", o->size, v->size);
            refuse_var(d, &d->new, v, REFUSE_GLOBAL_SIZE, kind, det);
            continue;
        }
        if (!var_data_equal(v, o))
            refuse_var(d, &d->new, v, REFUSE_DATA_INIT, kind,
                       "initial value changed; the running process keeps its current value");
        if (v->tls) {
            const struct elfobj_sym *os = module_sym_of_var(d, &d->old, o);
            const struct elfobj_sym *ns = module_sym_of_var(d, &d->new, v);
            if (os && ns && os->value != ns->value) {
                char det[160];
                snprintf(det, sizeof(det), "offset in the TLS block moves %" PRIu64 " -> %" PRIu64,
                         os->value, ns->value);
                refuse_var(d, &d->new, v, REFUSE_TLS_LAYOUT, kind, det);
            }
        }
    }
}

static void removed_in(struct differ *d, struct unit *ou)
{
    for (size_t i = 0; i < ou->fns.n; i++)
        if (!ou->fns.v[i].peer && !ou->fns.v[i].is_cold)
            VEC_PUSH(d->rep.removed, xstrdup(ou->fns.v[i].name));
    for (size_t i = 0; i < ou->vars.n; i++) {
        struct var *v = &ou->vars.v[i];
        if (!v->peer && (v->writable || v->tls))
            refuse_var(d, &d->old, v, REFUSE_DATA_REMOVED,
                       v->tls ? "thread-local variable" : "variable",
                       "removed, but the running process still holds and may use it");
    }
}

/* Functions referencing changed read-only data take the new data along. */
static void propagate_rodata(struct unit *nu)
{
    for (size_t i = 0; i < nu->fns.n; i++) {
        struct fn *f = &nu->fns.v[i];
        const struct elfobj_sec *s = &nu->obj->secs[f->sec];
        size_t n, k = elfobj_relas_in(s, f->off, f->off + f->size, &n);
        for (size_t j = 0; j < n; j++) {
            struct var *v = reloc_var(nu, &s->relas[k + j]);
            if (v && v->changed && ((!v->writable && !v->tls) || v->carried))
                set_changed(f, v->carried ? "uses a changed table that is never written"
                                          : "uses changed read-only data");
        }
    }
}

/* A change in an inlined function reaches its callers (plugin links). */
static int propagate_links(struct unit *nu)
{
    int more = 0;
    for (size_t i = 0; i < nu->meta->nlinks; i++) {
        const struct lpm_link *l = &nu->meta->links[i];
        struct fn *from = strmap_get(&nu->fn_by_name, l->from);
        struct fn *to = strmap_get(&nu->fn_by_name, l->to);
        if (from && to && to->changed && !from->changed) {
            set_changed(from, l->type == LPMETA_LINK_INLINE ? "inlines a changed function"
                                                            : "clone of a changed function");
            more = 1;
        }
    }
    return more;
}

void compare_find_changes(struct differ *d)
{
    for (size_t i = 0; i < d->new.units.n; i++) {
        struct unit *nu = d->new.units.v[i];
        compare_functions(d, nu);
        compare_variables(d, nu);
    }
    for (size_t i = 0; i < d->old.units.n; i++)
        removed_in(d, d->old.units.v[i]);
    for (size_t i = 0; i < d->new.units.n; i++) {
        struct unit *nu = d->new.units.v[i];
        propagate_rodata(nu);
        while (propagate_links(nu))
            ;
        for (size_t k = 0; k < nu->fns.n; k++) { /* a cold part changes its parent */
            struct fn *f = &nu->fns.v[k];
            if (f->is_cold && f->parent && (f->changed || f->added) && !f->parent->added)
                set_changed(f->parent, "its cold part changed");
        }
    }
    struct strmap globals_in_patch = {0};
    for (size_t i = 0; i < d->new.units.n; i++) {
        struct unit *nu = d->new.units.v[i];
        for (size_t k = 0; k < nu->fns.n; k++) {
            struct fn *f = &nu->fns.v[k];
            struct fn *top = f->is_cold && f->parent ? f->parent : f;
            if (!(top->changed || top->added))
                continue;
            /* A global defined in several units (C++ inline functions,
             * templates: COMDAT) is one function of the module: once. */
            if (!top->is_local && strmap_get(&globals_in_patch, top->name) &&
                strmap_get(&globals_in_patch, top->name) != top)
                continue;
            if (!top->is_local)
                strmap_put(&globals_in_patch, top->name, top);
            f->in_patch = 1;
            VEC_PUSH(d->patch, f);
            if (!f->is_cold && !f->added && d->verbose)
                fprintf(stderr, "lpdiff: %s: %s\n", f->name, f->why);
        }
    }
    strmap_free(&globals_in_patch);
}

/* ---- entries and constructors ------------------------------------------ */

const struct elfobj_sym *compare_old_symbol(struct differ *d, const struct unit *ou,
                                            const char *name, const char *key, int is_local,
                                            int *ambiguous)
{
    int amb = 0;
    if (ambiguous)
        *ambiguous = 0;
    const struct elfobj_sym *y = NULL;
    if (!is_local) {
        y = strmap_get(&d->old.global_syms, name);
        if (y)
            return y;
        /* A version script or hidden visibility made it local at link time. */
    }
    y = build_local_sym(&d->old, ou, name, key, &amb);
    if (!y && !is_local && !amb) /* ld lists symbols it localised after FILE "" */
        y = global_made_local(&d->old, name);
    if (ambiguous)
        *ambiguous = amb;
    if (amb)
        report_refuse(&d->rep, REFUSE_AMBIGUOUS, name, "",
                      "symbol %s: several local symbols of that name in %s of the OLD module", name,
                      ou->file);
    return y;
}

/* The patchable entry of an old function: plugin record, else the bytes
 * -fpatchable-function-entry left (NOPs before, a 2-byte NOP at entry). */
static int old_entry(struct differ *d, struct fn *f, const struct elfobj_sym *y, const char **why)
{
    f->old_addr = y->value;
    f->old_size = y->size;
    const struct lpm_func *m = build_mfunc_at(&d->old, y->value);
    if (m) {
        if (m->flags & LPMETA_F_EXCLUDED) {
            *why = "excluded from live patching";
            return -1;
        }
        if (!(m->flags & LPMETA_F_PATCHABLE) || m->prepad < LP_ENTRY_PAD_MIN) {
            *why = "no patchable entry";
            return -1;
        }
        f->old_entry_off = m->entry_off;
        f->old_prepad = m->prepad;
        return 0;
    }
    *why = d->old.has_plugin ? "not compiled with the livepatch plugin (assembly?)"
                             : "no patchable entry (build with the livepatch plugin)";
    const uint8_t *p = elfobj_bytes_at(d->old.mod, y->value, LP_ENTRY_OFF_MAX + LP_ENTRY_LEN);
    if (!p)
        return -1;
    unsigned eoff = lp_entry_offset(p);
    /* 66 90, or GCC's own two one-byte nops */
    if (!(lp_entry_is_nop(p + eoff) || (p[eoff] == LP_NOP1 && p[eoff + 1] == LP_NOP1)))
        return -1;
    unsigned pad = 0;
    while (pad < LP_ENTRY_PAD && y->value > pad) {
        const uint8_t *b = elfobj_bytes_at(d->old.mod, y->value - pad - 1, 1);
        if (!b || *b != LP_NOP1)
            break;
        pad++;
    }
    if (pad < LP_ENTRY_PAD_MIN)
        return -1;
    f->old_entry_off = (uint8_t)eoff;
    f->old_prepad = (uint8_t)pad;
    return 0;
}

void compare_check_entries(struct differ *d)
{
    for (size_t i = 0; i < d->patch.n; i++) {
        struct fn *f = d->patch.v[i];
        if (f->added || f->is_cold)
            continue;
        char w[256];
        compare_where(&d->new, f->u, f->name, 0, w, sizeof(w));
        int amb;
        const struct elfobj_sym *y =
            compare_old_symbol(d, f->peer->u, f->peer->name, f->peer->key, f->peer->is_local, &amb);
        if (amb)
            continue;
        if (!y) {
            /* Its old version was dropped at link time (inlined everywhere,
             * --gc-sections): nothing runs it, nothing to redirect. */
            report_note(&d->rep,
                        "function %s is not in the OLD module (dropped at "
                        "link time): added, not replaced",
                        f->name);
            f->added = 1;
            continue;
        }
        const char *why;
        if (old_entry(d, f, y, &why)) {
            report_refuse(&d->rep, REFUSE_NO_ENTRY, f->name, w, "function %s: changed, but %s",
                          f->name, why);
            if (report_accepted(&d->rep, REFUSE_NO_ENTRY, f->name))
                f->dropped = 1; /* accepted: the old code stays */
        }
        for (size_t j = 0; j < i && !f->dropped; j++) {
            const struct fn *g = d->patch.v[j];
            if (g->added || g->is_cold || g->is_alias || g->old_addr != f->old_addr)
                continue;
            if (g->u != f->u || g->sec != f->sec || g->off != f->off) {
                /* One OLD body, two NEW ones: one redirect cannot reach both. */
                report_refuse(&d->rep, REFUSE_AMBIGUOUS, f->name, w,
                              "function %s: the OLD module has one code body for it and %s "
                              "(aliases), the NEW build two different ones",
                              f->name, g->name);
                break;
            }
            f->is_alias = 1;
            report_note(&d->rep, "%s is an alias of %s (one code body): replaced with it", f->name,
                        g->name);
        }
        if (f->is_ctor)
            report_refuse(&d->rep, REFUSE_CTOR_CHANGED, f->name, w,
                          "function %s: constructor/destructor changed; it already ran and "
                          "its new effect would be lost",
                          f->name);
    }
    size_t k = 0;
    for (size_t i = 0; i < d->patch.n; i++) {
        struct fn *f = d->patch.v[i];
        struct fn *top = f->is_cold && f->parent ? f->parent : f;
        if (top->dropped)
            f->in_patch = 0;
        else
            d->patch.v[k++] = f;
    }
    d->patch.n = k;
    for (size_t i = 0; i < d->patch.n; i++) { /* what the patch replaces and adds */
        struct fn *f = d->patch.v[i];
        if (f->is_cold)
            continue;
        VEC_PUSH(*(f->added ? &d->rep.added : &d->rep.changed), xstrdup(f->name));
        *(f->added ? &d->nadded : &d->nchanged) += 1;
    }
}

/* ---- C++ classes: vtables and typeinfo ------------------------------------ */

/* The symbols v's initializer points at, in order ("" for an anonymous
 * target): a vtable's slots, a typeinfo's name and bases. */
static size_t var_targets(const struct var *v, const char **out, size_t max)
{
    const struct elfobj_sec *sec = &v->u->obj->secs[v->sec];
    size_t n = 0;
    for (size_t k = 0; k < sec->nrelas && n < max; k++) {
        const struct elfobj_rela *r = &sec->relas[k];
        if (r->off < v->off || r->off >= v->off + v->size)
            continue;
        const struct elfobj_sym *y = &v->u->obj->syms[r->sym];
        out[n++] = y->type == STT_SECTION ? "" : y->name;
    }
    return n;
}

static int in_list(const char *s, const char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

/* "Named, Tagged": the classes of the typeinfo targets among t. */
static void bases_text(struct sbuf *b, const char **t, size_t n)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(t[i], "_ZTI", 4))
            continue;
        char *c = util_demangle(t[i]);
        const char *p = !strncmp(c, "typeinfo for ", 13) ? c + 13 : c;
        sbuf_addf(b, "%s%s", any++ ? ", " : "", p);
        free(c);
    }
    if (!any)
        sbuf_add(b, "none");
}

static void check_class_var(struct differ *d, const struct var *v)
{
    const struct var *o = v->peer;
    const char *nt[256], *ot[256];
    size_t nn = var_targets(v, nt, 256), on = var_targets(o, ot, 256);
    char *what = util_demangle(v->name); /* "vtable for Shape" */
    const char *sp = strstr(what, " for ");
    const char *cls = sp ? sp + 5 : what;
    char w[256];
    compare_where(&d->new, v->u, v->name, 1, w, sizeof(w));
    struct sbuf b = {0};
    if (!strncmp(v->name, "_ZTV", 4)) {
        int same = nn == on && v->size == o->size;
        for (size_t i = 0; same && i < nn; i++)
            same = !strcmp(nt[i], ot[i]) || !*nt[i] || !*ot[i];
        if (!same) {
            for (size_t i = 0; i < nn; i++)
                if (*nt[i] && strncmp(nt[i], "_ZTI", 4) && !in_list(nt[i], ot, on))
                    sbuf_addf(&b, "%svirtual function %s added", b.len ? ", " : "", nt[i]);
            for (size_t i = 0; i < on; i++)
                if (*ot[i] && strncmp(ot[i], "_ZTI", 4) && !in_list(ot[i], nt, nn))
                    sbuf_addf(&b, "%svirtual function %s removed", b.len ? ", " : "", ot[i]);
            if (!b.len)
                sbuf_add(&b, "virtual functions reordered");
            report_refuse(&d->rep, REFUSE_VTABLE_CHANGED, v->name, w,
                          "class %s: %s (vtable %" PRIu64 " -> %" PRIu64
                          " slots): every existing object keeps pointing at the OLD vtable",
                          cls, sbuf_str(&b), o->size / 8, v->size / 8);
        }
    } else if (!strncmp(v->name, "_ZTI", 4)) {
        int same = 1;
        for (size_t i = 0; i < nn; i++)
            if (!strncmp(nt[i], "_ZTI", 4) && !in_list(nt[i], ot, on))
                same = 0;
        for (size_t i = 0; i < on; i++)
            if (!strncmp(ot[i], "_ZTI", 4) && !in_list(ot[i], nt, nn))
                same = 0;
        if (!same) {
            struct sbuf nb = {0};
            bases_text(&b, ot, on);
            bases_text(&nb, nt, nn);
            report_refuse(&d->rep, REFUSE_BASE_CHANGED, v->name, w,
                          "class %s: base classes change (%s -> %s): the layout and RTTI of "
                          "every existing object change",
                          cls, sbuf_str(&b), sbuf_str(&nb));
            sbuf_free(&nb);
        }
    }
    sbuf_free(&b);
    free(what);
}

void compare_check_classes(struct differ *d)
{
    for (size_t i = 0; i < d->new.units.n; i++) {
        struct unit *u = d->new.units.v[i];
        for (size_t k = 0; k < u->vars.n; k++) {
            const struct var *v = &u->vars.v[k];
            if (v->peer && (!strncmp(v->name, "_ZTV", 4) || !strncmp(v->name, "_ZTI", 4)))
                check_class_var(d, v);
        }
    }
}
