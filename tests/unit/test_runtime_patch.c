/*
 * test_runtime_patch.c - liblivepatch writer and loader: round trip,
 * determinism, one test per validation failure class, and corruption fuzz.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "liblivepatch.h"
#include "tap.h"

static const uint8_t old_bid[20] = {0xaa, 0xbb, 0xcc, 1,  2,  3,  4,  5,  6,  7,
                                    8,    9,    10,   11, 12, 13, 14, 15, 16, 17};
static const uint8_t new_bid[20] = {0x11, 0x22};

/* Something like what lpdiff writes for one replaced function calling a
 * module function, reading a rodata string, and a TLS variable. */
static struct lp_writer *sample_writer(void)
{
    struct lp_writer *w = lp_writer_new();
    static const uint8_t code[32] = {0x55, 0xe8, 0, 0, 0, 0, 0x48, 0x8d, 0x3d, 0, 0, 0, 0, 0xc3};
    uint64_t text = lp_writer_append(w, LP_SEC_TEXT, code, sizeof code, 16);
    uint64_t ro = lp_writer_append(w, LP_SEC_RODATA, "hello", 6, 8);
    lp_writer_append(w, LP_SEC_DATA, "\x01\x02\x03\x04", 4, 4);
    uint64_t bss = lp_writer_append(w, LP_SEC_BSS, NULL, 24, 8);
    struct lp_sym s_mod = {
        .kind = LP_SYM_MODULE, .name = lp_writer_str(w, "helper"), .value = 0x1130, .size = 10};
    struct lp_sym s_ro = {.kind = LP_SYM_PATCH,
                          .name = lp_writer_str(w, ".LC0"),
                          .section = LP_SEC_RODATA,
                          .value = ro,
                          .size = 6};
    struct lp_sym s_bss = {.kind = LP_SYM_PATCH,
                           .name = lp_writer_str(w, "counter"),
                           .section = LP_SEC_BSS,
                           .value = bss,
                           .size = 8};
    uint32_t i_mod = lp_writer_sym(w, &s_mod), i_ro = lp_writer_sym(w, &s_ro);
    lp_writer_sym(w, &s_bss);
    struct lp_reloc r1 = {
        .offset = 2, .section = LP_SEC_TEXT, .type = R_X86_64_PLT32, .sym = i_mod, .addend = -4};
    struct lp_reloc r2 = {
        .offset = 9, .section = LP_SEC_TEXT, .type = R_X86_64_PC32, .sym = i_ro, .addend = -4};
    lp_writer_reloc(w, &r1);
    lp_writer_reloc(w, &r2);
    struct lp_func f = {.name = lp_writer_str(w, "greet"),
                        .flags = LP_FUNC_LOCAL,
                        .unit_id = 77,
                        .old_addr = 0x1200,
                        .old_size = 40,
                        .old_entry_off = 0,
                        .old_prepad = 16,
                        .new_off = text,
                        .new_size = 14,
                        .file = lp_writer_str(w, "src/greet.c"),
                        .line = 12};
    lp_writer_func(w, &f);
    lp_writer_header(w, LP_HDR_MODULE_PIC, old_bid, 20, new_bid, 20, "server");
    lp_writer_summary(w, "greet: fix off-by-one (src/greet.c:12)\n");
    return w;
}

static uint8_t *sample_bytes(size_t *len)
{
    struct lp_writer *w = sample_writer();
    uint8_t *buf = NULL;
    char err[LP_ERR_MAX];
    if (lp_writer_bytes(w, &buf, len, NULL, err) < 0)
        printf("# %s\n", err);
    lp_writer_free(w);
    return buf;
}

