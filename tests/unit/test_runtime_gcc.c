/*
 * test_runtime_gcc.c - relocation of REAL compiler output: compile a small
 * function with gcc under several code models (-fPIC, -fPIE, -fno-plt,
 * -fno-pic, initial-exec TLS, -O0), turn the object into a patch with the
 * writer, load, lay out and relocate it into memory of this process, run
 * it, and check that it computed the right value and updated this
 * process's own variables (the "module"), including its TLS; then call it
 * through stand-in old functions redirected with lp_redirect_encode's near
 * and far jumps.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "liblivepatch.h"
#include "tap.h"

/* The "module": what the patch code reads and writes in this process. */
int gvar = 100;
__thread int ttls = 7;
__thread int stls_mod = 20;

static const char source[] =
    "#include <stdio.h>\n"
    "#ifndef NO_MODULE_DATA\n"
    "extern int gvar;\n"
    "#endif\n"
    "extern __thread int ttls;\n"
    "static __thread int stls;\n"
    "static int counter = 5;\n"
    "static int zeroed;\n"
    "static const char fmt[] = \"v=%d\";\n"
    "__attribute__((noinline)) int helper(int x) { return x * 3; }\n"
    "static int twice(int x) { return 2 * x; }\n"
    "static int (*ops[])(int) = {helper, twice};\n"
    "__attribute__((noinline)) int pick(int k) {\n"
    "    switch (k) { case 0: return 11; case 1: return 13; case 2: return 17;\n"
    "    case 3: return 19; case 4: return 23; case 5: return 29; case 6: return 31; }\n"
    "    return 0;\n"
    "}\n"
    "int entry(char *buf, int n) {\n"
    "    counter += n; zeroed++; ttls += 1; stls += 2;\n"
    "    int v = ops[n & 1](n) + ops[(n & 1) ^ 1](1) + counter + zeroed + ttls + stls + pick(n);\n"
    "#ifndef NO_MODULE_DATA\n"
    "    gvar += 10; v += gvar;\n"
    "#endif\n"
    "    snprintf(buf, 64, fmt, v);\n"
    "    return v;\n"
    "}\n";

/* ---- object file -> patch (a miniature lpdiff) ------------------------ */

struct conv {
    Elf *elf;
    struct lp_writer *w;
    size_t nsec;
    int *sec_kind;      /* lp_section per ELF section, 0 if not loaded */
    uint64_t *sec_base; /* offset in that lp_section */
    uint32_t *sym_map;  /* lp_sym index + 1 per ELF symbol */
    Elf_Scn *symtab;
    size_t shstrndx;
    uint64_t tls_base; /* this program's TLS block, for offsets */
    uint64_t entry_off;
    char err[256];
};

static uint64_t tls_offset_of(struct conv *c, const char *name)
{
    if (strcmp(name, "ttls") == 0)
        return (uint64_t)(uintptr_t)&ttls - c->tls_base;
    if (strcmp(name, "stls") == 0 || strcmp(name, ".tbss") == 0)
        return (uint64_t)(uintptr_t)&stls_mod - c->tls_base;
    snprintf(c->err, sizeof c->err, "unexpected TLS symbol %s", name);
    return 0;
}

static int section_kind(const GElf_Shdr *sh, const char *name)
{
    if (!(sh->sh_flags & SHF_ALLOC) || (sh->sh_flags & SHF_TLS) || strcmp(name, ".eh_frame") == 0)
        return 0;
    if (sh->sh_flags & SHF_EXECINSTR)
        return LP_SEC_TEXT;
    if (sh->sh_type == SHT_NOBITS)
        return LP_SEC_BSS;
    return sh->sh_flags & SHF_WRITE ? LP_SEC_DATA : LP_SEC_RODATA;
}

