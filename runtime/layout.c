/*
 * layout.c - place a patch's parts in one image and assign its GOT slots
 * and call stubs.
 */
#include <assert.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "lp_internal.h"

void lp_slots_free(struct lp_slots *s)
{
    free(s->addr);
    free(s->tpoff);
    free(s->gd);
    free(s->stub);
    free(s->desc);
    memset(s, 0, sizeof *s);
}

static uint32_t *per_sym(uint32_t nsyms)
{
    uint32_t *v = malloc((nsyms ? nsyms : 1) * sizeof *v);
    if (v)
        for (uint32_t i = 0; i < nsyms; i++)
            v[i] = LP_NONE;
    return v;
}

static void take(uint32_t *slot, uint32_t *count, uint32_t n)
{
    if (*slot == LP_NONE) {
        *slot = *count;
        *count += n;
    }
}

int lp_slots_assign(const struct lp_patch *p, struct lp_slots *s, char *err)
{
    uint32_t nsyms = p->hdr->nsyms;
    memset(s, 0, sizeof *s);
    s->ld = LP_NONE;
    s->desc_stub = LP_NONE;
    s->addr = per_sym(nsyms);
    s->tpoff = per_sym(nsyms);
    s->gd = per_sym(nsyms);
    s->stub = per_sym(nsyms);
    s->desc = per_sym(nsyms);
    if (!s->addr || !s->tpoff || !s->gd || !s->stub || !s->desc) {
        lp_slots_free(s);
        return lp_fail(err, "%s: out of memory", p->name);
    }
    for (uint32_t i = 0; i < p->hdr->nrelocs; i++) {
        const struct lp_reloc *r = &p->relocs[i];
        assert(r->sym < nsyms); /* the loader checked every reloc */
        switch (r->type) {
        case R_X86_64_GOTPCREL:
        case R_X86_64_GOTPCRELX:
        case R_X86_64_REX_GOTPCRELX:
        case R_X86_64_GOTPCREL64:
        case R_X86_64_GOT64:
        case R_X86_64_GOTPLT64:
            take(&s->addr[r->sym], &s->ngot, 1);
            break;
        case R_X86_64_PLT32:
            if (p->syms[r->sym].kind == LP_SYM_DYNAMIC) {
                take(&s->addr[r->sym], &s->ngot, 1);
                take(&s->stub[r->sym], &s->nstubs, 1);
            }
            break;
        case R_X86_64_GOTTPOFF:
            take(&s->tpoff[r->sym], &s->ngot, 1);
            break;
        case R_X86_64_TLSGD:
            take(&s->gd[r->sym], &s->ngot, 2);
            break;
        case R_X86_64_TLSLD:
            take(&s->ld, &s->ngot, 2);
            break;
        case R_X86_64_GOTPC32_TLSDESC:
            take(&s->desc[r->sym], &s->ngot, 2);
            take(&s->desc_stub, &s->nstubs, 1);
            break;
        }
    }
    return 0;
}

int lp_layout_compute(const struct lp_patch *p, struct lp_layout *lay, char *err)
{
    struct lp_slots s;
    if (lp_slots_assign(p, &s, err) < 0)
        return -1;
    memset(lay, 0, sizeof *lay);
    lay->ngot = s.ngot;
    lay->nstubs = s.nstubs;
    lp_slots_free(&s);

    /* Sections are at most 4 GiB each (loader), so none of this overflows. */
    lay->text_off = 0;
    uint64_t end = p->sec[LP_SEC_TEXT].size;
    lay->stub_off = lp_align_up(end, 16);
    end = lay->nstubs ? lay->stub_off + (uint64_t)lay->nstubs * LP_STUB_SIZE : end;
    lay->exec_size = lp_align_up(end, LP_PAGE_SIZE);
    lay->rodata_off = lp_align_up(lay->exec_size, p->sec[LP_SEC_RODATA].align);
    end = lay->rodata_off + p->sec[LP_SEC_RODATA].size;
    lay->data_off = lp_align_up(end, p->sec[LP_SEC_DATA].align);
    end = lay->data_off + p->sec[LP_SEC_DATA].size;
    lay->bss_off = lp_align_up(end, p->sec[LP_SEC_BSS].align);
    end = lay->bss_off + p->sec[LP_SEC_BSS].size;
    lay->got_off = lp_align_up(end, 8);
    end = lay->got_off + 8ull * lay->ngot;
    lay->size = lp_align_up(end ? end : 1, LP_PAGE_SIZE);
    /* The image's parts in order, none overlapping. */
    assert(lay->stub_off >= p->sec[LP_SEC_TEXT].size && lay->exec_size >= lay->stub_off);
    assert(lay->rodata_off >= lay->exec_size && lay->data_off >= lay->rodata_off);
    assert(lay->bss_off >= lay->data_off && lay->got_off >= lay->bss_off);
    assert(lay->size >= end && lay->size % LP_PAGE_SIZE == 0);
    return 0;
}