TEST(round_trip_through_file)
{
    char path[] = "/tmp/lp-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct lp_writer *w = sample_writer();
    char err[LP_ERR_MAX] = "";
    uint8_t id[16];
    CHECK_EQ_INT(lp_writer_write(w, path, id, err), 0);
    lp_writer_free(w);
    struct lp_patch *p = NULL;
    int rc = lp_patch_load(path, &p, err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        printf("# %s\n", err);
        unlink(path);
        return;
    }
    const struct lp_header *h = lp_patch_header(p);
    CHECK(memcmp(h->patch_id, id, 16) == 0);
    CHECK_EQ_INT(h->version, LP_FORMAT_VERSION);
    CHECK_EQ_INT(h->flags, LP_HDR_MODULE_PIC);
    CHECK_EQ_INT(h->old_build_id_len, 20);
    CHECK(memcmp(h->old_build_id, old_bid, 20) == 0);
    CHECK_STR(lp_patch_str(p, h->module_name), "server");
    CHECK_STR(lp_patch_name(p), path);
    uint32_t n;
    const struct lp_func *f = lp_patch_funcs(p, &n);
    CHECK_EQ_INT(n, 1);
    CHECK_STR(lp_patch_str(p, f[0].name), "greet");
    CHECK_STR(lp_patch_str(p, f[0].file), "src/greet.c");
    CHECK_EQ_INT(f[0].old_addr, 0x1200);
    CHECK_EQ_INT(f[0].unit_id, 77);
    const struct lp_sym *s = lp_patch_syms(p, &n);
    CHECK_EQ_INT(n, 3);
    CHECK_STR(lp_patch_str(p, s[1].name), ".LC0");
    CHECK_EQ_INT(s[2].section, LP_SEC_BSS);
    const struct lp_reloc *r = lp_patch_relocs(p, &n);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(r[0].type, R_X86_64_PLT32);
    CHECK_EQ_INT(r[1].addend, -4);
    uint64_t size;
    const uint8_t *text = lp_patch_section(p, LP_SEC_TEXT, &size);
    CHECK_EQ_INT(size, 32);
    CHECK(text && text[0] == 0x55 && text[13] == 0xc3);
    const uint8_t *ro = lp_patch_section(p, LP_SEC_RODATA, &size);
    CHECK(ro && size == 6 && strcmp((const char *)ro, "hello") == 0);
    CHECK(lp_patch_section(p, LP_SEC_BSS, &size) == NULL);
    CHECK_EQ_INT(size, 24);
    size_t slen;
    const char *sum = lp_patch_summary(p, &slen);
    CHECK(slen > 0 && strncmp(sum, "greet: fix", 10) == 0);
    lp_patch_free(p);
    unlink(path);
}

TEST(output_is_deterministic_and_strings_interned)
{
    size_t a_len, b_len;
    uint8_t *a = sample_bytes(&a_len), *b = sample_bytes(&b_len);
    CHECK(a && b && a_len == b_len && memcmp(a, b, a_len) == 0);
    free(a);
    free(b);
    struct lp_writer *w = lp_writer_new();
    uint32_t x = lp_writer_str(w, "abc"), y = lp_writer_str(w, "def");
    CHECK_EQ_INT(lp_writer_str(w, "abc"), x);
    CHECK(x != y && x != 0);
    CHECK_EQ_INT(lp_writer_str(w, ""), 0);
    for (int i = 0; i < 2000; i++) { /* rehashing keeps offsets */
        char s[32];
        snprintf(s, sizeof s, "sym%d", i);
        lp_writer_str(w, s);
    }
    CHECK_EQ_INT(lp_writer_str(w, "def"), y);
    lp_writer_free(w);
}

TEST(elf_container_is_readable)
{
    size_t len;
    uint8_t *buf = sample_bytes(&len);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
    CHECK_EQ_INT(eh->e_type, ET_REL);
    CHECK_EQ_INT(eh->e_machine, EM_X86_64);
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
    const char *shstr = (const char *)buf + sh[eh->e_shstrndx].sh_offset;
    CHECK_STR(shstr + sh[1].sh_name, ".lp.header");
    CHECK_STR(shstr + sh[2].sh_name, ".lp.text");
    CHECK(sh[2].sh_flags & SHF_EXECINSTR);
    CHECK_EQ_INT(sh[2].sh_addralign, 16);
    CHECK_EQ_INT(sh[5].sh_type, SHT_NOBITS);
    CHECK_STR(shstr + sh[eh->e_shstrndx].sh_name, ".shstrtab");
    free(buf);
}

/* Writes a sample patch changed by `edit`, expects the loader to reject it
 * with a message containing `expect`. */