static void load_sections(struct conv *c)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(c->elf, scn))) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        size_t i = elf_ndxscn(scn);
        const char *name = elf_strptr(c->elf, c->shstrndx, sh.sh_name);
        if (sh.sh_type == SHT_SYMTAB)
            c->symtab = scn;
        int kind = section_kind(&sh, name);
        if (!kind || !sh.sh_size)
            continue;
        c->sec_kind[i] = kind;
        const void *bytes = NULL;
        if (kind != LP_SEC_BSS)
            bytes = elf_getdata(scn, NULL)->d_buf;
        c->sec_base[i] = lp_writer_append(c->w, kind, bytes, sh.sh_size, sh.sh_addralign);
    }
}

static uint32_t patch_sym(struct conv *c, size_t ndx, size_t strndx)
{
    if (c->sym_map[ndx])
        return c->sym_map[ndx] - 1;
    GElf_Sym s;
    gelf_getsym(elf_getdata(c->symtab, NULL), (int)ndx, &s);
    const char *name = elf_strptr(c->elf, strndx, s.st_name);
    struct lp_sym ls = {.size = (uint32_t)s.st_size};
    if (GELF_ST_TYPE(s.st_info) == STT_SECTION) {
        GElf_Shdr sh;
        gelf_getshdr(elf_getscn(c->elf, s.st_shndx), &sh);
        name = elf_strptr(c->elf, c->shstrndx, sh.sh_name);
    }
    ls.name = lp_writer_str(c->w, name);
    if (GELF_ST_TYPE(s.st_info) == STT_TLS ||
        (s.st_shndx != SHN_UNDEF && strcmp(name, ".tbss") == 0)) {
        ls.kind = LP_SYM_TLS;
        ls.value = tls_offset_of(c, name);
    } else if (s.st_shndx == SHN_UNDEF) {
        if (strcmp(name, "gvar") == 0) {
            ls.kind = LP_SYM_MODULE; /* load bias 0: value is the address */
            ls.value = (uint64_t)(uintptr_t)&gvar;
        } else {
            ls.kind = LP_SYM_DYNAMIC;
        }
    } else if (c->sec_kind[s.st_shndx]) {
        ls.kind = LP_SYM_PATCH;
        ls.section = (uint32_t)c->sec_kind[s.st_shndx];
        ls.value = c->sec_base[s.st_shndx] + s.st_value;
        if (strcmp(name, "entry") == 0)
            c->entry_off = ls.value;
        if (ls.section == LP_SEC_BSS || GELF_ST_TYPE(s.st_info) == STT_SECTION)
            ls.size = 0;
    } else {
        snprintf(c->err, sizeof c->err, "symbol %s in an unloaded section", name);
    }
    c->sym_map[ndx] = lp_writer_sym(c->w, &ls) + 1;
    return c->sym_map[ndx] - 1;
}

static void load_relocs(struct conv *c)
{
    GElf_Shdr symsh;
    gelf_getshdr(c->symtab, &symsh);
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(c->elf, scn))) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        if (sh.sh_type != SHT_RELA || !c->sec_kind[sh.sh_info])
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t k = 0; k < sh.sh_size / sh.sh_entsize; k++) {
            GElf_Rela r;
            gelf_getrela(d, (int)k, &r);
            struct lp_reloc lr = {
                .offset = c->sec_base[sh.sh_info] + r.r_offset,
                .section = (uint32_t)c->sec_kind[sh.sh_info],
                .type = (uint32_t)GELF_R_TYPE(r.r_info),
                .sym = patch_sym(c, GELF_R_SYM(r.r_info), symsh.sh_link),
                .addend = r.r_addend,
            };
            lp_writer_reloc(c->w, &lr);
        }
    }
}

static int find_tls_block(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    if (info->dlpi_tls_modid == 1) { /* the main program */
        *(void **)data = info->dlpi_tls_data;
        return 1;
    }
    return 0;
}

