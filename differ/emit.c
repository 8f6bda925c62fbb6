/*
 * emit.c - write the patch through runtime's writer (lp_writer_*), and
 * `lpdiff --dump`.
 *
 * Each function of the patch brings its whole NEW section (the 16-byte pad
 * included, so a later patch can redirect an added function too).  Every
 * relocation of a copied section becomes an lp_reloc against an lp_sym:
 *   - a function of the OLD module, even one this patch replaces: the
 *     applier redirects the old entry, so calls land in the newest code
 *     (stacked patches stay consistent);
 *   - a variable of the OLD module (global, file static or function-scope
 *     static): the running copy, so state is kept;
 *   - read-only data, code new in this patch, new variables: copied into
 *     the patch (LP_SYM_PATCH);
 *   - an anonymous constant in writable data (a PIC initializer template
 *     the plugin recorded, LPMETA_ANON): that object alone, copied into the
 *     patch's read-only data; anonymous writable data nobody recorded is
 *     refused (it may be state);
 *   - TLS: offset in the OLD module's TLS block;
 *   - anything the module does not define: by name (LP_SYM_DYNAMIC).
 * Relocation types are kept as the compiler emitted them.
 */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <xxhash.h>

#include "differ.h"
#include "dwinfo.h"
#include "liblivepatch.h"
#include "livepatch-hooks.h"
#include "sbuf.h"
#include "strmap.h"

struct copy {
    struct unit *u;
    size_t sec;
    enum lp_section lps;
    uint64_t base;        /* where offset 0 of the section would be in the patch section */
    uint64_t start, size; /* the part of the section copied: all of it, or one object */
};

struct emitter {
    struct differ *d;
    struct lp_writer *w;
    struct strmap copies; /* "unit:sec" -> struct copy */
    VEC(struct copy *) work;
    struct strmap syms; /* dedup key -> index + 1 */
    VEC(char *) owned;
    int failed;
};

static const char *own(struct emitter *e, char *s)
{
    VEC_PUSH(e->owned, s);
    return s;
}

static struct copy *copy_section(struct emitter *e, struct unit *u, size_t sec)
{
    char key[64];
    snprintf(key, sizeof(key), "%p:%zu", (void *)u, sec);
    struct copy *c = strmap_get(&e->copies, key);
    if (c)
        return c;
    const struct elfobj_sec *s = &u->obj->secs[sec];
    c = xcalloc(1, sizeof(*c));
    c->u = u;
    c->sec = sec;
    c->size = s->size;
    uint64_t align = s->sh.sh_addralign ? s->sh.sh_addralign : 1;
    if (build_sec_is_text(s)) {
        c->lps = LP_SEC_TEXT;
        if (align < 16)
            align = 16;
    } else if (build_sec_is_rodata(s)) {
        c->lps = LP_SEC_RODATA;
    } else {
        c->lps = s->sh.sh_type == SHT_NOBITS ? LP_SEC_BSS : LP_SEC_DATA;
    }
    if (align > 4096)
        align = 4096;
    c->base = lp_writer_append(e->w, c->lps, c->lps == LP_SEC_BSS ? NULL : s->data, s->size, align);
    strmap_put(&e->copies, own(e, xstrdup(key)), c);
    VEC_PUSH(e->work, c);
    return c;
}

/* One anonymous constant [start, start+size) of a writable section, copied
 * alone into the patch's read-only data (nothing writes it). */
static struct copy *copy_anon(struct emitter *e, struct unit *u, size_t sec,
                              const struct anon_obj *a)
{
    char key[96];
    snprintf(key, sizeof(key), "%p:%zu:%" PRIx64, (void *)u, sec, a->start);
    struct copy *c = strmap_get(&e->copies, key);
    if (c)
        return c;
    const struct elfobj_sec *s = &u->obj->secs[sec];
    assert(s->data && a->start + a->size <= s->size);
    c = xcalloc(1, sizeof(*c));
    c->u = u;
    c->sec = sec;
    c->lps = LP_SEC_RODATA;
    c->start = a->start;
    c->size = a->size;
    uint64_t align = s->sh.sh_addralign ? s->sh.sh_addralign : 1;
    if (align > 4096)
        align = 4096;
    c->base = lp_writer_append(e->w, c->lps, s->data + a->start, a->size, align) - a->start;
    strmap_put(&e->copies, own(e, xstrdup(key)), c);
    VEC_PUSH(e->work, c);
    return c;
}

static void patch_sym(struct lp_sym *s, const struct copy *c, uint64_t off, uint64_t size)
{
    s->kind = LP_SYM_PATCH;
    s->section = c->lps;
    s->value = c->base + off;
    s->size = (uint32_t)size;
}

