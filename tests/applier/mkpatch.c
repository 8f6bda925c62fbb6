/*
 * mkpatch - build small .lpatch files for the applier tests without lpdiff.
 *
 *   mkpatch [--old-build-id HEX] [--new-build-id HEX] [--prepad N] [--code-hash HEX]
 *           [--old-addr HEX | --old-addr-of SYM] OUT MODULE SPEC...
 *
 * SPEC is NAME=HEX: replace function NAME of MODULE by the machine code HEX
 * (spaces allowed).  Prefix "!" marks it LP_FUNC_ALLOW_ACTIVE, "+" adds it
 * as a new function.  Inside HEX:
 *   @SYM[/N]   4-byte PC-relative fixup to module symbol SYM (addend -N, default 4)
 *   @@SYM      4-byte PLT32 fixup to dynamic symbol SYM (resolved by name)
 *   @+NAME     4-byte PLT32 fixup to new function NAME of this patch
 *   %SYM       4-byte TPOFF32 fixup to TLS variable SYM of MODULE
 * The old function's address, size, entry offset and code hash come from
 * MODULE's symbol table and bytes; the prepad is 16 (plugin layout).
 *
 * The last four options forge what a resealed patch could claim, for every
 * replaced function: another pad size, another code hash (0 included), the
 * old function at link-time address HEX (its bytes and hash from the file
 * when they are in it), or at symbol SYM (size, bytes and hash of SYM; the
 * name stays NAME).  The patch is sealed all the same: it passes the format
 * check, and only the applier's checks against the module stand in the way.
 */
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "liblivepatch.h"

static Elf *elf;
static int elf_fd;
static uint8_t build_id[32];
static uint32_t build_id_len;
static int is_dyn;

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "mkpatch: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static int find_sym(const char *name, GElf_Sym *out)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        if (sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 1; i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym s;
            gelf_getsym(d, (int)i, &s);
            const char *n = elf_strptr(elf, sh.sh_link, s.st_name);
            if (n && !strcmp(n, name) && s.st_shndx != SHN_UNDEF) {
                *out = s;
                return 0;
            }
        }
    }
    return -1;
}

/* File bytes at a link-time address. */
static void read_vaddr(uint64_t addr, void *buf, size_t len)
{
    size_t n;
    elf_getphdrnum(elf, &n);
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        gelf_getphdr(elf, (int)i, &ph);
        if (ph.p_type == PT_LOAD && addr >= ph.p_vaddr && addr + len <= ph.p_vaddr + ph.p_filesz) {
            if (pread(elf_fd, buf, len, (off_t)(ph.p_offset + addr - ph.p_vaddr)) != (ssize_t)len)
                die("short read", NULL);
            return;
        }
    }
    die("address not in the file", NULL);
}

static void read_build_id(void)
{
    size_t n;
    elf_getphdrnum(elf, &n);
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        gelf_getphdr(elf, (int)i, &ph);
        if (ph.p_type != PT_NOTE)
            continue;
        Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
        size_t off = 0, no, dof;
        GElf_Nhdr nh;
        while (d && (off = gelf_getnote(d, off, &nh, &no, &dof)) > 0)
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_descsz <= 32) {
                memcpy(build_id, (char *)d->d_buf + dof, nh.n_descsz);
                build_id_len = nh.n_descsz;
                return;
            }
    }
    die("module has no GNU build-id", NULL);
}

static uint32_t parse_hex_id(const char *s, uint8_t *out)
{
    uint32_t n = 0;
    for (; s[0] && s[1] && n < 32; s += 2)
        sscanf(s, "%2hhx", &out[n++]);
    return n;
}

struct spec {
    char *name, *hex;
    uint32_t flags;
    uint64_t off, size;
};

/* Assemble one SPEC into .lp.text, recording its fixups for later. */
struct fix {
    uint64_t off;
    char kind; /* '@' module, 'D' dynamic, 'N' new function, '%' tls */
    char sym[128];
    int64_t addend;
};
static struct fix fixes[1024];
static int nfix;

static uint64_t emit(struct lp_writer *w, const char *hex)
{
    uint8_t code[4096];
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
        } else if (*p == '@' || *p == '%') {
            struct fix *f = &fixes[nfix++];
            f->kind = *p++;
            if (f->kind == '@' && *p == '@') {
                f->kind = 'D';
                p++;
            } else if (f->kind == '@' && *p == '+') {
                f->kind = 'N';
                p++;
            }
            size_t l = strcspn(p, " /");
            snprintf(f->sym, sizeof f->sym, "%.*s", (int)l, p);
            p += l;
            f->addend = -4;
            if (*p == '/')
                f->addend = -strtol(p + 1, (char **)&p, 10);
            f->off = n;
            memset(code + n, 0, 4);
            n += 4;
        } else {
            sscanf(p, "%2hhx", &code[n++]);
            p += 2;
        }
    }
    uint64_t off = lp_writer_append(w, LP_SEC_TEXT, code, n, 16);
    return off | ((uint64_t)n << 40);
}