/* Compile `flags` and convert the object; returns the patch bytes. */
static uint8_t *build_patch(const char *dir, const char *flags, size_t *len, uint64_t *entry_off)
{
    char cmd[2048], obj[256], src[256];
    snprintf(src, sizeof src, "%s/mod.c", dir);
    snprintf(obj, sizeof obj, "%s/mod.o", dir);
    snprintf(cmd, sizeof cmd, "gcc -c -O2 %s -o %s %s", flags, obj, src);
    if (system(cmd) != 0) {
        printf("# failed: %s\n", cmd);
        return NULL;
    }
    struct conv c = {0};
    void *tls_block = NULL;
    dl_iterate_phdr(find_tls_block, &tls_block);
    c.tls_base = (uint64_t)(uintptr_t)tls_block;
    int fd = open(obj, O_RDONLY);
    c.elf = elf_begin(fd, ELF_C_READ, NULL);
    elf_getshdrnum(c.elf, &c.nsec);
    elf_getshdrstrndx(c.elf, &c.shstrndx);
    c.sec_kind = calloc(c.nsec, sizeof *c.sec_kind);
    c.sec_base = calloc(c.nsec, sizeof *c.sec_base);
    c.w = lp_writer_new();
    load_sections(&c);
    GElf_Shdr symsh;
    gelf_getshdr(c.symtab, &symsh);
    c.sym_map = calloc(symsh.sh_size / symsh.sh_entsize, sizeof *c.sym_map);
    load_relocs(&c);
    /* entry() itself, found through the symbol table */
    for (size_t k = 1; k < symsh.sh_size / symsh.sh_entsize; k++) {
        GElf_Sym s;
        gelf_getsym(elf_getdata(c.symtab, NULL), (int)k, &s);
        if (strcmp(elf_strptr(c.elf, symsh.sh_link, s.st_name), "entry") == 0)
            patch_sym(&c, k, symsh.sh_link);
    }
    struct lp_func f = {.name = lp_writer_str(c.w, "entry"),
                        .flags = LP_FUNC_NEW,
                        .new_off = c.entry_off,
                        .new_size = 1};
    lp_writer_func(c.w, &f);
    lp_writer_header(c.w, LP_HDR_MODULE_PIC, NULL, 0, NULL, 0, "test_runtime_gcc");
    uint8_t *buf = NULL;
    char err[LP_ERR_MAX];
    if (c.err[0])
        printf("# %s\n", c.err);
    else if (lp_writer_bytes(c.w, &buf, len, NULL, err) < 0)
        printf("# %s\n", err);
    *entry_off = c.entry_off;
    lp_writer_free(c.w);
    elf_end(c.elf);
    close(fd);
    free(c.sec_kind);
    free(c.sec_base);
    free(c.sym_map);
    return buf;
}

static int resolve(void *ctx, const struct lp_patch *p, const struct lp_sym *s, uint64_t *addr,
                   char *err)
{
    (void)ctx;
    void *a = dlsym(RTLD_DEFAULT, lp_patch_str(p, s->name));
    if (!a) {
        snprintf(err, LP_ERR_MAX, "not found by dlsym");
        return -1;
    }
    *addr = (uint64_t)(uintptr_t)a;
    return 0;
}