static void unresolved(struct emitter *e, const struct unit *u, const char *name, const char *what)
{
    report_refuse(&e->d->rep, REFUSE_UNRESOLVED, name, "", "symbol %s (referenced from %s): %s",
                  name, u->file, what);
    e->failed = 1;
}

static int sym_for_fn(struct emitter *e, struct fn *f, struct lp_sym *s)
{
    s->unit_id = f->is_local ? f->u->unit_id : 0;
    if (f->added || f->is_cold || !f->peer) {
        patch_sym(s, copy_section(e, f->u, f->sec), f->off, f->size);
        s->name = lp_writer_str(e->w, f->name);
        return 0;
    }
    const struct fn *o = f->peer;
    int amb;
    const struct elfobj_sym *y = compare_old_symbol(e->d, o->u, o->name, o->key, o->is_local, &amb);
    if (!y && !amb && !f->in_patch) {
        /* Unchanged, but never linked into OLD (--gc-sections dropped it
         * as unused): the new code needs it, so the patch carries it. */
        report_note(&e->d->rep,
                    "function %s is not in the OLD module (dropped at "
                    "link time): carried in the patch",
                    f->name);
        f->added = 1;
        return sym_for_fn(e, f, s);
    }
    if (!y) {
        if (!amb)
            unresolved(e, f->u, f->name, "function not found in the OLD module");
        e->failed = 1;
        return -1;
    }
    s->kind = LP_SYM_MODULE;
    s->name = lp_writer_str(e->w, y->name);
    s->value = y->value;
    s->size = (uint32_t)y->size;
    return 0;
}

static int sym_for_var(struct emitter *e, struct var *v, struct lp_sym *s)
{
    s->unit_id = v->is_local ? v->u->unit_id : 0;
    const struct var *o = v->peer;
    const struct elfobj_sym *y = NULL;
    int amb = 0;
    if (o && ((v->writable && !v->carried) || v->tls || (!v->is_local && !v->changed)))
        y = compare_old_symbol(e->d, o->u, o->name, o->key, o->is_local, &amb);
    if (amb) {
        e->failed = 1;
        return -1;
    }
    if (v->tls) {
        if (!y) {
            unresolved(e, v->u, v->name, "thread-local variable not in the OLD module");
            return -1;
        }
        s->kind = LP_SYM_TLS;
        s->name = lp_writer_str(e->w, y->name);
        s->value = y->value;
        s->size = (uint32_t)y->size;
        return 0;
    }
    if (y) {
        s->kind = LP_SYM_MODULE;
        /* A function-scope static goes by the plugin's stable name: a
         * stacked patch is resolved by name in an older build, where GCC's
         * "var.N" may number another variable. */
        s->name = lp_writer_str(e->w, o->stable && v->is_local ? o->key : y->name);
        s->value = y->value;
        s->size = (uint32_t)y->size;
        return 0;
    }
    if (o && v->writable && !v->carried) {
        /* Never linked into OLD (dropped as unused): no state to keep. */
        report_note(&e->d->rep,
                    "variable %s is not in the OLD module (dropped at "
                    "link time): the patch carries a new one",
                    v->key);
    }
    /* New variable, read-only data or a never-written table: the patch
     * carries it. */
    patch_sym(s, copy_section(e, v->u, v->sec), v->off, v->size);
    s->name = lp_writer_str(e->w, v->name);
    return 0;
}

static int sym_for_undef(struct emitter *e, struct unit *u, const char *name, struct lp_sym *s)
{
    /* The hook side first: NEW may have linked its own copy of the runtime
     * (-llivepatch-hooks) or not (weak references): the patch uses its own. */
    struct fn *f = strmap_get(&e->d->hooks.side.global_fns, name);
    if (f)
        return sym_for_fn(e, f, s);
    struct var *hv = strmap_get(&e->d->hooks.side.global_vars, name);
    if (hv)
        return sym_for_var(e, hv, s);
    f = strmap_get(&e->d->new.global_fns, name);
    if (f)
        return sym_for_fn(e, f, s);
    struct var *v = strmap_get(&e->d->new.global_vars, name);
    if (v)
        return sym_for_var(e, v, s);
    const struct elfobj_sym *y = strmap_get(&e->d->old.global_syms, name);
    s->name = lp_writer_str(e->w, name);
    if (y && y->shndx != SHN_ABS) {
        s->kind = y->type == STT_TLS ? LP_SYM_TLS : LP_SYM_MODULE;
        s->value = y->value;
        s->size = (uint32_t)y->size;
        return 0;
    }
    if (strmap_get(&e->d->old.dyn_undef, name) || strmap_get(&e->d->new.dyn_undef, name) ||
        !strcmp(name, "_GLOBAL_OFFSET_TABLE_")) {
        s->kind = LP_SYM_DYNAMIC;
        return 0;
    }
    if (u->side == &e->d->hooks.side) {
        /* The hook file may call what the process has loaded (libc) even
         * if the module never imported it: lpatch resolves it by name. */
        s->kind = LP_SYM_DYNAMIC;
        return 0;
    }
    if (report_accepted(&e->d->rep, REFUSE_UNRESOLVED, name)) {
        unresolved(e, u, name, "defined in neither build's module nor imported; resolved by name");
        e->failed = 0;
        s->kind = LP_SYM_DYNAMIC;
        return 0;
    }
    unresolved(e, u, name, "defined in neither the OLD module nor imported by either module");
    return -1;
}