static void expect_rejected(void (*edit)(struct lp_writer *), const char *expect)
{
    struct lp_writer *w = sample_writer();
    edit(w);
    uint8_t *buf;
    size_t len;
    char err[LP_ERR_MAX] = "";
    if (lp_writer_bytes(w, &buf, &len, NULL, err) < 0) {
        printf("# writer: %s\n", err);
        CHECK(0);
        lp_writer_free(w);
        return;
    }
    lp_writer_free(w);
    struct lp_patch *p = NULL;
    int rc = lp_patch_parse_named(buf, len, "bad.lpatch", &p, err);
    CHECK_EQ_INT(rc, -1);
    CHECK(p == NULL);
    if (!strstr(err, expect) || strncmp(err, "bad.lpatch: ", 12) != 0) {
        printf("# message \"%s\" lacks \"%s\"\n", err, expect);
        CHECK(0);
    }
    lp_patch_free(p);
    free(buf);
}

static void bad_reloc_offset(struct lp_writer *w)
{
    struct lp_reloc r = {.offset = 30, .section = LP_SEC_TEXT, .type = R_X86_64_PC32, .sym = 0};
    lp_writer_reloc(w, &r);
}
static void bad_reloc_64_at_end(struct lp_writer *w)
{
    struct lp_reloc r = {.offset = 2, .section = LP_SEC_RODATA, .type = R_X86_64_64, .sym = 0};
    lp_writer_reloc(w, &r);
}
static void bad_reloc_sym(struct lp_writer *w)
{
    struct lp_reloc r = {.offset = 0, .section = LP_SEC_TEXT, .type = R_X86_64_PC32, .sym = 3};
    lp_writer_reloc(w, &r);
}
static void bad_reloc_type(struct lp_writer *w)
{
    struct lp_reloc r = {.offset = 0, .section = LP_SEC_TEXT, .type = R_X86_64_COPY, .sym = 0};
    lp_writer_reloc(w, &r);
}
static void bad_reloc_section(struct lp_writer *w)
{
    struct lp_reloc r = {.offset = 0, .section = LP_SEC_BSS, .type = R_X86_64_64, .sym = 0};
    lp_writer_reloc(w, &r);
}
static void bad_reloc_tls_mismatch(struct lp_writer *w)
{
    struct lp_reloc r = {.offset = 0, .section = LP_SEC_TEXT, .type = R_X86_64_TPOFF32, .sym = 0};
    lp_writer_reloc(w, &r);
}
static void bad_sym_kind(struct lp_writer *w)
{
    struct lp_sym s = {.kind = 9};
    lp_writer_sym(w, &s);
}
static void bad_sym_beyond_section(struct lp_writer *w)
{
    struct lp_sym s = {.kind = LP_SYM_PATCH, .section = LP_SEC_DATA, .value = 2, .size = 4};
    lp_writer_sym(w, &s);
}
static void bad_sym_section(struct lp_writer *w)
{
    struct lp_sym s = {.kind = LP_SYM_PATCH, .section = 7};
    lp_writer_sym(w, &s);
}
static void bad_sym_name(struct lp_writer *w)
{
    struct lp_sym s = {.kind = LP_SYM_MODULE, .name = 100000};
    lp_writer_sym(w, &s);
}
static void bad_dynamic_unnamed(struct lp_writer *w)
{
    struct lp_sym s = {.kind = LP_SYM_DYNAMIC};
    lp_writer_sym(w, &s);
}
static void bad_func_name(struct lp_writer *w)
{
    struct lp_func f = {.name = 99999, .flags = LP_FUNC_NEW, .new_size = 1};
    lp_writer_func(w, &f);
}
static void bad_func_code(struct lp_writer *w)
{
    struct lp_func f = {
        .name = lp_writer_str(w, "g"), .flags = LP_FUNC_NEW, .new_off = 20, .new_size = 13};
    lp_writer_func(w, &f);
}
static void bad_func_flags(struct lp_writer *w)
{
    struct lp_func f = {.name = lp_writer_str(w, "g"), .flags = 0x80 | LP_FUNC_NEW, .new_size = 4};
    lp_writer_func(w, &f);
}
static void bad_func_prepad(struct lp_writer *w)
{
    struct lp_func f = {.name = lp_writer_str(w, "g"),
                        .old_addr = 0x3000,
                        .old_size = 20,
                        .old_prepad = 8,
                        .new_size = 4};
    lp_writer_func(w, &f);
}
static void bad_func_entry(struct lp_writer *w)
{
    struct lp_func f = {.name = lp_writer_str(w, "g"),
                        .old_addr = 0x3000,
                        .old_size = 5,
                        .old_entry_off = 4,
                        .old_prepad = 16,
                        .new_size = 4};
    lp_writer_func(w, &f);
}
static void bad_func_twice(struct lp_writer *w)
{
    struct lp_func f = {.name = lp_writer_str(w, "greet2"),
                        .old_addr = 0x1200,
                        .old_size = 40,
                        .old_prepad = 16,
                        .new_size = 4};
    lp_writer_func(w, &f);
}
static void bad_header_flags(struct lp_writer *w)
{
    lp_writer_header(w, 0x100, old_bid, 20, new_bid, 20, "server");
}

