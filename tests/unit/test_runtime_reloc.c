/*
 * test_runtime_reloc.c - liblivepatch layout, GOT slots, call stubs, every
 * relocation type on a synthetic image (expected values computed by hand),
 * overflow and resolution errors, and the entry redirect encodings.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "liblivepatch.h"
#include "tap.h"

#define IMAGE 0x555555600000ull
#define BIAS  0x555555554000ull
#define FAR   0x7ffff7e00000ull

static int resolve(void *ctx, const struct lp_patch *p, const struct lp_sym *s, uint64_t *addr,
                   char *err)
{
    (void)ctx;
    if (strcmp(lp_patch_str(p, s->name), "printf") == 0) {
        *addr = FAR;
        return 0;
    }
    snprintf(err, LP_ERR_MAX, "no such symbol");
    return -1;
}

static void add_reloc(struct lp_writer *w, uint32_t sec, uint64_t off, uint32_t type, uint32_t sym,
                      int64_t addend)
{
    struct lp_reloc r = {.offset = off, .section = sec, .type = type, .sym = sym, .addend = addend};
    lp_writer_reloc(w, &r);
}

static uint32_t add_sym(struct lp_writer *w, uint32_t kind, const char *name, uint32_t sec,
                        uint64_t value)
{
    struct lp_sym s = {
        .kind = kind, .name = lp_writer_str(w, name), .section = sec, .value = value};
    return lp_writer_sym(w, &s);
}

static struct lp_patch *finish(struct lp_writer *w)
{
    uint8_t *buf;
    size_t len;
    char err[LP_ERR_MAX] = "";
    struct lp_patch *p = NULL;
    lp_writer_header(w, LP_HDR_MODULE_PIC, NULL, 0, NULL, 0, "mod");
    if (lp_writer_bytes(w, &buf, &len, NULL, err) == 0) {
        if (lp_patch_parse(buf, len, &p, err) < 0)
            printf("# %s\n", err);
        free(buf);
    } else {
        printf("# %s\n", err);
    }
    lp_writer_free(w);
    return p;
}

/* Every relocation kind of PIE / -fPIC code, including GOT-relative and TLS. */
static struct lp_patch *pic_patch(void)
{
    struct lp_writer *w = lp_writer_new();
    static const uint8_t zeros[0x100];
    lp_writer_append(w, LP_SEC_TEXT, zeros, sizeof zeros, 16);
    lp_writer_append(w, LP_SEC_RODATA, zeros, 16, 8);
    lp_writer_append(w, LP_SEC_DATA, zeros, 16, 8);
    lp_writer_append(w, LP_SEC_BSS, NULL, 16, 8);
    uint32_t mfunc = add_sym(w, LP_SYM_MODULE, "mfunc", 0, 0x1130);
    uint32_t lc0 = add_sym(w, LP_SYM_PATCH, ".LC0", LP_SEC_RODATA, 0);
    uint32_t pf = add_sym(w, LP_SYM_DYNAMIC, "printf", 0, 0);
    uint32_t tv = add_sym(w, LP_SYM_TLS, "tvar", 0, 0x10);
    uint32_t pd = add_sym(w, LP_SYM_PATCH, "pd", LP_SEC_DATA, 8);
    uint32_t mvar = add_sym(w, LP_SYM_MODULE, "mvar", 0, 0x4000);
    const uint32_t T = LP_SEC_TEXT;
    add_reloc(w, T, 0x00, R_X86_64_PC32, mfunc, -4);
    add_reloc(w, T, 0x04, R_X86_64_PLT32, mfunc, -4);
    add_reloc(w, T, 0x08, R_X86_64_PLT32, pf, -4);
    add_reloc(w, T, 0x10, R_X86_64_GOTPCREL, mvar, -4);
    add_reloc(w, T, 0x14, R_X86_64_GOTPCRELX, mfunc, -4);
    add_reloc(w, T, 0x18, R_X86_64_REX_GOTPCRELX, mvar, -4);
    add_reloc(w, T, 0x1c, R_X86_64_GOTPC32, lc0, -4);
    add_reloc(w, T, 0x20, R_X86_64_GOTOFF64, lc0, 0);
    add_reloc(w, T, 0x28, R_X86_64_PC64, pd, 0);
    add_reloc(w, T, 0x30, R_X86_64_TPOFF32, tv, 0);
    add_reloc(w, T, 0x34, R_X86_64_GOTTPOFF, tv, -4);
    add_reloc(w, T, 0x38, R_X86_64_TLSGD, tv, -4);
    add_reloc(w, T, 0x3c, R_X86_64_TLSLD, tv, -4);
    add_reloc(w, T, 0x40, R_X86_64_DTPOFF32, tv, 4);
    add_reloc(w, T, 0x48, R_X86_64_DTPOFF64, tv, 0);
    add_reloc(w, T, 0x50, R_X86_64_TPOFF64, tv, 8);
    add_reloc(w, T, 0x58, R_X86_64_64, lc0, 2);
    add_reloc(w, LP_SEC_RODATA, 8, R_X86_64_64, pd, 0);
    add_reloc(w, LP_SEC_DATA, 0, R_X86_64_64, mfunc, 0);
    add_reloc(w, T, 0x60, R_X86_64_PC32, pd, -4);
    add_reloc(w, T, 0x64, R_X86_64_GOTTPOFF, tv, -4); /* shares the TP-offset slot */
    /* large code model */
    add_reloc(w, T, 0x68, R_X86_64_GOTPC64, lc0, 0);
    add_reloc(w, T, 0x70, R_X86_64_GOT64, mvar, 0);
    add_reloc(w, T, 0x78, R_X86_64_GOTPCREL64, mfunc, 4);
    add_reloc(w, T, 0x80, R_X86_64_GOTPLT64, pf, 2);
    add_reloc(w, T, 0x88, R_X86_64_PLTOFF64, pf, 0);
    /* TLS descriptors */
    add_reloc(w, T, 0x90, R_X86_64_GOTPC32_TLSDESC, tv, -4);
    add_reloc(w, T, 0x94, R_X86_64_TLSDESC_CALL, tv, 0);
    struct lp_func f = {.name = lp_writer_str(w, "f"), .flags = LP_FUNC_NEW, .new_size = 0x100};
    lp_writer_func(w, &f);
    return finish(w);
}