/* Resolve relocation r of copy c into a symbol and the addend to use. */
static int resolve(struct emitter *e, struct copy *c, const struct elfobj_rela *r, struct lp_sym *s,
                   int64_t *addend)
{
    struct unit *u = c->u;
    const struct elfobj_sym *y = &u->obj->syms[r->sym];
    *addend = r->addend;
    memset(s, 0, sizeof(*s));
    if (y->shndx == SHN_UNDEF || y->shndx == SHN_COMMON) /* -fcommon: the module's copy */
        return sym_for_undef(e, u, y->name, s);
    if (y->shndx >= u->obj->nsecs) {
        unresolved(e, u, y->name, "absolute or common symbol");
        return -1;
    }
    int by_section = y->type == STT_SECTION || y->type == STT_NOTYPE;
    if (!by_section) {
        if (u->fn_of_sym[r->sym])
            return sym_for_fn(e, u->fn_of_sym[r->sym], s);
        if (u->var_of_sym[r->sym])
            return sym_for_var(e, u->var_of_sym[r->sym], s);
    }
    /* Section-relative: find what lies at the target. */
    const struct elfobj_sec *sec = &u->obj->secs[y->shndx];
    int64_t rel = r->addend + (int64_t)y->value;
    int64_t t = rel + (elfobj_is_pcrel(r->type) ? 4 : 0);
    if ((y->shndx == c->sec && c->size == sec->size) || build_sec_is_rodata(sec)) {
        struct copy *t_copy = copy_section(e, u, y->shndx);
        patch_sym(s, t_copy, 0, 0);
        s->name = lp_writer_str(e->w, sec->name);
        *addend = rel;
        return 0;
    }
    size_t k = build_unit_sym_at(u, y->shndx, t < 0 ? 0 : (uint64_t)t);
    if (k != SIZE_MAX && u->fn_of_sym[k] && t == (int64_t)u->fn_of_sym[k]->off) {
        /* The entry of a function (a static callee): the function itself. */
        *addend = rel - (int64_t)u->fn_of_sym[k]->off;
        return sym_for_fn(e, u->fn_of_sym[k], s);
    }
    if (build_sec_is_text(sec)) {
        /* A label inside a body (switch table, a .cold part jumping back):
         * it belongs with the copied code, never with the old body. */
        struct copy *t_copy = copy_section(e, u, y->shndx);
        patch_sym(s, t_copy, 0, 0);
        s->name = lp_writer_str(e->w, sec->name);
        *addend = rel;
        return 0;
    }
    if (k != SIZE_MAX && u->var_of_sym[k]) {
        *addend = rel - (int64_t)u->var_of_sym[k]->off;
        return sym_for_var(e, u->var_of_sym[k], s);
    }
    struct anon_obj a;
    if (t >= 0 && build_unit_anon_at(u, y->shndx, (uint64_t)t, &a) && a.recorded && sec->data) {
        /* A constant the compiler placed in writable data (an initializer
         * template under PIC): the patch carries its new content. */
        struct copy *t_copy = copy_anon(e, u, y->shndx, &a);
        patch_sym(s, t_copy, a.start, a.size);
        s->name = lp_writer_str(e->w, sec->name);
        *addend = rel - (int64_t)a.start;
        return 0;
    }
    char at[128];
    snprintf(at, sizeof(at), "%s+0x%" PRIx64, sec->name, t < 0 ? (uint64_t)0 : (uint64_t)t);
    unresolved(e, u, at,
               "anonymous writable data: no variable there and not a constant the plugin "
               "recorded, so it may be state the running process holds");
    return -1;
}

