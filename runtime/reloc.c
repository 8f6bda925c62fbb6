/*
 * reloc.c - relocate a patch image for one target address space, and encode
 * the jumps that redirect an old function's entry to its new code.
 *
 * Notation as in the x86-64 psABI: S symbol value, A addend, P place,
 * G address of the symbol's GOT slot, GOT the GOT base (our slots).
 */
#include <assert.h>
#include <elf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lp_internal.h"

struct relocator {
    const struct lp_patch *p;
    const struct lp_layout *lay;
    const struct lp_target *t;
    uint8_t *image;
    struct lp_slots slots;
    uint64_t *sym_addr; /* resolved S per symbol */
    uint8_t *sym_done;
};

static uint64_t section_off(const struct lp_layout *lay, uint32_t s)
{
    assert(s >= LP_SEC_TEXT && s <= LP_SEC_BSS); /* the loader checked */
    switch (s) {
    case LP_SEC_TEXT:
        return lay->text_off;
    case LP_SEC_RODATA:
        return lay->rodata_off;
    case LP_SEC_DATA:
        return lay->data_off;
    }
    return lay->bss_off;
}

static const char *sym_name(const struct relocator *rc, uint32_t i)
{
    return rc->p->strtab + rc->p->syms[i].name;
}

static uint64_t got_addr(const struct relocator *rc, uint32_t slot)
{
    assert(slot == 0 || slot < rc->lay->ngot); /* slot 0: also the GOT base */
    return rc->t->image_addr + rc->lay->got_off + 8ull * slot;
}

/* S: where symbol i lives in the target (TLS: its offset in the TLS block). */
static int symbol_value(struct relocator *rc, uint32_t i, uint64_t *out, char *err)
{
    assert(i < rc->p->hdr->nsyms);
    if (rc->sym_done[i]) {
        *out = rc->sym_addr[i];
        return 0;
    }
    const struct lp_sym *s = &rc->p->syms[i];
    uint64_t v = 0;
    switch (s->kind) {
    case LP_SYM_PATCH:
        v = rc->t->image_addr + section_off(rc->lay, s->section) + s->value;
        break;
    case LP_SYM_MODULE:
        if (!rc->t->module_by_name) {
            v = rc->t->load_bias + s->value;
            break;
        }
        /* A stacked patch names another build's addresses: by name. */
        __attribute__((fallthrough));
    case LP_SYM_DYNAMIC: {
        /* The linker's name for the GOT base: our own slots. */
        if (s->kind == LP_SYM_DYNAMIC && strcmp(sym_name(rc, i), "_GLOBAL_OFFSET_TABLE_") == 0) {
            v = got_addr(rc, 0);
            break;
        }
        char why[LP_ERR_MAX] = "";
        int failed = !rc->t->resolve || rc->t->resolve(rc->t->ctx, rc->p, s, &v, why) != 0;
        if (failed)
            return lp_fail(err, "%s: %s[%u]: cannot resolve '%s': %s", rc->p->name,
                           LP_SEC_SYMS_NAME, i, sym_name(rc, i),
                           !rc->t->resolve ? "no resolver given"
                           : why[0]        ? why
                                           : "not found");
        break;
    }
    case LP_SYM_TLS:
        v = s->value;
        break;
    }
    rc->sym_addr[i] = v;
    rc->sym_done[i] = 1;
    *out = v;
    return 0;
}

static void put64(uint8_t *at, uint64_t v)
{
    memcpy(at, &v, 8); /* x86-64 is little-endian, like the format */
}

static uint8_t *got_at(const struct relocator *rc, uint32_t slot)
{
    assert(slot < rc->lay->ngot);
    return rc->image + rc->lay->got_off + 8ull * slot;
}

static int need_static_tls(const struct relocator *rc, uint32_t i, const char *what, char *err)
{
    if (rc->t->has_static_tls)
        return 0;
    return lp_fail(err,
                   "%s: %s '%s' needs the module's TLS at a fixed thread-pointer offset, "
                   "and the target has none",
                   rc->p->name, what, sym_name(rc, i));
}