TEST(every_validation_class_is_rejected_with_place)
{
    expect_rejected(bad_reloc_offset, ".lp.relocs[2]: offset 0x1e beyond .lp.text (size 0x20)");
    expect_rejected(bad_reloc_64_at_end, ".lp.relocs[2]: offset 0x2 beyond .lp.rodata");
    expect_rejected(bad_reloc_sym, ".lp.relocs[2]: symbol index 3 beyond .lp.syms (3 symbols)");
    expect_rejected(bad_reloc_type, ".lp.relocs[2]: unsupported relocation type 5");
    expect_rejected(bad_reloc_section, ".lp.relocs[2]: section 4 cannot hold fixups");
    expect_rejected(bad_reloc_tls_mismatch, "R_X86_64_TPOFF32 against a non-TLS symbol 'helper'");
    expect_rejected(bad_sym_kind, ".lp.syms[3] '': unknown kind 9");
    expect_rejected(bad_sym_beyond_section, ".lp.syms[3] '': [0x2, +0x4) beyond .lp.data");
    expect_rejected(bad_sym_section, ".lp.syms[3] '': unknown section 7");
    expect_rejected(bad_sym_name, ".lp.syms[3]: name offset 0x186a0 beyond .lp.strtab");
    expect_rejected(bad_dynamic_unnamed, ".lp.syms[3]: dynamic symbol without a name");
    expect_rejected(bad_func_name, ".lp.funcs[1]: name offset 0x1869f is not a string");
    expect_rejected(bad_func_code, ".lp.funcs[1] 'g': new code [0x14, +0xd) not inside .lp.text");
    expect_rejected(bad_func_flags, ".lp.funcs[1] 'g': unknown flags 0x80");
    expect_rejected(bad_func_prepad, ".lp.funcs[1] 'g': pad of 8 bytes before the entry");
    expect_rejected(bad_func_entry, ".lp.funcs[1] 'g': entry at +4 outside the old function");
    expect_rejected(bad_func_twice, "old function 0x1200 already redirected by [0]");
    expect_rejected(bad_header_flags, ".lp.header: unknown flags 0x100");
}

/* Edit a sealed sample at `off`, reseal, expect rejection containing `expect`. */
static void expect_raw_rejected(size_t off, const void *bytes, size_t n, int reseal,
                                const char *expect)
{
    size_t len;
    uint8_t *buf = sample_bytes(&len);
    memcpy(buf + off, bytes, n);
    char err[LP_ERR_MAX] = "";
    if (reseal)
        lp_patch_seal(buf, len, err);
    struct lp_patch *p = NULL;
    CHECK_EQ_INT(lp_patch_parse_named(buf, len, "bad.lpatch", &p, err), -1);
    if (!strstr(err, expect)) {
        printf("# message \"%s\" lacks \"%s\"\n", err, expect);
        CHECK(0);
    }
    lp_patch_free(p);
    free(buf);
}

