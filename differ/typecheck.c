/*
 * typecheck.c - refuse changes of data layout and of signatures: the types of
 * OLD and NEW compared, read from DWARF.
 *
 * A running process holds data laid out by the OLD build: globals, statics,
 * TLS, and whatever the heap and stacks hold through pointers.  New code
 * must agree with that layout.  For every variable present in both builds,
 * and for the return type, parameters and locals of every changed function,
 * the OLD and NEW types are compared recursively (through pointers,
 * typedefs, arrays, members): sizes, member names, offsets, bit-fields,
 * array bounds, enum values.  A changed signature is refused when code that
 * is not in the patch still calls (or takes the address of) the function.
 * A changed function that only constructors call is refused like a changed
 * constructor (it already ran).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>

#include "differ.h"
#include "dwinfo.h"
#include "sbuf.h"

/* DIFF_BITS: only bit-fields added in bits no member used, the struct's
 * size and every other member unchanged (REFUSE_BITFIELD_ADDED). */
enum diff_kind { DIFF_NONE, DIFF_LAYOUT, DIFF_ENUM, DIFF_BITS };

struct diffres {
    enum diff_kind kind; /* LAYOUT/ENUM once an owning type is known */
    uint32_t owner;      /* NEW node of the struct/union/enum that differs */
    uint32_t where;      /* NEW (or OLD when removed) node to point at */
    int where_old;
    char msg[1024];
};

struct cmp {
    struct differ *d;
    const struct dwinfo *o, *n;
    VEC(uint64_t) seen; /* (old << 32 | new) pairs under comparison */
};

static int seen(struct cmp *c, uint32_t o, uint32_t n)
{
    uint64_t k = (uint64_t)o << 32 | n;
    for (size_t i = 0; i < c->seen.n; i++)
        if (c->seen.v[i] == k)
            return 1;
    VEC_PUSH(c->seen, k);
    return 0;
}

/* Node i, which must exist: callers test for DWINFO_NONE (no type, no child). */
static const struct dwinfo_node *N(const struct dwinfo *d, uint32_t i)
{
    assert(i != DWINFO_NONE && i < d->nodes.n);
    return &d->nodes.v[i];
}

static int cmp_type(struct cmp *c, uint32_t o, uint32_t n, struct diffres *r);