/* Fill every GOT slot and stub the layout reserved. */
static int fill_got_and_stubs(struct relocator *rc, char *err)
{
    const struct lp_slots *s = &rc->slots;
    for (uint32_t i = 0; i < rc->p->hdr->nsyms; i++) {
        uint64_t v;
        if (s->addr[i] != LP_NONE) {
            if (symbol_value(rc, i, &v, err) < 0)
                return -1;
            put64(got_at(rc, s->addr[i]), v);
        }
        if (s->tpoff[i] != LP_NONE) {
            if (need_static_tls(rc, i, "R_X86_64_GOTTPOFF for", err) < 0)
                return -1;
            put64(got_at(rc, s->tpoff[i]), (uint64_t)rc->t->tls_tpoff + rc->p->syms[i].value);
        }
        if (s->gd[i] != LP_NONE) {
            if (!rc->t->tls_modid)
                return lp_fail(err,
                               "%s: R_X86_64_TLSGD for '%s' needs the module's TLS module "
                               "id, and the target gives none",
                               rc->p->name, sym_name(rc, i));
            put64(got_at(rc, s->gd[i]), rc->t->tls_modid);
            put64(got_at(rc, s->gd[i] + 1), rc->p->syms[i].value);
        }
        if (s->desc[i] != LP_NONE) {
            if (need_static_tls(rc, i, "R_X86_64_GOTPC32_TLSDESC for", err) < 0)
                return -1;
            put64(got_at(rc, s->desc[i]),
                  rc->t->image_addr + rc->lay->stub_off + (uint64_t)s->desc_stub * LP_STUB_SIZE);
            put64(got_at(rc, s->desc[i] + 1), (uint64_t)rc->t->tls_tpoff + rc->p->syms[i].value);
        }
        if (s->stub[i] != LP_NONE) {
            /* jmp *slot(%rip); int3; int3 */
            uint64_t off = rc->lay->stub_off + (uint64_t)s->stub[i] * LP_STUB_SIZE;
            uint64_t next = rc->t->image_addr + off + LP_JMP_RIP_LEN;
            int32_t rel = (int32_t)(got_addr(rc, s->addr[i]) - next);
            uint8_t *at = rc->image + off;
            at[0] = LP_JMP_RIP_OP0;
            at[1] = LP_JMP_RIP_OP1;
            memcpy(at + 2, &rel, 4);
            at[LP_JMP_RIP_LEN] = at[LP_JMP_RIP_LEN + 1] = 0xcc;
        }
    }
    if (s->ld != LP_NONE) {
        put64(got_at(rc, s->ld), rc->t->tls_modid);
        put64(got_at(rc, s->ld + 1), 0);
    }
    if (s->desc_stub != LP_NONE) {
        /* Static-TLS descriptor resolver: return the descriptor's argument,
         * the TP offset (mov 8(%rax),%rax; ret), clobbering nothing else. */
        static const uint8_t code[LP_STUB_SIZE] = {0x48, 0x8b, 0x40, 0x08, 0xc3, 0xcc, 0xcc, 0xcc};
        memcpy(rc->image + rc->lay->stub_off + (uint64_t)s->desc_stub * LP_STUB_SIZE, code,
               sizeof code);
    }
    if (s->ld != LP_NONE && !rc->t->tls_modid)
        return lp_fail(err,
                       "%s: R_X86_64_TLSLD needs the module's TLS module id, and the target "
                       "gives none",
                       rc->p->name);
    return 0;
}

static int fits_s32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

static int overflow(const struct relocator *rc, uint32_t i, int64_t v, const char *range, char *err)
{
    const struct lp_reloc *r = &rc->p->relocs[i];
    return lp_fail(err,
                   "%s: %s[%u]: %s to '%s' out of range: value %s0x%" PRIx64 " does not fit %s",
                   rc->p->name, LP_SEC_RELOCS_NAME, i, lp_reloc_name(r->type), sym_name(rc, r->sym),
                   v < 0 ? "-" : "", v < 0 ? -(uint64_t)v : (uint64_t)v, range);
}

static int put_s32(const struct relocator *rc, uint32_t i, uint8_t *at, int64_t v, char *err)
{
    if (!fits_s32(v))
        return overflow(rc, i, v, "32 bits signed", err);
    int32_t x = (int32_t)v;
    memcpy(at, &x, 4);
    return 0;
}