TEST(header_and_container_failures)
{
    const size_t hdr = sizeof(Elf64_Ehdr); /* the writer puts .lp.header first */
    expect_raw_rejected(0,
                        "\x7f"
                        "ELG",
                        4, 0, "not an ELF file");
    expect_raw_rejected(hdr, "LPATCX", 6, 1, ".lp.header: bad magic");
    uint32_t v = 7;
    expect_raw_rejected(hdr + 8, &v, 4, 1, "format version 7");
    uint64_t sum = 1;
    expect_raw_rejected(hdr + 24, &sum, 8, 0, "checksum mismatch");
    expect_raw_rejected(hdr + 32, "\1", 1, 0, "checksum mismatch");
    uint32_t nf = 2;
    expect_raw_rejected(hdr + offsetof(struct lp_header, nfuncs), &nf, 4, 1,
                        ".lp.funcs: size 0x40 does not hold header.nfuncs = 2");
    /* Huge counts (a corrupt or hostile header) are refused against the
     * section sizes before anything is allocated for them. */
    uint32_t huge = UINT32_MAX;
    expect_raw_rejected(hdr + offsetof(struct lp_header, nfuncs), &huge, 4, 1,
                        "does not hold header.nfuncs = 4294967295");
    expect_raw_rejected(hdr + offsetof(struct lp_header, nsyms), &huge, 4, 1,
                        "does not hold header.nsyms = 4294967295");
    expect_raw_rejected(hdr + offsetof(struct lp_header, nrelocs), &huge, 4, 1,
                        "does not hold header.nrelocs = 4294967295");
    uint32_t blen = 33;
    expect_raw_rejected(hdr + offsetof(struct lp_header, old_build_id_len), &blen, 4, 1,
                        "build-id length 33/20 exceeds 32");
    uint32_t mod = 5000;
    expect_raw_rejected(hdr + offsetof(struct lp_header, module_name), &mod, 4, 1,
                        "module_name offset 0x1388 beyond .lp.strtab");

    /* patch_id is checked separately from the checksum. */
    size_t len;
    uint8_t *buf = sample_bytes(&len);
    buf[hdr + offsetof(struct lp_header, patch_id)] ^= 1;
    uint64_t c = 0;
    memcpy(buf + hdr + 24, &c, 8);
    c = XXH3_64bits(buf, len); /* a valid checksum over the wrong id */
    memcpy(buf + hdr + 24, &c, 8);
    char err[LP_ERR_MAX] = "";
    struct lp_patch *p = NULL;
    CHECK_EQ_INT(lp_patch_parse(buf, len, &p, err), -1);
    CHECK(strstr(err, "patch_id does not match") != NULL);
    free(buf);

    /* file_size disagrees: append a byte after a reseal. */
    buf = sample_bytes(&len);
    buf = realloc(buf, len + 1);
    buf[len] = 0;
    CHECK_EQ_INT(lp_patch_parse_named(buf, len + 1, "bad.lpatch", &p, err), -1);
    CHECK(strstr(err, "file_size") != NULL);
    free(buf);

    CHECK_EQ_INT(lp_patch_load("/nonexistent/x.lpatch", &p, err), -1);
    CHECK(strstr(err, "/nonexistent/x.lpatch: cannot open") != NULL);
}

/* Section-table damage is caught before the checksum is even looked at. */
static void expect_shdr_rejected(unsigned idx, size_t field_off, uint64_t value, size_t width,
                                 const char *expect)
{
    size_t len;
    uint8_t *buf = sample_bytes(&len);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    memcpy(buf + eh->e_shoff + idx * sizeof(Elf64_Shdr) + field_off, &value, width);
    char err[LP_ERR_MAX] = "";
    struct lp_patch *p = NULL;
    CHECK_EQ_INT(lp_patch_parse_named(buf, len, "bad.lpatch", &p, err), -1);
    if (!strstr(err, expect)) {
        printf("# message \"%s\" lacks \"%s\"\n", err, expect);
        CHECK(0);
    }
    free(buf);
}