static int differ_msg(struct diffres *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int differ_msg(struct diffres *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    return 1;
}

static const char *tname(const struct dwinfo *d, uint32_t t, char *buf, size_t len)
{
    return dwinfo_type_name(d, t, buf, len);
}

/* After a difference inside aggregate `agg` (NEW node) at member `m`. */
static int own(struct diffres *r, enum diff_kind k, uint32_t agg, uint32_t where, int where_old)
{
    if (r->kind == DIFF_NONE) {
        r->kind = k;
        r->owner = agg;
        r->where = where;
        r->where_old = where_old;
    }
    return 1;
}

static uint32_t nth_child(const struct dwinfo *d, uint32_t parent, uint16_t tag, size_t k)
{
    assert(parent != DWINFO_NONE);
    for (uint32_t ch = N(d, parent)->child; ch != DWINFO_NONE; ch = N(d, ch)->next)
        if (N(d, ch)->tag == tag && k-- == 0)
            return ch;
    return DWINFO_NONE;
}

static size_t count_children(const struct dwinfo *d, uint32_t parent, uint16_t tag)
{
    assert(parent != DWINFO_NONE);
    size_t k = 0;
    for (uint32_t ch = N(d, parent)->child; ch != DWINFO_NONE; ch = N(d, ch)->next)
        k += N(d, ch)->tag == tag;
    return k;
}

static uint32_t child_named(const struct dwinfo *d, uint32_t parent, uint16_t tag, const char *name)
{
    assert(parent != DWINFO_NONE);
    for (uint32_t ch = N(d, parent)->child; ch != DWINFO_NONE; ch = N(d, ch)->next)
        if (N(d, ch)->tag == tag && !strcmp(N(d, ch)->name, name))
            return ch;
    return DWINFO_NONE;
}

/* The member of `agg` in the other tree matching member `m` of `magg`:
 * by name, or for anonymous members (unions in structs) by their rank. */
static uint32_t member_peer(const struct dwinfo *md, uint32_t magg, uint32_t m,
                            const struct dwinfo *d, uint32_t agg)
{
    assert(magg != DWINFO_NONE && m != DWINFO_NONE && agg != DWINFO_NONE);
    const char *name = N(md, m)->name;
    if (*name)
        return child_named(d, agg, DW_TAG_member, name);
    size_t rank = 0;
    for (uint32_t ch = N(md, magg)->child; ch != m; ch = N(md, ch)->next)
        rank += N(md, ch)->tag == DW_TAG_member && !*N(md, ch)->name;
    for (uint32_t ch = N(d, agg)->child; ch != DWINFO_NONE; ch = N(d, ch)->next)
        if (N(d, ch)->tag == DW_TAG_member && !*N(d, ch)->name && rank-- == 0)
            return ch;
    return DWINFO_NONE;
}

/* Bit position of member m from the start of its struct (-1 if unknown). */
static int64_t bit_pos(const struct dwinfo_node *m)
{
    if (m->bit_offset >= 0)
        return m->bit_offset;
    return m->member_off >= 0 ? 8 * m->member_off : -1;
}

/* Where member m lies, as users read it: "offset 4" or, for a bit-field,
 * "offset 4 bit 1 (1 bit)" (bits counted from the byte's least significant
 * bit, x86-64 order). */
static const char *member_pos(const struct dwinfo_node *m, char *buf, size_t len)
{
    int64_t b = bit_pos(m);
    if (m->bit_size < 0)
        snprintf(buf, len, "offset %" PRId64, m->member_off);
    else if (b < 0)
        snprintf(buf, len, "unknown offset (%" PRId64 " bit%s)", m->bit_size,
                 m->bit_size == 1 ? "" : "s");
    else
        snprintf(buf, len, "offset %" PRId64 " bit %" PRId64 " (%" PRId64 " bit%s)", b / 8, b % 8,
                 m->bit_size, m->bit_size == 1 ? "" : "s");
    return buf;
}

static const char *member_name(const struct dwinfo_node *m)
{
    return *m->name ? m->name : "<anonymous>";
}

static int cmp_members(struct cmp *c, uint32_t o, uint32_t n, struct diffres *r)
{
    assert(o != DWINFO_NONE && n != DWINFO_NONE); /* cmp_type handles absent types */
    const struct dwinfo_node *on = N(c->o, o), *nn = N(c->n, n);
    char tn[256], pa[96], pb[96];
    tname(c->n, n, tn, sizeof(tn));
    /* A struct's added bit-fields are judged after everything else: alone
     * (no member moved, resized, retyped or removed; same size) they sit in
     * bits no member used, and are refused with their own code. */
    uint32_t first_bits = DWINFO_NONE;
    struct sbuf added = {0};
    int bits_ok = nn->tag == DW_TAG_structure_type;
    size_t handled = 0; /* added members the hook file handles (LP_SHADOW_MEMBER) */
    /* Members by name: added, removed, moved, resized, retyped. */
    for (uint32_t nm = nn->child; nm != DWINFO_NONE; nm = N(c->n, nm)->next) {
        const struct dwinfo_node *m = N(c->n, nm);
        if (m->tag != DW_TAG_member)
            continue;
        uint32_t om = member_peer(c->n, n, nm, c->o, o);
        if (om == DWINFO_NONE && *m->name && hooks_handles(&c->d->hooks, tn, nn->name, m->name)) {
            /* The hook file reaches it through a shadow variable: nothing
             * in the patch uses the object's bytes for it. */
            handled++;
            char note[512];
            snprintf(note, sizeof(note),
                     "%s: member '%s' added at %s is handled by shadow variables (%s)", tn, m->name,
                     member_pos(m, pa, sizeof(pa)), c->d->hooks.file);
            hooks_note(&c->d->hooks, &c->d->rep, note);
            continue;
        }
        if (om == DWINFO_NONE) {
            if (bits_ok && m->bit_size > 0 && bit_pos(m) >= 0) {
                sbuf_addf(&added, "%s'%s' at %s", added.len ? ", " : "", member_name(m),
                          member_pos(m, pa, sizeof(pa)));
                if (first_bits == DWINFO_NONE)
                    first_bits = nm;
                continue;
            }
            sbuf_free(&added);
            differ_msg(r, "%s: member '%s' added at %s", tn, member_name(m),
                       member_pos(m, pa, sizeof(pa)));
            return own(r, DIFF_LAYOUT, n, nm, 0);
        }
        const struct dwinfo_node *x = N(c->o, om);
        if (bit_pos(x) != bit_pos(m) || x->bit_size != m->bit_size ||
            (x->bit_size < 0 && x->member_off != m->member_off)) {
            sbuf_free(&added);
            if (x->bit_size >= 0 || m->bit_size >= 0)
                differ_msg(r, "%s: bit-field '%s' moves from %s to %s", tn, member_name(m),
                           member_pos(x, pa, sizeof(pa)), member_pos(m, pb, sizeof(pb)));
            else
                differ_msg(r, "%s: member '%s' moves from offset %" PRId64 " to %" PRId64, tn,
                           member_name(m), x->member_off, m->member_off);
            return own(r, DIFF_LAYOUT, n, nm, 0);
        }
        if (cmp_type(c, x->type, m->type, r)) {
            sbuf_free(&added);
            if (r->kind == DIFF_NONE) {
                char a[256], b[256];
                differ_msg(r, "%s: member '%s' changes type from %s to %s", tn, m->name,
                           tname(c->o, x->type, a, sizeof(a)), tname(c->n, m->type, b, sizeof(b)));
            }
            return own(r, DIFF_LAYOUT, n, nm, 0);
        }
    }
    for (uint32_t om = on->child; om != DWINFO_NONE; om = N(c->o, om)->next) {
        const struct dwinfo_node *m = N(c->o, om);
        if (m->tag == DW_TAG_member && member_peer(c->o, o, om, c->n, n) == DWINFO_NONE) {
            sbuf_free(&added);
            differ_msg(r, "%s: member '%s' removed", tn, m->name);
            return own(r, DIFF_LAYOUT, n, om, 1);
        }
    }
    if (on->byte_size != nn->byte_size && handled && first_bits == DWINFO_NONE &&
        nn->byte_size > on->byte_size) {
        /* It grew for members only shadow variables reach; every other
         * member is where it was (checked above). */
        sbuf_free(&added);
        return 0;
    }
    if (on->byte_size != nn->byte_size) {
        if (first_bits != DWINFO_NONE) { /* the struct grows for its new bit-field */
            const struct dwinfo_node *m = N(c->n, first_bits);
            differ_msg(r, "%s: member '%s' added at %s; size %" PRId64 " -> %" PRId64 " bytes", tn,
                       member_name(m), member_pos(m, pa, sizeof(pa)), on->byte_size, nn->byte_size);
            sbuf_free(&added);
            return own(r, DIFF_LAYOUT, n, first_bits, 0);
        }
        differ_msg(r, "%s: size %" PRId64 " -> %" PRId64 " bytes", tn, on->byte_size,
                   nn->byte_size);
        return own(r, DIFF_LAYOUT, n, n, 0);
    }
    if (first_bits != DWINFO_NONE) {
        assert(added.len > 0); /* one entry per added bit-field */
        differ_msg(r,
                   "%s: bit-field%s %s added in bits no member used (size %" PRId64
                   " bytes and every other member unchanged); in objects that already exist "
                   "these bits hold whatever they held before: 0 if the objects were "
                   "zero-allocated (calloc, static storage, memset)",
                   tn, strchr(added.s, ',') ? "s" : "", added.s, nn->byte_size);
        sbuf_free(&added);
        return own(r, DIFF_BITS, n, first_bits, 0);
    }
    sbuf_free(&added);
    return 0;
}

static int cmp_enum(struct cmp *c, uint32_t o, uint32_t n, struct diffres *r)
{
    assert(o != DWINFO_NONE && n != DWINFO_NONE); /* cmp_type handles absent types */
    char tn[256];
    tname(c->n, n, tn, sizeof(tn));
    for (uint32_t ne = N(c->n, n)->child; ne != DWINFO_NONE; ne = N(c->n, ne)->next) {
        const struct dwinfo_node *e = N(c->n, ne);
        if (e->tag != DW_TAG_enumerator)
            continue;
        uint32_t oe = child_named(c->o, o, DW_TAG_enumerator, e->name);
        if (oe == DWINFO_NONE)
            continue; /* a new enumerator is fine if no old value moved */
        if (N(c->o, oe)->value != e->value) {
            differ_msg(r, "%s: %s = %" PRId64 " -> %" PRId64, tn, e->name, N(c->o, oe)->value,
                       e->value);
            return own(r, DIFF_ENUM, n, ne, 0);
        }
    }
    for (uint32_t oe = N(c->o, o)->child; oe != DWINFO_NONE; oe = N(c->o, oe)->next)
        if (N(c->o, oe)->tag == DW_TAG_enumerator &&
            child_named(c->n, n, DW_TAG_enumerator, N(c->o, oe)->name) == DWINFO_NONE) {
            differ_msg(r, "%s: enumerator %s removed", tn, N(c->o, oe)->name);
            return own(r, DIFF_ENUM, n, oe, 1);
        }
    if (N(c->o, o)->byte_size != N(c->n, n)->byte_size) {
        differ_msg(r, "%s: size %" PRId64 " -> %" PRId64 " bytes", tn, N(c->o, o)->byte_size,
                   N(c->n, n)->byte_size);
        return own(r, DIFF_ENUM, n, n, 0);
    }
    return 0;
}

static int cmp_array(struct cmp *c, uint32_t o, uint32_t n, struct diffres *r)
{
    assert(o != DWINFO_NONE && n != DWINFO_NONE); /* cmp_type handles absent types */
    size_t k = count_children(c->o, o, DW_TAG_subrange_type);
    if (k != count_children(c->n, n, DW_TAG_subrange_type))
        return differ_msg(r, "array dimensions change");
    for (size_t i = 0; i < k; i++) {
        const struct dwinfo_node *a = N(c->o, nth_child(c->o, o, DW_TAG_subrange_type, i));
        const struct dwinfo_node *b = N(c->n, nth_child(c->n, n, DW_TAG_subrange_type, i));
        int64_t na = a->count >= 0 ? a->count : a->upper + 1;
        int64_t nb = b->count >= 0 ? b->count : b->upper + 1;
        if (na != nb)
            return differ_msg(r, "array bound %" PRId64 " -> %" PRId64, na, nb);
    }
    return cmp_type(c, N(c->o, o)->type, N(c->n, n)->type, r);
}

static int cmp_subroutine(struct cmp *c, uint32_t o, uint32_t n, struct diffres *r)
{
    assert(o != DWINFO_NONE && n != DWINFO_NONE); /* cmp_type handles absent types */
    size_t k = count_children(c->o, o, DW_TAG_formal_parameter);
    if (k != count_children(c->n, n, DW_TAG_formal_parameter))
        return differ_msg(r, "function pointer parameter count changes");
    for (size_t i = 0; i < k; i++)
        if (cmp_type(c, N(c->o, nth_child(c->o, o, DW_TAG_formal_parameter, i))->type,
                     N(c->n, nth_child(c->n, n, DW_TAG_formal_parameter, i))->type, r))
            return 1;
    return cmp_type(c, N(c->o, o)->type, N(c->n, n)->type, r);
}

static int cmp_type(struct cmp *c, uint32_t o, uint32_t n, struct diffres *r)
{
    char a[256], b[256];
    if (o == DWINFO_NONE || n == DWINFO_NONE) { /* void, or no type recorded */
        if (o == DWINFO_NONE && n == DWINFO_NONE)
            return 0;
        return differ_msg(r, "type %s -> %s", tname(c->o, o, a, sizeof(a)),
                          tname(c->n, n, b, sizeof(b)));
    }
    const struct dwinfo_node *on = N(c->o, o), *nn = N(c->n, n);
    if (seen(c, o, n))
        return 0; /* already being compared higher up (recursive types) */
    if (on->tag != nn->tag || strcmp(on->name, nn->name))
        return differ_msg(r, "type %s -> %s", tname(c->o, o, a, sizeof(a)),
                          tname(c->n, n, b, sizeof(b)));
    switch (nn->tag) {
    case DW_TAG_base_type:
        if (on->byte_size != nn->byte_size)
            return differ_msg(r, "type %s changes size", nn->name);
        return 0;
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_class_type:
        if (on->declaration || nn->declaration)
            return 0;
        return cmp_members(c, o, n, r);
    case DW_TAG_enumeration_type:
        if (on->declaration || nn->declaration)
            return 0;
        return cmp_enum(c, o, n, r);
    case DW_TAG_array_type:
        return cmp_array(c, o, n, r);
    case DW_TAG_subroutine_type:
        return cmp_subroutine(c, o, n, r);
    default: /* typedef, pointer, const, volatile, restrict, atomic */
        return cmp_type(c, on->type, nn->type, r);
    }
}

/* Compare the types of one entity; report aggregate differences here and
 * return 1 for a difference at the entity's own type (caller decides). */
static int check_entity(struct cmp *c, uint32_t ot, uint32_t nt, char *msg, size_t len)
{
    struct diffres r = {.owner = DWINFO_NONE, .where = DWINFO_NONE};
    c->seen.n = 0;
    if (!cmp_type(c, ot, nt, &r))
        return 0;
    if (r.kind == DIFF_NONE) {
        snprintf(msg, len, "%s", r.msg);
        return 1;
    }
    char tn[256], w[256];
    const struct dwinfo_node *owner = N(c->n, r.owner);
    const char *name = *owner->name ? owner->name : dwinfo_type_name(c->n, r.owner, tn, sizeof(tn));
    dwinfo_where(r.where_old ? c->o : c->n, r.where, w, sizeof(w));
    if (!*w)
        dwinfo_where(c->n, r.owner, w, sizeof(w));
    enum refusal_code code = r.kind == DIFF_ENUM   ? REFUSE_ENUM_VALUE
                             : r.kind == DIFF_BITS ? REFUSE_BITFIELD_ADDED
                                                   : REFUSE_LAYOUT_TYPE;
    report_refuse(&c->d->rep, code, name, w, "type %s", r.msg);
    return 0;
}

/* DWARF node of a unit's variable (top-level or "fn::var"). */
static uint32_t var_node(const struct dwinfo *dw, const struct unit *u, const char *key)
{
    int cu = dwinfo_cu_for(dw, u->file);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", key);
    char *sep = strstr(buf, "::");
    if (!sep)
        return dwinfo_find(dw, cu, DW_TAG_variable, "", buf);
    *sep = 0;
    char *hash = strchr(sep + 2, '#');
    if (hash)
        *hash = 0;
    return dwinfo_find(dw, cu, DW_TAG_variable, buf, sep + 2);
}

static uint32_t fn_node(const struct dwinfo *dw, const struct unit *u, const char *name)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", name);
    char *dot = strchr(buf, '.');
    if (dot && dot != buf)
        *dot = 0;
    return dwinfo_find(dw, dwinfo_cu_for(dw, u->file), DW_TAG_subprogram, "", buf);
}