static int64_t s32(const uint8_t *img, uint64_t off)
{
    int32_t v;
    memcpy(&v, img + off, 4);
    return v;
}

static uint64_t u64(const uint8_t *img, uint64_t off)
{
    uint64_t v;
    memcpy(&v, img + off, 8);
    return v;
}

TEST(layout_places_sections_and_got)
{
    struct lp_patch *p = pic_patch();
    CHECK(p != NULL);
    if (!p)
        return;
    struct lp_layout lay;
    char err[LP_ERR_MAX];
    CHECK_EQ_INT(lp_layout_compute(p, &lay, err), 0);
    CHECK_EQ_INT(lay.text_off, 0);
    CHECK_EQ_INT(lay.stub_off, 0x100);
    CHECK_EQ_INT(lay.nstubs, 2); /* printf, TLS descriptor resolver */
    CHECK_EQ_INT(lay.exec_size, 0x1000);
    CHECK_EQ_INT(lay.rodata_off, 0x1000);
    CHECK_EQ_INT(lay.data_off, 0x1010);
    CHECK_EQ_INT(lay.bss_off, 0x1020);
    CHECK_EQ_INT(lay.got_off, 0x1030);
    /* printf(1) + mvar(1, shared by GOTPCREL and REX_GOTPCRELX) + mfunc(1)
     * + tvar TP offset(1, shared) + TLSGD(2) + TLSLD(2) + descriptor(2);
     * the large-model GOT64/GOTPCREL64/GOTPLT64 share the address slots */
    CHECK_EQ_INT(lay.ngot, 10);
    CHECK_EQ_INT(lay.size, 0x2000);
    lp_patch_free(p);
}