TEST(section_table_failures)
{
    /* names: .shstrtab is "\0.lp.header\0.lp.text\0..." so offset 1 is .lp.header */
    expect_shdr_rejected(2, offsetof(Elf64_Shdr, sh_name), 1, 4,
                         "section .lp.header appears twice (sections 1 and 2)");
    expect_shdr_rejected(2, offsetof(Elf64_Shdr, sh_name), 0, 4, "missing section .lp.text");
    expect_shdr_rejected(2, offsetof(Elf64_Shdr, sh_name), 5000, 4,
                         "section 2: name offset 0x1388 beyond .shstrtab");
    expect_shdr_rejected(5, offsetof(Elf64_Shdr, sh_type), SHT_PROGBITS, 4,
                         "section .lp.bss: type 1, expected SHT_NOBITS");
    expect_shdr_rejected(3, offsetof(Elf64_Shdr, sh_size), 1ull << 40, 8, "section 3: [0x");
    expect_shdr_rejected(2, offsetof(Elf64_Shdr, sh_offset), 0x41, 8,
                         "section 2: offset 0x41 not aligned to 0x10");
    expect_shdr_rejected(2, offsetof(Elf64_Shdr, sh_addralign), 24, 8,
                         "section 2: bad alignment 0x18");
    expect_shdr_rejected(1, offsetof(Elf64_Shdr, sh_size), 0xa8, 8,
                         ".lp.header: size 0xa8, expected 0xb0");
    size_t len;
    uint8_t *buf = sample_bytes(&len);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    char err[LP_ERR_MAX] = "";
    struct lp_patch *p = NULL;
    eh->e_machine = EM_386;
    CHECK_EQ_INT(lp_patch_parse_named(buf, len, "bad.lpatch", &p, err), -1);
    CHECK(strstr(err, "expected ET_REL EM_X86_64") != NULL);
    eh->e_machine = EM_X86_64;
    eh->e_shoff = len - 8;
    CHECK_EQ_INT(lp_patch_parse_named(buf, len, "bad.lpatch", &p, err), -1);
    CHECK(strstr(err, "section header table at") != NULL);
    free(buf);
}

TEST(every_byte_corruption_and_truncation_is_rejected)
{
    size_t len;
    uint8_t *buf = sample_bytes(&len);
    char err[LP_ERR_MAX];
    int accepted = 0, accepted_resealed = 0;
    struct lp_patch *p;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            uint8_t *copy = malloc(len);
            memcpy(copy, buf, len);
            copy[i] ^= (uint8_t)(1u << bit);
            if (lp_patch_parse(copy, len, &p, err) == 0) {
                accepted++;
                lp_patch_free(p);
            }
            /* resealed: must not crash, whatever the verdict */
            if (lp_patch_seal(copy, len, err) == 0 && lp_patch_parse(copy, len, &p, err) == 0) {
                accepted_resealed++;
                lp_patch_free(p);
            }
            free(copy);
        }
    }
    CHECK_EQ_INT(accepted, 0);
    printf("# %d of %zu resealed corruptions still valid (code/data/names)\n", accepted_resealed,
           3 * len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        if (lp_patch_parse(copy, n, &p, err) == 0) {
            accepted++;
            lp_patch_free(p);
        }
        free(copy);
    }
    CHECK_EQ_INT(accepted, 0);
    free(buf);
}

TEST(describe_prints_summary)
{
    size_t len;
    uint8_t *buf = sample_bytes(&len);
    struct lp_patch *p;
    char err[LP_ERR_MAX], *text = NULL;
    size_t tlen;
    CHECK_EQ_INT(lp_patch_parse_named(buf, len, "fix.lpatch", &p, err), 0);
    FILE *f = open_memstream(&text, &tlen);
    lp_patch_describe(p, f);
    fclose(f);
    CHECK(strstr(text, "patch:     fix.lpatch\n") != NULL);
    CHECK(strstr(text, "module:    server (PIE)") != NULL);
    CHECK(strstr(text, "old build: aabbcc0102") != NULL);
    CHECK(strstr(text, "replace greet (src/greet.c:12)  old 0x1200 40 bytes -> new 14 bytes "
                       "[static]") != NULL);
    CHECK(strstr(text, "greet: fix off-by-one") != NULL);
    free(text);
    lp_patch_free(p);
    free(buf);
}

/* note NAME TYPE DESC: one ELF note appended to buf at *len, padded. */
static void note(uint8_t *buf, size_t *len, const char *name, uint32_t type, const uint8_t *desc,
                 uint32_t dlen)
{
    Elf64_Nhdr nh = {.n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = dlen, .n_type = type};
    memcpy(buf + *len, &nh, sizeof nh);
    *len += sizeof nh;
    memset(buf + *len, 0, 64);
    memcpy(buf + *len, name, nh.n_namesz);
    *len += (nh.n_namesz + 3u) & ~3u;
    memcpy(buf + *len, desc, dlen);
    *len += (dlen + 3u) & ~3u;
}