static void check_variables(struct cmp *c, struct unit *nu)
{
    for (size_t i = 0; i < nu->vars.n; i++) {
        struct var *v = &nu->vars.v[i];
        if (!v->peer)
            continue;
        uint32_t on = var_node(c->o, v->peer->u, v->peer->key), nn = var_node(c->n, nu, v->key);
        if (on == DWINFO_NONE || nn == DWINFO_NONE)
            continue;
        char msg[1024], w[256];
        if (check_entity(c, N(c->o, on)->type, N(c->n, nn)->type, msg, sizeof(msg)) &&
            (v->writable || v->tls) && !v->carried && v->size == v->peer->size)
            report_refuse(&c->d->rep, REFUSE_GLOBAL_TYPE, v->key,
                          dwinfo_where(c->n, nn, w, sizeof(w)), "variable %s: %s", v->key, msg);
    }
}

/* Is data section ds of u used by f's code alone (f's own switch table:
 * the addresses in it are labels inside f, and the patch carries the new
 * f with a table of its own)? */
static int private_to(const struct unit *u, size_t ds, const struct fn *f)
{
    int from_f = 0;
    for (size_t s = 1; s < u->obj->nsecs; s++) {
        const struct elfobj_sec *sec = &u->obj->secs[s];
        if (!(sec->sh.sh_flags & SHF_ALLOC) || !strncmp(sec->name, ".eh_frame", 9) || s == ds)
            continue;
        for (size_t k = 0; k < sec->nrelas; k++)
            if (u->obj->syms[sec->relas[k].sym].shndx == ds) {
                if (s != f->sec)
                    return 0;
                from_f = 1;
            }
    }
    return from_f;
}