TEST(every_relocation_type_on_pic_image)
{
    struct lp_patch *p = pic_patch();
    if (!p) {
        CHECK(0);
        return;
    }
    struct lp_layout lay;
    char err[LP_ERR_MAX] = "";
    lp_layout_compute(p, &lay, err);
    uint8_t *img = malloc(lay.size);
    struct lp_target t = {.load_bias = BIAS,
                          .image_addr = IMAGE,
                          .has_static_tls = 1,
                          .tls_tpoff = -0x40,
                          .tls_modid = 1,
                          .resolve = resolve};
    int rc = lp_relocate(p, &lay, &t, img, err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        printf("# %s\n", err);
    CHECK_EQ_INT(s32(img, 0x00), -0xaaed4);         /* PC32 to module function */
    CHECK_EQ_INT(s32(img, 0x04), -0xaaed8);         /* PLT32 near: direct */
    CHECK_EQ_INT(s32(img, 0x08), 0xf4);             /* PLT32 far: via stub at 0x100 */
    CHECK_EQ_INT(s32(img, 0x10), 0x1024);           /* GOTPCREL -> slot 1 */
    CHECK_EQ_INT(s32(img, 0x14), 0x1028);           /* GOTPCRELX -> slot 2 */
    CHECK_EQ_INT(s32(img, 0x18), 0x101c);           /* REX_GOTPCRELX -> slot 1 again */
    CHECK_EQ_INT(s32(img, 0x1c), 0x1010);           /* GOTPC32 */
    CHECK_EQ_INT(u64(img, 0x20), (uint64_t)-0x30);  /* GOTOFF64 */
    CHECK_EQ_INT(u64(img, 0x28), 0xff0);            /* PC64 */
    CHECK_EQ_INT(s32(img, 0x30), -0x30);            /* TPOFF32 */
    CHECK_EQ_INT(s32(img, 0x34), 0x1010);           /* GOTTPOFF -> slot 3 */
    CHECK_EQ_INT(s32(img, 0x38), 0x1014);           /* TLSGD -> slots 4,5 */
    CHECK_EQ_INT(s32(img, 0x3c), 0x1020);           /* TLSLD -> slots 6,7 */
    CHECK_EQ_INT(s32(img, 0x40), 0x14);             /* DTPOFF32 */
    CHECK_EQ_INT(u64(img, 0x48), 0x10);             /* DTPOFF64 */
    CHECK_EQ_INT(u64(img, 0x50), (uint64_t)-0x28);  /* TPOFF64 */
    CHECK_EQ_INT(u64(img, 0x58), 0x555555601002);   /* 64 */
    CHECK_EQ_INT(u64(img, 0x1008), 0x555555601018); /* 64 inside .lp.rodata */
    CHECK_EQ_INT(u64(img, 0x1010), 0x555555555130); /* 64 inside .lp.data */
    CHECK_EQ_INT(s32(img, 0x60), 0xfb4);            /* PC32 to patch data */
    CHECK_EQ_INT(s32(img, 0x64), 0x1048 - 4 - 0x64);
    CHECK_EQ_INT(u64(img, 0x68), 0xfc8);          /* GOTPC64 */
    CHECK_EQ_INT(u64(img, 0x70), 8);              /* GOT64: slot 1 from GOT */
    CHECK_EQ_INT(u64(img, 0x78), 0xfcc);          /* GOTPCREL64 -> slot 2 */
    CHECK_EQ_INT(u64(img, 0x80), 2);              /* GOTPLT64: slot 0 + 2 */
    CHECK_EQ_INT(u64(img, 0x88), 0x2aaaa27fefd0); /* PLTOFF64 */
    CHECK_EQ_INT(s32(img, 0x90), 0xfdc);          /* GOTPC32_TLSDESC -> slots 8,9 */
    CHECK_EQ_INT(s32(img, 0x94), 0);              /* TLSDESC_CALL: untouched */
    CHECK_EQ_INT(u64(img, 0x1070), IMAGE + 0x108);
    CHECK_EQ_INT(u64(img, 0x1078), (uint64_t)-0x30);
    static const uint8_t resolver[] = {0x48, 0x8b, 0x40, 0x08, 0xc3};
    CHECK(memcmp(img + 0x108, resolver, sizeof resolver) == 0);
    /* GOT contents */
    CHECK_EQ_INT(u64(img, 0x1030), FAR);
    CHECK_EQ_INT(u64(img, 0x1038), 0x555555558000);
    CHECK_EQ_INT(u64(img, 0x1040), 0x555555555130);
    CHECK_EQ_INT(u64(img, 0x1048), (uint64_t)-0x30);
    CHECK_EQ_INT(u64(img, 0x1050), 1);
    CHECK_EQ_INT(u64(img, 0x1058), 0x10);
    CHECK_EQ_INT(u64(img, 0x1060), 1);
    CHECK_EQ_INT(u64(img, 0x1068), 0);
    /* stub 0: jmp *0xf2a(%rip) to slot 0; int3 int3; int3 fill after stub 1 */
    static const uint8_t stub[] = {0xff, 0x25, 0x2a, 0x0f, 0, 0, 0xcc, 0xcc};
    CHECK(memcmp(img + 0x100, stub, sizeof stub) == 0);
    CHECK_EQ_INT(img[0x110], 0xcc);
    CHECK_EQ_INT(img[0xfff], 0xcc);
    CHECK_EQ_INT(u64(img, 0x1020), 0); /* bss zero */
    free(img);
    lp_patch_free(p);
}

/* Non-PIC (fixed-address) code: absolute 32-bit forms. */
TEST(absolute_relocations_and_overflow)
{
    struct lp_writer *w = lp_writer_new();
    static const uint8_t zeros[32];
    lp_writer_append(w, LP_SEC_TEXT, zeros, sizeof zeros, 16);
    lp_writer_append(w, LP_SEC_RODATA, zeros, 8, 8);
    uint32_t m = add_sym(w, LP_SYM_MODULE, "mdata", 0, 0x401000);
    uint32_t ro = add_sym(w, LP_SYM_PATCH, ".LC1", LP_SEC_RODATA, 4);
    add_reloc(w, LP_SEC_TEXT, 0, R_X86_64_32, m, 8);
    add_reloc(w, LP_SEC_TEXT, 4, R_X86_64_32S, ro, 0);
    add_reloc(w, LP_SEC_TEXT, 8, R_X86_64_64, m, -1);
    add_reloc(w, LP_SEC_TEXT, 16, R_X86_64_32S, m, -0x402000);
    struct lp_patch *p = finish(w);
    CHECK(p != NULL);
    if (!p)
        return;
    struct lp_layout lay;
    char err[LP_ERR_MAX] = "";
    lp_layout_compute(p, &lay, err);
    uint8_t *img = malloc(lay.size);
    struct lp_target t = {.load_bias = 0, .image_addr = 0x800000};
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), 0);
    uint32_t v32;
    memcpy(&v32, img, 4);
    CHECK_EQ_INT(v32, 0x401008);
    CHECK_EQ_INT(s32(img, 4), 0x801004);
    CHECK_EQ_INT(u64(img, 8), 0x400fff);
    CHECK_EQ_INT(s32(img, 16), -0x1000);

    /* The same patch in a high address space: the 32-bit forms overflow. */
    t.load_bias = 0x7f0000000000;
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), -1);
    CHECK(strstr(err, ".lp.relocs[0]: R_X86_64_32 to 'mdata' out of range: value "
                      "0x7f0000401008 does not fit 32 bits unsigned") != NULL);
    t.load_bias = 0;
    t.image_addr = 0x80000000;
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), -1);
    CHECK(strstr(err, ".lp.relocs[1]: R_X86_64_32S to '.LC1' out of range: value 0x80001004 "
                      "does not fit 32 bits signed") != NULL);
    t.image_addr = 0x800000;
    struct lp_layout other = lay;
    other.size -= 0x1000; /* e.g. the layout of another patch */
    CHECK_EQ_INT(lp_relocate(p, &other, &t, img, err), -1);
    CHECK(strstr(err, "layout was computed for another patch") != NULL);
    t.image_addr = 0x800123;
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), -1);
    CHECK(strstr(err, "not page-aligned") != NULL);
    free(img);
    lp_patch_free(p);
}