/* Map `size` bytes at or above `hint`, without replacing anything. */
static uint8_t *map_near(uint64_t hint, uint64_t size)
{
    for (int i = 0; i < 256; i++, hint += 0x1000000) {
        void *m = mmap((void *)(uintptr_t)hint, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (m != MAP_FAILED)
            return m;
    }
    return NULL;
}

/* A stand-in for an old function built with the plugin: 16-byte NOP pad,
 * [endbr64], the 2-byte entry NOP, then `mov $-1,%eax; ret`.  Returns the
 * symbol address inside a fresh executable mapping near `hint`. */
static uint8_t *fake_old_function(uint64_t hint, int endbr)
{
    uint8_t *m = map_near(hint & ~4095ull, 4096);
    if (!m)
        return NULL;
    uint8_t *sym = m + 64, *at = sym;
    memset(m, 0xcc, 4096);
    memset(sym - 16, 0x90, 16);
    if (endbr) {
        static const uint8_t e[] = {0xf3, 0x0f, 0x1e, 0xfa};
        memcpy(at, e, 4);
        at += 4;
    }
    static const uint8_t body[] = {0x66, 0x90, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xc3};
    memcpy(at, body, sizeof body);
    mprotect(m, 4096, PROT_READ | PROT_EXEC);
    return sym;
}

/* Redirect the fake old function to `new_code` the way lpatch does (pad
 * first, then the entry) and return what a call through the OLD symbol gives. */
static int call_redirected(uint8_t *sym, int endbr, uint64_t new_code, uint32_t want_pad_len)
{
    int (*old)(char *, int) = (int (*)(char *, int))(void *)sym;
    char buf[64];
    CHECK_EQ_INT(old(buf, 4), -1);
    struct lp_redirect r;
    char err[LP_ERR_MAX] = "";
    int rc = lp_redirect_encode((uint64_t)(uintptr_t)sym, endbr ? 4 : 0, 16, new_code, &r, err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(r.pad_len, want_pad_len);
    uint8_t *page = (uint8_t *)((uintptr_t)sym & ~4095ul);
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
    CHECK(memcmp((void *)(uintptr_t)r.entry_addr, r.entry_orig, 2) == 0);
    memcpy((void *)(uintptr_t)r.pad_addr, r.pad, r.pad_len);
    memcpy((void *)(uintptr_t)r.entry_addr, r.entry, 2);
    mprotect(page, 4096, PROT_READ | PROT_EXEC);
    int v = old(buf, 4);
    char want[32];
    snprintf(want, sizeof want, "v=%d", v);
    CHECK_STR(buf, want);
    munmap(page, 4096);
    return v;
}

static void run_variant(const char *dir, const char *flags, int low_image, int module_data)
{
    size_t len;
    uint64_t entry_off;
    uint8_t *bytes = build_patch(dir, flags, &len, &entry_off);
    CHECK(bytes != NULL);
    if (!bytes)
        return;
    struct lp_patch *p = NULL;
    char err[LP_ERR_MAX] = "";
    int rc = lp_patch_parse_named(bytes, len, flags, &p, err);
    free(bytes);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        printf("# %s\n", err);
        return;
    }
    struct lp_layout lay;
    CHECK_EQ_INT(lp_layout_compute(p, &lay, err), 0);
    uint64_t hint =
        low_image ? 0x40000000 : ((uint64_t)(uintptr_t)&gvar & ~0xfffffull) + (1ull << 30);
    uint8_t *img = map_near(hint, lay.size);
    CHECK(img != NULL);
    void *tls_block = NULL;
    dl_iterate_phdr(find_tls_block, &tls_block);
    struct lp_target t = {
        .load_bias = 0,
        .image_addr = (uint64_t)(uintptr_t)img,
        .has_static_tls = 1,
        .tls_tpoff = (int64_t)((uintptr_t)tls_block - (uintptr_t)__builtin_thread_pointer()),
        .tls_modid = 1,
        .resolve = resolve,
    };
    rc = img ? lp_relocate(p, &lay, &t, img, err) : -1;
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        mprotect(img, lay.exec_size, PROT_READ | PROT_EXEC);
        int (*entry)(char *, int) = (int (*)(char *, int))(void *)(img + lay.text_off + entry_off);
        gvar = 100;
        ttls = 7;
        stls_mod = 20;
        char buf[64] = "";
        /* helper(4)=12, twice(1)=2, counter 5+4, zeroed 1, ttls 8, stls 22,
         * pick(4)=23, and gvar 110 when the module variable is used */
        int want = 12 + 2 + 9 + 1 + 8 + 22 + 23 + (module_data ? 110 : 0);
        int got = entry(buf, 4);
        CHECK_EQ_INT(got, want);
        char want_text[32];
        snprintf(want_text, sizeof want_text, "v=%d", want);
        CHECK_STR(buf, want_text);
        CHECK_EQ_INT(ttls, 8); /* the patch wrote this thread's TLS */
        CHECK_EQ_INT(stls_mod, 22);
        CHECK_EQ_INT(gvar, module_data ? 110 : 100);
        /* state kept in patch data: a second call sees counter 9 */
        CHECK_EQ_INT(entry(buf, 0), 11 + 2 + 9 + 2 + 9 + 24 + 0 + (module_data ? 120 : 0));

        /* Through an old function redirected with a near jump (rel32)... */
        uint64_t new_code = (uint64_t)(uintptr_t)entry;
        uint8_t *sym = fake_old_function(new_code + (256ull << 20), 0);
        gvar = 100, ttls = 7, stls_mod = 20;
        CHECK(sym != NULL);
        if (sym) /* counter 13, zeroed 3 */
            CHECK_EQ_INT(call_redirected(sym, 0, new_code, 5),
                         12 + 2 + 13 + 3 + 8 + 22 + 23 + (module_data ? 110 : 0));
        /* ...and, after endbr64, with an absolute jump from 16 GiB away. */
        /* (above a low image the sanitizer's shadow memory lies: go high) */
        uint64_t far = new_code < (4ull << 30) ? (uint64_t)(uintptr_t)&gvar : new_code;
        sym = fake_old_function(far + (16ull << 30), 1);
        gvar = 100, ttls = 7, stls_mod = 20;
        CHECK(sym != NULL);
        if (sym) /* counter 17, zeroed 4 */
            CHECK_EQ_INT(call_redirected(sym, 1, new_code, 14),
                         12 + 2 + 17 + 4 + 8 + 22 + 23 + (module_data ? 110 : 0));
    } else {
        printf("# %s\n", err);
    }
    if (img)
        munmap(img, lay.size);
    lp_patch_free(p);
}