static int apply(struct relocator *rc, uint32_t i, char *err)
{
    const struct lp_reloc *r = &rc->p->relocs[i];
    const struct lp_slots *sl = &rc->slots;
    uint64_t place_off = section_off(rc->lay, r->section) + r->offset;
    uint8_t *at = rc->image + place_off;
    uint64_t P = rc->t->image_addr + place_off, S, GOT = got_addr(rc, 0);
    int64_t A = r->addend;
    if (symbol_value(rc, r->sym, &S, err) < 0)
        return -1;
    uint64_t tls_block = (uint64_t)rc->t->tls_tpoff; /* TPOFF: TP-relative */

    switch (r->type) {
    case R_X86_64_64:
        put64(at, S + A);
        return 0;
    case R_X86_64_PC64:
        put64(at, S + A - P);
        return 0;
    case R_X86_64_GOTOFF64:
        put64(at, S + A - GOT);
        return 0;
    case R_X86_64_PC32:
        return put_s32(rc, i, at, (int64_t)(S + A - P), err);
    case R_X86_64_PLT32: {
        int64_t v = (int64_t)(S + A - P);
        if (!fits_s32(v) && sl->stub[r->sym] != LP_NONE) {
            uint64_t stub =
                rc->t->image_addr + rc->lay->stub_off + (uint64_t)sl->stub[r->sym] * LP_STUB_SIZE;
            v = (int64_t)(stub + A - P);
        }
        return put_s32(rc, i, at, v, err);
    }
    case R_X86_64_32: {
        uint64_t v = S + A;
        if (v > UINT32_MAX)
            return overflow(rc, i, (int64_t)v, "32 bits unsigned", err);
        uint32_t x = (uint32_t)v;
        memcpy(at, &x, 4);
        return 0;
    }
    case R_X86_64_32S:
        return put_s32(rc, i, at, (int64_t)(S + A), err);
    case R_X86_64_GOTPCREL:
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
        return put_s32(rc, i, at, (int64_t)(got_addr(rc, sl->addr[r->sym]) + A - P), err);
    case R_X86_64_GOTPC32:
        return put_s32(rc, i, at, (int64_t)(GOT + A - P), err);
    case R_X86_64_TPOFF32:
    case R_X86_64_TPOFF64:
        if (need_static_tls(rc, r->sym, lp_reloc_name(r->type), err) < 0)
            return -1;
        if (r->type == R_X86_64_TPOFF64) {
            put64(at, tls_block + S + A);
            return 0;
        }
        return put_s32(rc, i, at, (int64_t)(tls_block + S + A), err);
    case R_X86_64_GOTTPOFF:
        return put_s32(rc, i, at, (int64_t)(got_addr(rc, sl->tpoff[r->sym]) + A - P), err);
    case R_X86_64_TLSGD:
        return put_s32(rc, i, at, (int64_t)(got_addr(rc, sl->gd[r->sym]) + A - P), err);
    case R_X86_64_TLSLD:
        return put_s32(rc, i, at, (int64_t)(got_addr(rc, sl->ld) + A - P), err);
    case R_X86_64_DTPOFF32:
        return put_s32(rc, i, at, (int64_t)(S + A), err);
    case R_X86_64_DTPOFF64:
        put64(at, S + A);
        return 0;
    case R_X86_64_GOTPC64:
        put64(at, GOT + A - P);
        return 0;
    case R_X86_64_GOT64:
    case R_X86_64_GOTPLT64:
        put64(at, got_addr(rc, sl->addr[r->sym]) + A - GOT);
        return 0;
    case R_X86_64_GOTPCREL64:
        put64(at, got_addr(rc, sl->addr[r->sym]) + A - P);
        return 0;
    case R_X86_64_PLTOFF64: /* no PLT: the function itself is its entry */
        put64(at, S + A - GOT);
        return 0;
    case R_X86_64_GOTPC32_TLSDESC:
        return put_s32(rc, i, at, (int64_t)(got_addr(rc, sl->desc[r->sym]) + A - P), err);
    case R_X86_64_TLSDESC_CALL: /* `call *(%rax)` stays: the descriptor answers */
        return 0;
    }
    return lp_fail(err, "%s: %s[%u]: unsupported relocation type %u", rc->p->name,
                   LP_SEC_RELOCS_NAME, i, r->type);
}