TEST(resolution_and_tls_errors)
{
    struct lp_writer *w = lp_writer_new();
    static const uint8_t zeros[16];
    lp_writer_append(w, LP_SEC_TEXT, zeros, sizeof zeros, 16);
    uint32_t q = add_sym(w, LP_SYM_DYNAMIC, "qsort_nope", 0, 0);
    uint32_t pf = add_sym(w, LP_SYM_DYNAMIC, "printf", 0, 0);
    uint32_t tv = add_sym(w, LP_SYM_TLS, "tv", 0, 0);
    add_reloc(w, LP_SEC_TEXT, 0, R_X86_64_PC32, pf, -4);
    add_reloc(w, LP_SEC_TEXT, 4, R_X86_64_TPOFF32, tv, 0);
    add_reloc(w, LP_SEC_TEXT, 8, R_X86_64_PLT32, q, -4);
    struct lp_patch *p = finish(w);
    if (!p) {
        CHECK(0);
        return;
    }
    struct lp_layout lay;
    char err[LP_ERR_MAX] = "";
    lp_layout_compute(p, &lay, err);
    CHECK_EQ_INT(lay.nstubs, 1); /* only PLT32 calls get stubs */
    uint8_t *img = malloc(lay.size);
    struct lp_target t = {.load_bias = BIAS, .image_addr = IMAGE};
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), -1); /* no resolver */
    CHECK(strstr(err, "cannot resolve 'qsort_nope': no resolver given") != NULL);
    t.resolve = resolve;
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), -1);
    CHECK(strstr(err, "cannot resolve 'qsort_nope': no such symbol") != NULL);
    free(img);
    lp_patch_free(p);

    /* PC32 data reference to a far library symbol cannot be fixed by a stub. */
    w = lp_writer_new();
    lp_writer_append(w, LP_SEC_TEXT, zeros, sizeof zeros, 16);
    pf = add_sym(w, LP_SYM_DYNAMIC, "printf", 0, 0);
    tv = add_sym(w, LP_SYM_TLS, "tv", 0, 0);
    add_reloc(w, LP_SEC_TEXT, 0, R_X86_64_PC32, pf, -4);
    add_reloc(w, LP_SEC_TEXT, 4, R_X86_64_TPOFF32, tv, 0);
    p = finish(w);
    lp_layout_compute(p, &lay, err);
    img = malloc(lay.size);
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), -1);
    CHECK(strstr(err, ".lp.relocs[0]: R_X86_64_PC32 to 'printf' out of range: value "
                      "0x2aaaa27ffffc does not fit 32 bits signed") != NULL);
    free(img);
    lp_patch_free(p);

    w = lp_writer_new();
    lp_writer_append(w, LP_SEC_TEXT, zeros, sizeof zeros, 16);
    tv = add_sym(w, LP_SYM_TLS, "tv", 0, 0);
    add_reloc(w, LP_SEC_TEXT, 4, R_X86_64_TPOFF32, tv, 0);
    add_reloc(w, LP_SEC_TEXT, 8, R_X86_64_TLSGD, tv, -4);
    p = finish(w);
    lp_layout_compute(p, &lay, err);
    img = malloc(lay.size);
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), -1);
    CHECK(strstr(err, "R_X86_64_TLSGD for 'tv' needs the module's TLS module id") != NULL);
    t.tls_modid = 2;
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), -1);
    CHECK(strstr(err, "R_X86_64_TPOFF32 'tv' needs the module's TLS at a fixed") != NULL);
    t.has_static_tls = 1;
    t.tls_tpoff = -0x100;
    CHECK_EQ_INT(lp_relocate(p, &lay, &t, img, err), 0);
    CHECK_EQ_INT(s32(img, 4), -0x100);
    CHECK_EQ_INT(u64(img, lay.got_off), 2);
    free(img);
    lp_patch_free(p);
}