static uint32_t add_sym(struct emitter *e, const struct lp_sym *s)
{
    char key[96];
    snprintf(key, sizeof(key), "%u:%u:%u:%" PRIx64 ":%" PRIx64, s->kind, s->section, s->name,
             s->value, s->unit_id);
    uintptr_t idx = (uintptr_t)strmap_get(&e->syms, key);
    if (idx)
        return (uint32_t)(idx - 1);
    uint32_t i = lp_writer_sym(e->w, s);
    strmap_put(&e->syms, own(e, xstrdup(key)), (void *)(uintptr_t)(i + 1));
    return i;
}

static void relocate_copy(struct emitter *e, struct copy *c)
{
    const struct elfobj_sec *s = &c->u->obj->secs[c->sec];
    size_t n, first = elfobj_relas_in(s, c->start, c->start + c->size, &n);
    for (size_t i = first; i < first + n; i++) {
        const struct elfobj_rela *r = &s->relas[i];
        if (r->type == R_X86_64_NONE)
            continue;
        struct lp_sym sym;
        int64_t addend;
        if (resolve(e, c, r, &sym, &addend))
            continue;
        struct lp_reloc lr = {.offset = c->base + r->off,
                              .section = c->lps,
                              .type = r->type,
                              .sym = add_sym(e, &sym),
                              .addend = addend};
        lp_writer_reloc(e->w, &lr);
    }
}

/* ---- the hook table ------------------------------------------------------ */

/* Does the patch's code call into the hook side (lp_shadow_*, a helper of
 * the hook file)?  Then it needs the runtime and its context. */
static int uses_hooks(struct differ *d)
{
    if (!d->hooks.loaded)
        return 0;
    if (d->hooks.hook_unit)
        return 1;
    for (size_t i = 0; i < d->patch.n; i++) {
        const struct fn *f = d->patch.v[i];
        const struct elfobj_sec *s = &f->u->obj->secs[f->sec];
        for (size_t k = 0; k < s->nrelas; k++) {
            const struct elfobj_sym *y = &f->u->obj->syms[s->relas[k].sym];
            if (y->shndx == SHN_UNDEF && (strmap_get(&d->hooks.side.global_fns, y->name) ||
                                          strmap_get(&d->hooks.side.global_vars, y->name)))
                return 1;
        }
    }
    return 0;
}

static void table_reloc(struct emitter *e, uint64_t base, uint64_t field, const struct lp_sym *s,
                        int64_t addend)
{
    struct lp_reloc lr = {.offset = base + field,
                          .section = LP_SEC_RODATA,
                          .type = R_X86_64_64,
                          .sym = add_sym(e, s),
                          .addend = addend};
    lp_writer_reloc(e->w, &lr);
}

/* The table at the start of .lp.rodata (lpatch_format.h): itself, the
 * runtime's context, the declared callbacks.  Returns LP_HDR_HOOKS, or 0
 * when the patch needs no hooks. */
static uint32_t emit_hook_table(struct emitter *e, struct sbuf *summary)
{
    struct differ *d = e->d;
    if (!uses_hooks(d))
        return 0;
    struct lp_hook_table t = {.magic = LP_HOOKS_MAGIC};
    uint64_t base = lp_writer_append(e->w, LP_SEC_RODATA, &t, sizeof(t), 8);
    assert(base == 0); /* first in .lp.rodata: revert finds it there */
    struct lp_sym self = {.kind = LP_SYM_PATCH,
                          .section = LP_SEC_RODATA,
                          .value = base,
                          .size = sizeof(t),
                          .name = lp_writer_str(e->w, "lp__hook_table")};
    table_reloc(e, base, offsetof(struct lp_hook_table, self), &self, 0);
    struct var *ctx = strmap_get(&d->hooks.side.global_vars, LP_HOOK_CTX_SYMBOL);
    struct lp_sym s;
    memset(&s, 0, sizeof(s));
    if (!ctx || ctx->size < sizeof(struct lp_hook_ctx) || !ctx->writable ||
        sym_for_var(e, ctx, &s)) {
        report_refuse(&d->rep, REFUSE_UNRESOLVED, LP_HOOK_CTX_SYMBOL, "",
                      "the hook runtime has no writable %s of %zu bytes", LP_HOOK_CTX_SYMBOL,
                      sizeof(struct lp_hook_ctx));
        e->failed = 1;
        return LP_HDR_HOOKS;
    }
    table_reloc(e, base, offsetof(struct lp_hook_table, ctx), &s, 0);
    static const size_t field[] = {
        [LP_HOOK_PRE_APPLY] = offsetof(struct lp_hook_table, pre_apply),
        [LP_HOOK_POST_APPLY] = offsetof(struct lp_hook_table, post_apply),
        [LP_HOOK_PRE_REVERT] = offsetof(struct lp_hook_table, pre_revert),
        [LP_HOOK_POST_REVERT] = offsetof(struct lp_hook_table, post_revert),
    };
    for (unsigned k = LP_HOOK_PRE_APPLY; k <= LP_HOOK_POST_REVERT; k++) {
        const struct hooks_decl *hd = &d->hooks.decl[k];
        if (!hd->unit)
            continue;
        const struct elfobj_sec *sec = &hd->unit->obj->secs[hd->sec];
        struct copy decl = {.u = hd->unit, .sec = hd->sec, .lps = LP_SEC_RODATA};
        int64_t addend;
        memset(&s, 0, sizeof(s));
        if (resolve(e, &decl, &sec->relas[hd->rela], &s, &addend))
            continue;
        if (s.kind != LP_SYM_PATCH || s.section != LP_SEC_TEXT) {
            report_refuse(&d->rep, REFUSE_UNRESOLVED, hooks_kind_name(k), "",
                          "%s:%u: the callback must be a function of the hook file", d->hooks.file,
                          hd->line);
            e->failed = 1;
            continue;
        }
        table_reloc(e, base, field[k], &s, addend);
        sbuf_addf(summary, "callback %s (%s:%u)\n", hooks_kind_name(k), d->hooks.file, hd->line);
    }
    return LP_HDR_HOOKS;
}