/* Is r the target of a call or jump (E8/E9 rel32), not an address load? */
static int is_call(const struct elfobj_sec *sec, const struct elfobj_rela *r)
{
    if (r->type != R_X86_64_PLT32 && r->type != R_X86_64_PC32)
        return 0;
    if (!sec->data || r->off < 1 || r->off > sec->size)
        return 0;
    uint8_t op = sec->data[r->off - 1];
    return op == 0xe8 || op == 0xe9;
}

/* Who refers to f: distinct functions (up to max) and, through *data, the
 * first data section that holds its address (NULL if none); *taken (if not
 * NULL) is set when some function's code takes f's address instead of
 * calling it (lea, a GOT load: anything but a call or jump), e.g. to store
 * it in a std::function: then f may run at any time, not only from there. */
static size_t users_of(struct differ *d, const struct fn *f, const struct fn **users, size_t max,
                       const char **data, int *taken)
{
    size_t n = 0;
    *data = NULL;
    if (taken)
        *taken = 0;
    for (size_t i = 0; i < d->new.units.n; i++) {
        struct unit *u = d->new.units.v[i];
        for (size_t s = 1; s < u->obj->nsecs; s++) {
            const struct elfobj_sec *sec = &u->obj->secs[s];
            /* Unwind tables and entry lists name every function: not users. */
            if (!(sec->sh.sh_flags & SHF_ALLOC) || !strncmp(sec->name, ".eh_frame", 9) ||
                !strcmp(sec->name, "__patchable_function_entries") ||
                !strncmp(sec->name, ".gcc_except_table", 17) ||
                !strncmp(sec->name, ".livepatch", 10))
                continue;
            int priv = -1; /* private_to(u, s, f), once it is needed */
            for (size_t k = 0; k < sec->nrelas; k++) {
                const struct elfobj_rela *r = &sec->relas[k];
                const struct elfobj_sym *y = &u->obj->syms[r->sym];
                int hit = 0;
                if (y->shndx == SHN_UNDEF)
                    hit = !f->is_local && !strcmp(y->name, f->name);
                else if (u == f->u && u->fn_of_sym[r->sym] == f)
                    hit = 1;
                else if (u == f->u && y->type == STT_SECTION && y->shndx == f->sec && s != f->sec)
                    hit = 1;
                if (!hit)
                    continue;
                size_t at = build_unit_sym_at(u, s, r->off);
                const struct fn *user = at != SIZE_MAX ? u->fn_of_sym[at] : NULL;
                if (user && user != f && taken && !is_call(sec, r))
                    *taken = 1;
                if (!user) {
                    if (!build_sec_is_text(sec) && strncmp(sec->name, ".init_array", 11) &&
                        strncmp(sec->name, ".fini_array", 11) && !*data) {
                        if (priv < 0) /* a table of k entries: one look, not k */
                            priv = u == f->u && private_to(u, s, f);
                        if (!priv)
                            *data = sec->name;
                    }
                    continue;
                }
                size_t j = 0;
                while (j < n && users[j] != user)
                    j++;
                if (j == n && n < max)
                    users[n++] = user;
            }
        }
    }
    return n;
}