TEST(redirect_near_and_far)
{
    struct lp_redirect r;
    char err[LP_ERR_MAX] = "";
    CHECK_EQ_INT(lp_redirect_encode(0x401000, 0, 16, 0x500000, &r, err), 0);
    static const uint8_t near[] = {0xe9, 0x0b, 0xf0, 0x0f, 0x00};
    CHECK_EQ_INT(r.pad_addr, 0x400ff0);
    CHECK_EQ_INT(r.pad_len, 5);
    CHECK(memcmp(r.pad, near, 5) == 0);
    CHECK_EQ_INT(r.entry_addr, 0x401000);
    CHECK_EQ_INT(r.entry[0], 0xeb);
    CHECK_EQ_INT(r.entry[1], 0xee); /* -0x12: back to the pad start */
    CHECK(r.entry_orig[0] == 0x66 && r.entry_orig[1] == 0x90);

    /* After endbr64 the entry is at +4. */
    CHECK_EQ_INT(lp_redirect_encode(0x401000, 4, 16, 0x300000, &r, err), 0);
    CHECK_EQ_INT(r.entry_addr, 0x401004);
    CHECK_EQ_INT(r.entry[1], 0xea);
    int32_t rel;
    memcpy(&rel, r.pad + 1, 4);
    CHECK_EQ_INT(rel, 0x300000 - 0x400ff5);

    /* Beyond rel32: absolute indirect jump. */
    CHECK_EQ_INT(lp_redirect_encode(0x401000, 0, 16, 0x7f1234567000, &r, err), 0);
    static const uint8_t far[] = {0xff, 0x25, 0, 0, 0, 0, 0x00, 0x70, 0x56, 0x34, 0x12, 0x7f, 0, 0};
    CHECK_EQ_INT(r.pad_len, 14);
    CHECK(memcmp(r.pad, far, 14) == 0);

    /* rel32 boundary: exactly INT32_MAX from the end of the jump is near. */
    CHECK_EQ_INT(lp_redirect_encode(0x401000, 0, 16, 0x400ff5 + 0x7fffffffull, &r, err), 0);
    CHECK_EQ_INT(r.pad_len, 5);
    CHECK_EQ_INT(lp_redirect_encode(0x401000, 0, 16, 0x400ff5 + 0x80000000ull, &r, err), 0);
    CHECK_EQ_INT(r.pad_len, 14);

    CHECK_EQ_INT(lp_redirect_encode(0x401000, 0, 8, 0x7f1234567000, &r, err), -1);
    CHECK(strstr(err, "too small for an absolute jump") != NULL);
    CHECK_EQ_INT(lp_redirect_encode(0x401000, 0, 8, 0x402000, &r, err), 0);
    CHECK_EQ_INT(lp_redirect_encode(0x401000, 0, 3, 0x402000, &r, err), -1);
    CHECK_EQ_INT(lp_redirect_encode(0x401000, 120, 16, 0x402000, &r, err), -1);
    CHECK(strstr(err, "beyond a short jump") != NULL);
}

int main(void)
{
    RUN(layout_places_sections_and_got);
    RUN(every_relocation_type_on_pic_image);
    RUN(absolute_relocations_and_overflow);
    RUN(resolution_and_tls_errors);
    RUN(redirect_near_and_far);
    return tap_done();
}