static char dir[] = "/tmp/lp-gcc-XXXXXX";

TEST(pic_shared_library_code)
{
    run_variant(dir, "-fPIC", 0, 1); /* GOTPCRELX, TLSGD, TLSLD, DTPOFF32, PLT32 stubs */
}
TEST(pic_without_plt)
{
    run_variant(dir, "-fPIC -fno-plt", 0, 1); /* calls through GOTPCRELX slots */
}
TEST(pic_initial_exec_tls)
{
    run_variant(dir, "-fPIC -ftls-model=initial-exec", 0, 1); /* GOTTPOFF */
}
TEST(pic_tls_descriptors)
{
    run_variant(dir, "-fPIC -mtls-dialect=gnu2", 0, 1); /* GOTPC32_TLSDESC, TLSDESC_CALL */
}
TEST(pic_large_code_model)
{
    /* GOTPC64, GOT64, GOTOFF64, PLTOFF64 */
    run_variant(dir, "-fPIC -mcmodel=large", 0, 1);
}
TEST(pie_code)
{
    run_variant(dir, "-fPIE", 0, 1); /* PC32, TPOFF32, GOTTPOFF */
}
TEST(pie_code_unoptimised)
{
    run_variant(dir, "-fPIE -O0", 0, 1);
}
TEST(fixed_address_code)
{
    /* -fno-pic: R_X86_64_32/32S and absolute jump tables, image below 2 GiB */
    run_variant(dir, "-fno-pic -DNO_MODULE_DATA", 1, 0);
}

int main(void)
{
    elf_version(EV_CURRENT);
    if (!mkdtemp(dir))
        return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/mod.c", dir);
    FILE *f = fopen(path, "w");
    fputs(source, f);
    fclose(f);
    RUN(pic_shared_library_code);
    RUN(pic_without_plt);
    RUN(pic_initial_exec_tls);
    RUN(pic_tls_descriptors);
    RUN(pic_large_code_model);
    RUN(pie_code);
    RUN(pie_code_unoptimised);
    RUN(fixed_address_code);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return tap_done();
}