/* Is f referenced from code or data that stays old? */
static const char *unpatched_user(struct differ *d, const struct fn *f)
{
    const struct fn *users[64];
    const char *data;
    size_t n = users_of(d, f, users, 64, &data, NULL);
    for (size_t i = 0; i < n; i++)
        if (!users[i]->in_patch)
            return users[i]->name;
    return data;
}

/* A changed function that only constructors call ran at start-up: like a
 * changed constructor, its new effect would be lost.  One whose address a
 * constructor stores (a lambda's invoker put in a static std::function) is
 * called later, through that pointer: not refused. */
static void check_init_only(struct differ *d, const struct fn *f)
{
    const struct fn *users[64];
    const char *data;
    int taken;
    size_t n = users_of(d, f, users, 64, &data, &taken);
    if (!n || data || taken || f->is_ctor || !strcmp(f->name, "main"))
        return;
    if (!f->is_local && d->old.mod->eh.e_type == ET_DYN && !d->old.mod->is_pie)
        return; /* a library's global: other modules may call it */
    for (size_t i = 0; i < n; i++)
        if (!users[i]->is_ctor && users[i] != f)
            return;
    char w[256];
    report_refuse(&d->rep, REFUSE_CTOR_CHANGED, f->name,
                  compare_where(&d->new, f->u, f->name, 0, w, sizeof(w)),
                  "function %s: changed, but only constructor %s calls it: it ran at start-up "
                  "and its new effect would be lost",
                  f->name, users[0] == f && n > 1 ? users[1]->name : users[0]->name);
}

