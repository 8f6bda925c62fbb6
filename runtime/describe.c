/*
 * describe.c - the human summary of a patch (what `lpatch info` prints).
 */
#include <inttypes.h>
#include <stdio.h>

#include "lp_internal.h"

const char *lp_sym_kind_name(uint32_t kind)
{
    switch (kind) {
    case LP_SYM_PATCH:
        return "patch";
    case LP_SYM_MODULE:
        return "module";
    case LP_SYM_DYNAMIC:
        return "dynamic";
    case LP_SYM_TLS:
        return "tls";
    }
    return "?";
}

static void describe_func(const struct lp_patch *p, const struct lp_func *f, FILE *out)
{
    const char *file = p->strtab + f->file;
    fprintf(out, "  %-7s %s", f->flags & LP_FUNC_NEW ? "new" : "replace", p->strtab + f->name);
    if (*file)
        fprintf(out, " (%s:%u)", file, f->line);
    if (f->flags & LP_FUNC_NEW)
        fprintf(out, "  new %u bytes", f->new_size);
    else
        fprintf(out, "  old 0x%" PRIx64 " %u bytes -> new %u bytes", f->old_addr, f->old_size,
                f->new_size);
    if (f->flags & LP_FUNC_LOCAL)
        fprintf(out, " [static]");
    if (f->flags & LP_FUNC_ALLOW_ACTIVE)
        fprintf(out, " [may be active]");
    fputc('\n', out);
}

void lp_patch_describe(const struct lp_patch *p, FILE *out)
{
    const struct lp_header *h = p->hdr;
    char hex[2 * LP_BUILD_ID_MAX + 1];
    fprintf(out, "patch:     %s\n", p->name);
    fprintf(out, "patch id:  %s\n", lp_hex(h->patch_id, 16, hex));
    fprintf(out, "module:    %s%s\n", p->strtab + h->module_name,
            h->flags & LP_HDR_MODULE_SHARED ? " (shared library)"
            : h->flags & LP_HDR_MODULE_PIC  ? " (PIE)"
                                            : " (fixed address)");
    fprintf(out, "old build: %s\n", lp_hex(h->old_build_id, h->old_build_id_len, hex));
    fprintf(out, "new build: %s\n", lp_hex(h->new_build_id, h->new_build_id_len, hex));
    fprintf(out,
            "sizes:     text %" PRIu64 ", rodata %" PRIu64 ", data %" PRIu64 ", bss %" PRIu64
            " bytes\n",
            p->sec[LP_SEC_TEXT].size, p->sec[LP_SEC_RODATA].size, p->sec[LP_SEC_DATA].size,
            p->sec[LP_SEC_BSS].size);
    unsigned by_kind[5] = {0};
    for (uint32_t i = 0; i < h->nsyms; i++)
        by_kind[p->syms[i].kind]++;
    fprintf(out, "symbols:   %u (", h->nsyms);
    for (uint32_t k = LP_SYM_PATCH; k <= LP_SYM_TLS; k++)
        fprintf(out, "%s%s %u", k == LP_SYM_PATCH ? "" : ", ", lp_sym_kind_name(k), by_kind[k]);
    fprintf(out, "), relocations: %u\n", h->nrelocs);
    fprintf(out, "functions: %u\n", h->nfuncs);
    for (uint32_t i = 0; i < h->nfuncs; i++)
        describe_func(p, &p->funcs[i], out);
    if (p->summary_len) {
        fprintf(out, "summary:\n");
        fwrite(p->summary, 1, p->summary_len, out);
        if (p->summary[p->summary_len - 1] != '\n')
            fputc('\n', out);
    }
}