TEST(build_id_from_notes)
{
    uint8_t buf[512], id[LP_BUILD_ID_MAX], want[20];
    for (int i = 0; i < 20; i++)
        want[i] = (uint8_t)(0xa0 + i);
    size_t len = 0;
    note(buf, &len, "GNU", NT_GNU_ABI_TAG, (const uint8_t *)"\0\0\0\0\3\0\0\0\2\0\0\0\0\0\0\0", 16);
    note(buf, &len, "Go", NT_GNU_BUILD_ID, want, 8); /* another vendor's type 3 */
    note(buf, &len, "GNU", NT_GNU_BUILD_ID, want, 20);
    CHECK_EQ_INT(lp_notes_build_id(buf, len, id), 20);
    CHECK(!memcmp(id, want, 20));
    /* the id note ends the block: every truncation of it finds nothing */
    for (size_t cut = 0; cut < len; cut++)
        CHECK_EQ_INT(lp_notes_build_id(buf, cut, id), 0);
    /* an empty or over-long build-id is no build-id */
    len = 0;
    note(buf, &len, "GNU", NT_GNU_BUILD_ID, want, 0);
    CHECK_EQ_INT(lp_notes_build_id(buf, len, id), 0);
    uint8_t big[40] = {0};
    len = 0;
    note(buf, &len, "GNU", NT_GNU_BUILD_ID, big, 40);
    CHECK_EQ_INT(lp_notes_build_id(buf, len, id), 0);
    /* a descsz that points past the block is rejected, not read */
    len = 0;
    note(buf, &len, "GNU", NT_GNU_BUILD_ID, want, 20);
    ((Elf64_Nhdr *)buf)->n_descsz = 0xfffffff0u;
    CHECK_EQ_INT(lp_notes_build_id(buf, len, id), 0);
}

/* ---- unwind table (LP_HDR_UNWIND) ---------------------------------------- */

enum unw_bad { UNW_OK, UNW_MAGIC, UNW_FILLED, UNW_CIE_PTR, UNW_NO_RELOC, UNW_INDEX, UNW_TERM };

/* A patch with one function and what lpdiff writes for its CFI: the
 * table, one CIE, one FDE whose pc_begin is a PC32 into .lp.text, the
 * terminator, a one-entry index; `bad` breaks one rule. */
static uint8_t *unwind_bytes(enum unw_bad bad, size_t *len)
{
    struct lp_writer *w = lp_writer_new();
    static const uint8_t code[32] = {0x66, 0x90, 0xc3};
    uint64_t text = lp_writer_append(w, LP_SEC_TEXT, code, sizeof code, 16);
    struct lp_unwind_table t = {.magic = LP_UNWIND_MAGIC};
    uint64_t toff = lp_writer_append(w, LP_SEC_RODATA, &t, sizeof t, 8);
    /* CIE: length 20, id 0, version 1, "zR", code align 1, data align -8,
     * ra 16, aug len 1, FDE encoding 0x1b, padding */
    static const uint8_t cie[24] = {20, 0, 0, 0, 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x1b};
    uint8_t fde[20] = {16, 0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0};
    if (bad == UNW_CIE_PTR)
        fde[4] = 24; /* points at itself's length word, not a CIE */
    uint8_t eh[48] = {0};
    memcpy(eh, cie, sizeof cie);
    memcpy(eh + 24, fde, sizeof fde);
    if (bad == UNW_TERM)
        eh[44] = 1;
    uint64_t eoff = lp_writer_append(w, LP_SEC_RODATA, eh, sizeof eh, 8);
    struct lp_unwind_index ix = {.start = (int32_t)text, .fde = 24};
    if (bad == UNW_INDEX)
        ix.fde = 8;
    uint64_t ioff = lp_writer_append(w, LP_SEC_RODATA, &ix, sizeof ix, 8);
    t.eh_frame_off = (uint32_t)eoff;
    t.eh_frame_size = sizeof eh;
    t.index_off = (uint32_t)ioff;
    t.nfde = 1;
    t.text_hi = 3;
    if (bad == UNW_MAGIC)
        t.magic[0] = 'X';
    if (bad == UNW_FILLED)
        t.frame_dereg = 0x1234;
    lp_writer_put(w, LP_SEC_RODATA, toff, &t, sizeof t);
    struct lp_sym s_text = {.kind = LP_SYM_PATCH,
                            .name = lp_writer_str(w, ".text.f"),
                            .section = LP_SEC_TEXT,
                            .value = text,
                            .size = 0};
    uint32_t i_text = lp_writer_sym(w, &s_text);
    struct lp_reloc r = {.offset = eoff + 24 + 8,
                         .section = LP_SEC_RODATA,
                         .type = R_X86_64_PC32,
                         .sym = i_text,
                         .addend = 0};
    if (bad != UNW_NO_RELOC)
        lp_writer_reloc(w, &r);
    struct lp_func f = {.name = lp_writer_str(w, "f"),
                        .flags = LP_FUNC_NEW,
                        .new_off = text,
                        .new_size = 3,
                        .file = lp_writer_str(w, "f.c")};
    lp_writer_func(w, &f);
    lp_writer_header(w, LP_HDR_MODULE_PIC | LP_HDR_UNWIND, old_bid, 20, new_bid, 20, "server");
    uint8_t *buf = NULL;
    char err[LP_ERR_MAX];
    if (lp_writer_bytes(w, &buf, len, NULL, err) < 0)
        printf("# %s\n", err);
    lp_writer_free(w);
    return buf;
}