static void check_function(struct cmp *c, struct fn *f)
{
    uint32_t on = fn_node(c->o, f->peer->u, f->peer->name), nn = fn_node(c->n, f->u, f->name);
    if (on == DWINFO_NONE || nn == DWINFO_NONE)
        return;
    char msg[1024], sig[1200] = "", w[256];
    if (check_entity(c, N(c->o, on)->type, N(c->n, nn)->type, msg, sizeof(msg)))
        snprintf(sig, sizeof(sig), "return %s", msg);
    size_t k = count_children(c->o, on, DW_TAG_formal_parameter);
    if (!*sig && k != count_children(c->n, nn, DW_TAG_formal_parameter))
        snprintf(sig, sizeof(sig), "%zu -> %zu parameters", k,
                 count_children(c->n, nn, DW_TAG_formal_parameter));
    for (size_t i = 0; !*sig && i < k; i++) {
        const struct dwinfo_node *op = N(c->o, nth_child(c->o, on, DW_TAG_formal_parameter, i));
        const struct dwinfo_node *np = N(c->n, nth_child(c->n, nn, DW_TAG_formal_parameter, i));
        if (check_entity(c, op->type, np->type, msg, sizeof(msg)))
            snprintf(sig, sizeof(sig), "parameter %zu '%s': %s", i + 1, np->name, msg);
    }
    /* Locals: only the layout of shared types matters, not their own type. */
    for (uint32_t nl = N(c->n, nn)->child; nl != DWINFO_NONE; nl = N(c->n, nl)->next) {
        if (N(c->n, nl)->tag != DW_TAG_variable)
            continue;
        uint32_t ol = child_named(c->o, on, DW_TAG_variable, N(c->n, nl)->name);
        if (ol != DWINFO_NONE)
            check_entity(c, N(c->o, ol)->type, N(c->n, nl)->type, msg, sizeof(msg));
    }
    if (!*sig)
        return;
    const char *user = unpatched_user(c->d, f);
    if (user)
        report_refuse(&c->d->rep, REFUSE_SIGNATURE, f->name, dwinfo_where(c->n, nn, w, sizeof(w)),
                      "function %s: signature changes (%s) but %s, which is not patched, still "
                      "calls it or takes its address",
                      f->name, sig, user);
}

void typecheck_run(struct differ *d)
{
    if (!d->old.dw || !d->new.dw)
        return;
    struct cmp c = {.d = d, .o = d->old.dw, .n = d->new.dw};
    for (size_t i = 0; i < d->new.units.n; i++)
        check_variables(&c, d->new.units.v[i]);
    for (size_t i = 0; i < d->patch.n; i++) {
        struct fn *f = d->patch.v[i];
        if (f->peer && !f->is_cold) {
            check_function(&c, f);
            check_init_only(d, f);
        }
    }
    VEC_FREE(c.seen);
}