int main(int argc, char **argv)
{
    uint8_t new_id[32], old_id[32];
    uint32_t new_len = 0, old_len = 0;
    int a = 1, prepad = 16, forge_hash = 0;
    uint64_t code_hash = 0, forge_addr = 0;
    const char *addr_of = NULL;
    for (; a + 1 < argc && argv[a][0] == '-' && argv[a][1] == '-'; a += 2) {
        if (!strcmp(argv[a], "--old-build-id"))
            old_len = parse_hex_id(argv[a + 1], old_id);
        else if (!strcmp(argv[a], "--new-build-id"))
            new_len = parse_hex_id(argv[a + 1], new_id);
        else if (!strcmp(argv[a], "--prepad"))
            prepad = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--code-hash"))
            forge_hash = 1, code_hash = strtoull(argv[a + 1], NULL, 16);
        else if (!strcmp(argv[a], "--old-addr"))
            forge_addr = strtoull(argv[a + 1], NULL, 16);
        else if (!strcmp(argv[a], "--old-addr-of"))
            addr_of = argv[a + 1];
        else
            die("unknown option", argv[a]);
    }
    if (argc - a < 3)
        die("usage: mkpatch [--old-build-id HEX] [--new-build-id HEX] OUT MODULE SPEC...", NULL);
    const char *out = argv[a], *module = argv[a + 1];
    elf_version(EV_CURRENT);
    elf_fd = open(module, O_RDONLY);
    if (elf_fd < 0 || !(elf = elf_begin(elf_fd, ELF_C_READ, NULL)))
        die("cannot read", module);
    GElf_Ehdr eh;
    gelf_getehdr(elf, &eh);
    is_dyn = eh.e_type == ET_DYN;
    read_build_id();
    if (!old_len) {
        memcpy(old_id, build_id, build_id_len);
        old_len = build_id_len;
    }
    if (!new_len) { /* a made-up "new build": the old one with its first byte flipped */
        memcpy(new_id, old_id, old_len);
        new_id[0] ^= 0xff;
        new_len = old_len;
    }

    struct lp_writer *w = lp_writer_new();
    int nspec = argc - a - 2;
    struct spec *sp = calloc((size_t)nspec, sizeof *sp);
    for (int i = 0; i < nspec; i++) {
        char *s = strdup(argv[a + 2 + i]);
        if (*s == '!') {
            sp[i].flags |= LP_FUNC_ALLOW_ACTIVE;
            s++;
        } else if (*s == '+') {
            sp[i].flags |= LP_FUNC_NEW;
            s++;
        }
        char *eq = strchr(s, '=');
        if (!eq)
            die("SPEC is NAME=HEX", s);
        *eq = 0;
        sp[i].name = s;
        sp[i].hex = eq + 1;
        int first_fix = nfix;
        uint64_t r = emit(w, sp[i].hex);
        sp[i].off = r & ((1ull << 40) - 1);
        sp[i].size = r >> 40;
        for (int k = first_fix; k < nfix; k++)
            fixes[k].off += sp[i].off;
    }
    for (int i = 0; i < nspec; i++) {
        struct lp_func f = {0};
        f.name = lp_writer_str(w, sp[i].name);
        f.flags = sp[i].flags;
        f.new_off = sp[i].off;
        f.new_size = (uint32_t)sp[i].size;
        if (!(f.flags & LP_FUNC_NEW)) {
            GElf_Sym s;
            if (find_sym(sp[i].name, &s))
                die("no such function in the module", sp[i].name);
            if (GELF_ST_BIND(s.st_info) == STB_LOCAL)
                f.flags |= LP_FUNC_LOCAL;
            if (addr_of && find_sym(addr_of, &s))
                die("no such symbol in the module", addr_of);
            if (forge_addr)
                s.st_value = forge_addr;
            uint8_t *code = calloc(1, s.st_size + 4);
            if (!forge_addr || !forge_hash)
                read_vaddr(s.st_value, code, s.st_size);
            f.old_addr = s.st_value;
            f.old_size = (uint32_t)s.st_size;
            f.old_entry_off = s.st_size >= 4 && !memcmp(code, "\xf3\x0f\x1e\xfa", 4) ? 4 : 0;
            f.old_prepad = (uint8_t)prepad;
            f.old_code_hash = forge_hash ? code_hash : XXH3_64bits(code, s.st_size);
            free(code);
        }
        lp_writer_func(w, &f);
    }
    for (int i = 0; i < nfix; i++) {
        struct fix *fx = &fixes[i];
        struct lp_sym sym = {.name = lp_writer_str(w, fx->sym)};
        struct lp_reloc r = {.offset = fx->off, .section = LP_SEC_TEXT, .addend = fx->addend};
        GElf_Sym s;
        if (fx->kind == 'D') {
            sym.kind = LP_SYM_DYNAMIC;
            r.type = R_X86_64_PLT32;
        } else if (fx->kind == 'N') {
            int k = 0;
            while (k < nspec && strcmp(sp[k].name, fx->sym))
                k++;
            if (k == nspec)
                die("no such new function", fx->sym);
            sym.kind = LP_SYM_PATCH;
            sym.section = LP_SEC_TEXT;
            sym.value = sp[k].off;
            r.type = R_X86_64_PLT32;
        } else {
            if (find_sym(fx->sym, &s))
                die("no such symbol in the module", fx->sym);
            sym.kind = fx->kind == '%' ? LP_SYM_TLS : LP_SYM_MODULE;
            sym.value = s.st_value;
            sym.size = (uint32_t)s.st_size;
            r.type = fx->kind == '%' ? R_X86_64_TPOFF32 : R_X86_64_PC32;
            if (fx->kind == '%')
                r.addend = 0;
        }
        r.sym = lp_writer_sym(w, &sym);
        lp_writer_reloc(w, &r);
    }
    lp_writer_header(w, is_dyn ? LP_HDR_MODULE_PIC : 0, old_id, old_len, new_id, new_len, module);
    lp_writer_summary(w, "test patch made by mkpatch\n");
    char err[LP_ERR_MAX];
    if (lp_writer_write(w, out, NULL, err) != 0)
        die(err, NULL);
    struct lp_patch *p;
    if (lp_patch_load(out, &p, err) != 0)
        die(err, NULL);
    lp_patch_free(p);
    lp_writer_free(w);
    return 0;
}