TEST(unwind_table_is_checked)
{
    static const char *const want[] = {
        [UNW_MAGIC] = "not an unwind table",  [UNW_FILLED] = "not an unwind table",
        [UNW_CIE_PTR] = "malformed eh_frame", [UNW_NO_RELOC] = "malformed eh_frame",
        [UNW_INDEX] = "malformed eh_frame",   [UNW_TERM] = "eh_frame or index outside",
    };
    char err[LP_ERR_MAX] = "";
    struct lp_patch *p = NULL;
    size_t len;
    uint8_t *buf = unwind_bytes(UNW_OK, &len);
    CHECK_EQ_INT(lp_patch_parse_named(buf, len, "u.lpatch", &p, err), 0);
    if (p) {
        const struct lp_unwind_table *t = lp_patch_unwind(p);
        CHECK(t && t->nfde == 1 && t->eh_frame_size == 48);
        lp_patch_free(p);
    }
    /* every byte of the resealed good patch flipped: judged without crashing */
    for (size_t i = 0; i < len; i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        copy[i] ^= 0x41;
        if (lp_patch_seal(copy, len, err) == 0 && lp_patch_parse(copy, len, &p, err) == 0)
            lp_patch_free(p);
        free(copy);
    }
    free(buf);
    for (int b = UNW_MAGIC; b <= UNW_TERM; b++) {
        buf = unwind_bytes((enum unw_bad)b, &len);
        p = NULL;
        CHECK_EQ_INT(lp_patch_parse_named(buf, len, "u.lpatch", &p, err), -1);
        if (!strstr(err, want[b])) {
            printf("# case %d: message \"%s\" lacks \"%s\"\n", b, err, want[b]);
            CHECK(0);
        }
        lp_patch_free(p);
        free(buf);
    }
    /* a patch without the flag has no table */
    buf = sample_bytes(&len);
    CHECK_EQ_INT(lp_patch_parse(buf, len, &p, err), 0);
    if (p) {
        CHECK(lp_patch_unwind(p) == NULL);
        lp_patch_free(p);
    }
    free(buf);
}

int main(void)
{
    RUN(round_trip_through_file);
    RUN(build_id_from_notes);
    RUN(output_is_deterministic_and_strings_interned);
    RUN(elf_container_is_readable);
    RUN(every_validation_class_is_rejected_with_place);
    RUN(header_and_container_failures);
    RUN(section_table_failures);
    RUN(every_byte_corruption_and_truncation_is_rejected);
    RUN(describe_prints_summary);
    RUN(unwind_table_is_checked);
    return tap_done();
}