int lp_relocate(const struct lp_patch *p, const struct lp_layout *lay, const struct lp_target *t,
                uint8_t *image, char *err)
{
    struct relocator rc = {.p = p, .lay = lay, .t = t, .image = image};
    if (lp_slots_assign(p, &rc.slots, err) < 0)
        return -1;
    int ret = -1;
    struct lp_layout mine;
    if (lp_layout_compute(p, &mine, err) < 0)
        goto out;
    if (memcmp(&mine, lay, sizeof mine) != 0) {
        lp_fail(err, "%s: layout was computed for another patch", p->name);
        goto out;
    }
    if (t->image_addr % LP_PAGE_SIZE) {
        lp_fail(err, "%s: image address 0x%" PRIx64 " is not page-aligned", p->name, t->image_addr);
        goto out;
    }
    rc.sym_addr = calloc(p->hdr->nsyms + 1, sizeof *rc.sym_addr);
    rc.sym_done = calloc(p->hdr->nsyms + 1, 1);
    if (!rc.sym_addr || !rc.sym_done) {
        lp_fail(err, "%s: out of memory", p->name);
        goto out;
    }
    memset(image, 0, lay->size);
    for (uint32_t s = LP_SEC_TEXT; s <= LP_SEC_DATA; s++)
        if (p->sec[s].size)
            memcpy(image + section_off(lay, s), p->sec[s].data, p->sec[s].size);
    /* Unused bytes of the executable part trap instead of running zeros. */
    uint64_t text_end = lay->text_off + p->sec[LP_SEC_TEXT].size;
    memset(image + text_end, 0xcc, lay->exec_size - text_end);
    if (fill_got_and_stubs(&rc, err) < 0)
        goto out;
    for (uint32_t i = 0; i < p->hdr->nrelocs; i++)
        if (apply(&rc, i, err) < 0)
            goto out;
    ret = 0;
out:
    free(rc.sym_addr);
    free(rc.sym_done);
    lp_slots_free(&rc.slots);
    return ret;
}

/* ---- redirect ----------------------------------------------------------- */

int lp_redirect_encode(uint64_t sym_addr, uint8_t entry_off, uint8_t prepad, uint64_t new_addr,
                       struct lp_redirect *r, char *err)
{
    memset(r, 0, sizeof *r);
    if (prepad < LP_JMP_REL32_LEN || sym_addr < prepad)
        return lp_fail(err, "redirect of 0x%" PRIx64 ": pad of %u bytes cannot hold a jump",
                       sym_addr, prepad);
    r->pad_addr = sym_addr - prepad;
    r->entry_addr = sym_addr + entry_off;
    if (!lp_entry_jump_reaches(prepad, entry_off))
        return lp_fail(err,
                       "redirect of 0x%" PRIx64 ": pad start %ld bytes from the entry, beyond a "
                       "short jump",
                       sym_addr, lp_entry_jump_disp(prepad, entry_off));
    int64_t rel = (int64_t)(new_addr - (r->pad_addr + LP_JMP_REL32_LEN));
    if (fits_s32(rel)) {
        lp_pad_jump_rel32(r->pad, (int32_t)rel);
        r->pad_len = LP_JMP_REL32_LEN;
    } else {
        if (prepad < LP_JMP_ABS_LEN)
            return lp_fail(err,
                           "redirect of 0x%" PRIx64 " to 0x%" PRIx64
                           ": beyond rel32 and the pad (%u bytes) is too small for an "
                           "absolute jump (%d)",
                           sym_addr, new_addr, prepad, LP_JMP_ABS_LEN);
        lp_pad_jump_abs(r->pad, new_addr);
        r->pad_len = LP_JMP_ABS_LEN;
    }
    lp_entry_jump(r->entry, prepad, entry_off);
    lp_entry_nop(r->entry_orig);
    return 0;
}