/* ---- unwind information ------------------------------------------------- */

/*
 * The NEW objects' .eh_frame holds a CIE and FDEs; an FDE whose pc_begin
 * relocation points into a text section the patch copies comes along, with
 * its CIE (once per object and CIE), into one eh_frame in .lp.rodata
 * (lpatch_format.h: struct lp_unwind_table).  Parsed here only as far as
 * needed: entry length, CIE id / CIE pointer, pc_begin (the relocation at
 * offset 8 of an FDE, pcrel|sdata4 as GCC emits on x86-64) and pc_range
 * (the 4 bytes after it).  Every other relocation of a CIE or FDE (the
 * personality routine, the LSDA of a C++ function) is resolved like any
 * other and lands where the copied bytes are.
 */
struct ubuf {
    uint8_t *b;
    size_t len, cap;
};

static size_t ubuf_add(struct ubuf *u, const void *p, size_t n)
{
    if (u->len + n > u->cap) {
        u->cap = (u->len + n) * 2 + 64;
        u->b = xrealloc(u->b, u->cap);
    }
    memcpy(u->b + u->len, p, n);
    u->len += n;
    return u->len - n;
}

struct ureloc {
    size_t off; /* in the eh_frame being built */
    struct lp_reloc r;
    struct lp_sym s;
};

struct ureloc_vec {
    struct ureloc *v;
    size_t n, cap;
};

struct fde_pick {
    uint64_t start; /* in .lp.text */
    uint32_t range, off;
};

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static struct copy *text_copy_of(struct emitter *e, struct unit *u, size_t sec)
{
    char key[64];
    snprintf(key, sizeof(key), "%p:%zu", (void *)u, sec);
    struct copy *c = strmap_get(&e->copies, key);
    return c && c->lps == LP_SEC_TEXT ? c : NULL;
}

/* Copy the relocations of [from, from+n) of `eh` in unit u to `at` in the
 * built eh_frame, except the one at `skip` (pc_begin, done by the caller). */
static void unwind_relocs(struct emitter *e, struct unit *u, size_t ehsec, uint64_t from,
                          uint64_t n, size_t at, uint64_t skip, struct ureloc_vec *out)
{
    const struct elfobj_sec *eh = &u->obj->secs[ehsec];
    size_t cnt, first = elfobj_relas_in(eh, from, from + n, &cnt);
    struct copy fake = {.u = u, .sec = ehsec, .lps = LP_SEC_RODATA};
    for (size_t i = first; i < first + cnt; i++) {
        const struct elfobj_rela *r = &eh->relas[i];
        if (r->off == skip || r->type == R_X86_64_NONE)
            continue;
        struct ureloc ur = {.off = at + (r->off - from)};
        int64_t addend;
        if (resolve(e, &fake, r, &ur.s, &addend))
            continue;
        ur.r.type = r->type;
        ur.r.section = LP_SEC_RODATA;
        ur.r.addend = addend;
        VEC_PUSH(*out, ur);
    }
}

static int pick_cmp(const void *a, const void *b)
{
    const struct fde_pick *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Build the eh_frame and index of every copied text section; fill the
 * table appended at `table_off` (LP_UNWIND_OFF).  Returns the FDE count. */
static uint32_t emit_unwind(struct emitter *e, uint64_t table_off, struct sbuf *summary)
{
    struct ubuf out = {0};
    struct ureloc_vec rel = {0};
    VEC(struct fde_pick) picks = {0};
    struct strmap cies = {0}; /* "unit:ehsec:cieoff" -> out offset + 1 */
    size_t nwork = e->work.n;
    for (size_t w = 0; w < nwork; w++) {
        struct copy *c = e->work.v[w];
        if (c->lps != LP_SEC_TEXT)
            continue;
        /* each unit once: its .eh_frame against all its copied sections */
        int seen = 0;
        for (size_t k = 0; k < w && !seen; k++)
            seen = e->work.v[k]->lps == LP_SEC_TEXT && e->work.v[k]->u == c->u;
        if (seen)
            continue;
        struct unit *u = c->u;
        for (size_t ehsec = 0; ehsec < u->obj->nsecs; ehsec++) {
            const struct elfobj_sec *eh = &u->obj->secs[ehsec];
            if (strcmp(eh->name, ".eh_frame") || !eh->data)
                continue;
            for (uint64_t at = 0; at + 8 <= eh->size;) {
                uint32_t len = rd32(eh->data + at);
                if (len == 0 || len == 0xffffffffu || len > eh->size - at - 4)
                    break; /* terminator, 64-bit DWARF (GCC never emits it), or damage */
                uint32_t id = rd32(eh->data + at + 4);
                uint64_t next = at + 4 + len;
                if (id == 0 || len < 16 || (uint64_t)id > at + 4) {
                    at = next;
                    continue;
                }
                size_t nr, ri = elfobj_relas_in(eh, at + 8, at + 12, &nr);
                if (nr != 1 || eh->relas[ri].type != R_X86_64_PC32) {
                    at = next;
                    continue;
                }
                const struct elfobj_rela *pr = &eh->relas[ri];
                const struct elfobj_sym *y = &u->obj->syms[pr->sym];
                struct copy *tc = y->shndx < u->obj->nsecs ? text_copy_of(e, u, y->shndx) : NULL;
                if (!tc) {
                    at = next;
                    continue;
                }
                uint64_t cie = at + 4 - id;
                char key[96];
                snprintf(key, sizeof(key), "%p:%zu:%" PRIx64, (void *)u, ehsec, cie);
                uintptr_t cnew = (uintptr_t)strmap_get(&cies, key);
                if (!cnew) {
                    uint32_t clen = cie + 4 <= eh->size ? rd32(eh->data + cie) : 0;
                    if (!clen || clen > eh->size - cie - 4) {
                        at = next;
                        continue;
                    }
                    while (out.len % 4)
                        ubuf_add(&out, "", 1);
                    size_t o = ubuf_add(&out, eh->data + cie, 4 + clen);
                    unwind_relocs(e, u, ehsec, cie, 4 + clen, o, UINT64_MAX, &rel);
                    cnew = o + 1;
                    strmap_put(&cies, own(e, xstrdup(key)), (void *)cnew);
                }
                size_t o = ubuf_add(&out, eh->data + at, 4 + len);
                uint32_t cptr = (uint32_t)(o + 4 - (cnew - 1));
                memcpy(out.b + o + 4, &cptr, 4);
                memset(out.b + o + 8, 0, 4); /* pc_begin: the relocation's */
                unwind_relocs(e, u, ehsec, at, 4 + len, o, pr->off, &rel);
                int64_t start = (int64_t)y->value + pr->addend;
                struct ureloc ur = {
                    .off = o + 8,
                    .r = {.type = R_X86_64_PC32, .section = LP_SEC_RODATA, .addend = start}};
                patch_sym(&ur.s, tc, 0, 0);
                ur.s.name = lp_writer_str(e->w, u->obj->secs[tc->sec].name);
                VEC_PUSH(rel, ur);
                struct fde_pick fp = {.start = tc->base + (uint64_t)start,
                                      .range = rd32(eh->data + at + 12),
                                      .off = (uint32_t)o};
                VEC_PUSH(picks, fp);
                at = next;
            }
        }
    }
    static const uint8_t zero[4];
    ubuf_add(&out, zero, 4); /* __register_frame's terminator */
    uint64_t base = lp_writer_append(e->w, LP_SEC_RODATA, out.b, out.len, 8);
    for (size_t i = 0; i < rel.n; i++) {
        struct lp_reloc r = rel.v[i].r;
        r.offset = base + rel.v[i].off;
        r.sym = add_sym(e, &rel.v[i].s);
        lp_writer_reloc(e->w, &r);
    }
    if (picks.n)
        qsort(picks.v, picks.n, sizeof(picks.v[0]), pick_cmp);
    struct lp_unwind_table t = {.magic = LP_UNWIND_MAGIC,
                                .eh_frame_off = (uint32_t)base,
                                .eh_frame_size = (uint32_t)out.len,
                                .nfde = (uint32_t)picks.n};
    struct lp_unwind_index *ix = xcalloc(picks.n ? picks.n : 1, sizeof(*ix));
    for (size_t i = 0; i < picks.n; i++) {
        ix[i].start = (int32_t)picks.v[i].start;
        ix[i].fde = (int32_t)picks.v[i].off;
        if (!i || picks.v[i].start < t.text_lo)
            t.text_lo = (uint32_t)picks.v[i].start;
        if (picks.v[i].start + picks.v[i].range > t.text_hi)
            t.text_hi = (uint32_t)(picks.v[i].start + picks.v[i].range);
    }
    t.index_off = (uint32_t)lp_writer_append(e->w, LP_SEC_RODATA, ix, picks.n * sizeof(*ix), 8);
    lp_writer_put(e->w, LP_SEC_RODATA, table_off, &t, sizeof(t));
    if (picks.n)
        sbuf_addf(summary, "unwind information for %zu code ranges\n", picks.n);
    free(ix);
    free(out.b);
    VEC_FREE(rel);
    VEC_FREE(picks);
    strmap_free(&cies);
    return t.nfde;
}

static void add_func(struct emitter *e, struct fn *f, struct sbuf *summary)
{
    struct differ *d = e->d;
    struct copy *c = copy_section(e, f->u, f->sec);
    struct lp_func lf = {0};
    lf.name = lp_writer_str(e->w, f->name);
    lf.flags = (f->added ? LP_FUNC_NEW : 0) | (f->is_local ? LP_FUNC_LOCAL : 0);
    for (size_t i = 0; i < d->allow_active.n; i++)
        if (!strcmp(d->allow_active.v[i], f->name))
            lf.flags |= LP_FUNC_ALLOW_ACTIVE;
    lf.unit_id = f->u->unit_id;
    lf.new_off = c->base + f->off;
    lf.new_size = (uint32_t)f->size;
    if (!f->added) {
        lf.old_addr = f->old_addr;
        lf.old_size = (uint32_t)f->old_size;
        lf.old_entry_off = f->old_entry_off;
        lf.old_prepad = f->old_prepad;
        const uint8_t *b = elfobj_bytes_at(d->old.mod, f->old_addr, f->old_size);
        lf.old_code_hash = b ? XXH3_64bits(b, f->old_size) : 0;
    }
    char w[256];
    compare_where(&d->new, f->u, f->name, 0, w, sizeof(w));
    char *colon = strrchr(w, ':');
    if (colon) {
        *colon = 0;
        lf.line = (uint32_t)atoi(colon + 1);
    }
    lf.file = lp_writer_str(e->w, *w ? w : f->u->file);
    lp_writer_func(e->w, &lf);
    sbuf_addf(summary, "%s %s (%s:%u)%s\n", f->added ? "add    " : "replace", f->name,
              *w ? w : f->u->file, lf.line, f->why && !f->added ? "" : "");
    if (f->why && !f->added)
        sbuf_addf(summary, "        because: %s\n", f->why);
}

int emit_write_patch(struct differ *d, const char *out, char *err, size_t errlen)
{
    struct emitter e = {.d = d, .w = lp_writer_new()};
    struct sbuf summary = {0};
    sbuf_addf(&summary, "livepatch for %s: %zu replaced, %zu added\n", d->module, d->nchanged,
              d->nadded);
    uint32_t flags = emit_hook_table(&e, &summary);
    /* The unwind table's place is fixed (revert finds it): right after the
     * hook table; its contents come once the code is all copied. */
    struct lp_unwind_table ut = {.magic = LP_UNWIND_MAGIC};
    uint64_t ut_off = lp_writer_append(e.w, LP_SEC_RODATA, &ut, sizeof(ut), 8);
    assert(ut_off == LP_UNWIND_OFF(flags));
    flags |= LP_HDR_UNWIND;
    for (size_t i = 0; i < d->patch.n; i++)
        if (!d->patch.v[i]->is_cold && !d->patch.v[i]->is_alias)
            add_func(&e, d->patch.v[i], &summary);
    for (size_t i = 0; i < d->patch.n; i++) /* cold parts travel with their parent */
        copy_section(&e, d->patch.v[i]->u, d->patch.v[i]->sec);
    for (size_t i = 0; i < d->rep.new_vars.n; i++)
        sbuf_addf(&summary, "new variable %s\n", d->rep.new_vars.v[i]);
    size_t done = 0;
    for (; done < e.work.n; done++) /* grows while relocating */
        relocate_copy(&e, e.work.v[done]);
    emit_unwind(&e, ut_off, &summary);
    for (; done < e.work.n; done++) /* what the unwind information needs: LSDAs */
        relocate_copy(&e, e.work.v[done]);
    const struct elfobj *om = d->old.mod, *nm = d->new.mod;
    if (om->eh.e_type == ET_DYN)
        flags |= LP_HDR_MODULE_PIC | (om->is_pie ? 0 : LP_HDR_MODULE_SHARED);
    lp_writer_header(e.w, flags, om->build_id, (uint32_t)om->build_id_len, nm->build_id,
                     (uint32_t)nm->build_id_len, d->module);
    char *plain = util_demangle_text(sbuf_str(&summary)); /* C++ names readable in lpatch */
    lp_writer_summary(e.w, plain);
    free(plain);
    int rc = -1;
    uint8_t id[16];
    char lerr[LP_ERR_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    if (e.failed)
        snprintf(err, errlen, "patch not written: unresolved references");
    else if (!out) { /* dry run: build it in memory and validate it */
        struct lp_patch *p;
        if (lp_writer_bytes(e.w, &buf, &len, id, lerr) ||
            lp_patch_parse_named(buf, len, "<dry run>", &p, lerr))
            snprintf(err, errlen, "%s", lerr);
        else {
            lp_patch_free(p);
            rc = 0;
        }
        free(buf);
    } else if (lp_writer_write(e.w, out, id, lerr))
        snprintf(err, errlen, "%s", lerr);
    else {
        struct lp_patch *p;
        if (lp_patch_load(out, &p, lerr)) { /* self-check with the runtime's loader */
            snprintf(err, errlen, "written patch fails validation: %s", lerr);
            remove(out);
        } else {
            lp_patch_free(p);
            lp_hex(id, 16, d->rep.patch_id);
            rc = 0;
        }
    }
    for (size_t i = 0; i < e.work.n; i++)
        free(e.work.v[i]);
    VEC_FREE(e.work);
    for (size_t i = 0; i < e.owned.n; i++)
        free(e.owned.v[i]);
    VEC_FREE(e.owned);
    strmap_free(&e.copies);
    strmap_free(&e.syms);
    sbuf_free(&summary);
    lp_writer_free(e.w);
    return rc;
}

/* ---- --dump ------------------------------------------------------------ */

static int dump_patch(const char *path, FILE *out)
{
    struct lp_patch *p;
    char err[LP_ERR_MAX];
    if (lp_patch_load(path, &p, err)) {
        fprintf(stderr, "lpdiff: %s\n", err);
        return 2;
    }
    lp_patch_describe(p, out);
    const struct lp_unwind_table *ut = lp_patch_unwind(p);
    if (ut)
        fprintf(out,
                "unwind: %u FDEs, eh_frame at %s+0x%x (%u bytes), index at %s+0x%x, "
                "covering %s+0x%x..0x%x\n",
                ut->nfde, LP_SEC_RODATA_NAME, ut->eh_frame_off, ut->eh_frame_size,
                LP_SEC_RODATA_NAME, ut->index_off, LP_SEC_TEXT_NAME, ut->text_lo, ut->text_hi);
    else
        fprintf(out, "unwind: none\n");
    uint32_t ns, nr;
    const struct lp_sym *syms = lp_patch_syms(p, &ns);
    const struct lp_reloc *rel = lp_patch_relocs(p, &nr);
    fprintf(out, "relocations: (where type -> kind symbol value+addend)\n");
    for (uint32_t i = 0; i < nr; i++) {
        const struct lp_sym *s = &syms[rel[i].sym];
        fprintf(out, "  %s+0x%" PRIx64 " %s -> %s %s ", lp_section_name(rel[i].section),
                rel[i].offset, lp_reloc_name(rel[i].type), lp_sym_kind_name(s->kind),
                lp_patch_str(p, s->name));
        if (s->kind == LP_SYM_PATCH)
            fprintf(out, "%s+0x%" PRIx64, lp_section_name(s->section), s->value);
        else if (s->kind != LP_SYM_DYNAMIC)
            fprintf(out, "0x%" PRIx64, s->value);
        else
            fprintf(out, "-");
        fprintf(out, " %+" PRId64 "\n", rel[i].addend);
    }
    lp_patch_free(p);
    return 0;
}

/* The dump is built in memory, then printed with C++ names demangled. */
int emit_dump_patch(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        fprintf(stderr, "lpdiff: --dump: out of memory\n");
        return 2;
    }
    int rc = dump_patch(path, mem);
    fclose(mem);
    char *plain = util_demangle_text(text ? text : "");
    fputs(plain, stdout);
    free(plain);
    free(text);
    return rc;
}
