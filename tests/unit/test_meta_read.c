/*
 * test_meta_read.c - lpm_read() on small object files written here with
 * libelf: relocated addresses, strings, and corrupt records.
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lpmeta_read.h"
#include "tap.h"

/* Section names, in the order of the section header table (index 1..). */
static const char shstrtab[] = "\0.text\0.livepatch.func\0.rela.livepatch.func\0.symtab\0"
                               ".strtab\0.shstrtab";
enum { SEC_TEXT = 1, SEC_FUNC, SEC_RELA, SEC_SYMTAB, SEC_STRTAB, SEC_SHSTRTAB };
static const char strtab[] = "\0first\0second";

static size_t name_off(const char *tab, size_t len, const char *name)
{
    for (size_t i = 0; i < len; i += strlen(tab + i) + 1)
        if (!strcmp(tab + i, name))
            return i;
    return 0;
}

/* One LPMETA_FUNC record for `name` at `out`; returns its size. */
static size_t func_record(unsigned char *out, const char *name, uint32_t flags)
{
    struct lpmeta_func f = {0};
    size_t strings = strlen(name) + 1 + 1; /* name, empty origin */
    size_t size = (sizeof(f) + strings + 7) & ~(size_t)7;
    f.hdr.kind = LPMETA_FUNC;
    f.hdr.size = (uint32_t)size;
    f.unit_id = 0x1234;
    f.flags = flags;
    f.prepad = 16;
    for (int i = 0; i < 16; i++)
        f.hash[i] = (uint8_t)(i * 17);
    memset(out, 0, size);
    memcpy(out, &f, sizeof(f));
    strcpy((char *)out + sizeof(f), name);
    return size;
}

static Elf_Scn *add_section(Elf *elf, const char *name, uint32_t type, void *buf, size_t len,
                            size_t entsize)
{
    Elf_Scn *scn = elf_newscn(elf);
    Elf_Data *d = elf_newdata(scn);
    d->d_buf = buf;
    d->d_size = len;
    d->d_align = 8;
    d->d_type = ELF_T_BYTE;
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    sh.sh_name = name_off(shstrtab, sizeof(shstrtab), name);
    sh.sh_type = type;
    sh.sh_entsize = entsize;
    sh.sh_addralign = 8;
    gelf_update_shdr(scn, &sh);
    return scn;
}

/* Write an ET_REL file holding `records` (two functions, relocated). */
static int write_object(const char *path, unsigned char *records, size_t len)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    Elf *elf = elf_begin(fd, ELF_C_WRITE, NULL);
    Elf64_Ehdr *eh = elf64_newehdr(elf);
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_type = ET_REL;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_shstrndx = SEC_SHSTRTAB;

    static unsigned char text[64];
    add_section(elf, ".text", SHT_PROGBITS, text, sizeof(text), 0);
    add_section(elf, ".livepatch.func", SHT_PROGBITS, records, len, 0);
    /* addr of record 1 = first (value 16) + 0; record 2 = second (40) + 8 */
    static Elf64_Rela rela[2];
    rela[0].r_offset = 8;
    rela[0].r_info = ELF64_R_INFO(1, R_X86_64_64);
    rela[1].r_offset = ((struct lpmeta_hdr *)records)->size + 8;
    rela[1].r_info = ELF64_R_INFO(2, R_X86_64_64);
    rela[1].r_addend = 8;
    Elf_Scn *rs =
        add_section(elf, ".rela.livepatch.func", SHT_RELA, rela, sizeof(rela), sizeof(Elf64_Rela));
    static Elf64_Sym syms[3];
    syms[1].st_name = name_off(strtab, sizeof(strtab), "first");
    syms[1].st_value = 16;
    syms[1].st_shndx = SEC_TEXT;
    syms[2].st_name = name_off(strtab, sizeof(strtab), "second");
    syms[2].st_value = 40;
    syms[2].st_shndx = SEC_TEXT;
    Elf_Scn *ss = add_section(elf, ".symtab", SHT_SYMTAB, syms, sizeof(syms), sizeof(Elf64_Sym));
    add_section(elf, ".strtab", SHT_STRTAB, (void *)strtab, sizeof(strtab), 0);
    add_section(elf, ".shstrtab", SHT_STRTAB, (void *)shstrtab, sizeof(shstrtab), 0);

    GElf_Shdr sh;
    gelf_getshdr(rs, &sh);
    sh.sh_link = SEC_SYMTAB;
    sh.sh_info = SEC_FUNC;
    gelf_update_shdr(rs, &sh);
    gelf_getshdr(ss, &sh);
    sh.sh_link = SEC_STRTAB;
    sh.sh_info = 1;
    gelf_update_shdr(ss, &sh);

    int rc = elf_update(elf, ELF_C_WRITE) < 0 ? -1 : 0;
    elf_end(elf);
    close(fd);
    return rc;
}

static char path[] = "/tmp/test_meta_readXXXXXX";
static unsigned char records[256];

static size_t two_records(void)
{
    size_t n = func_record(records, "first", LPMETA_F_PATCHABLE);
    return n + func_record(records + n, "second", LPMETA_F_EXCLUDED | LPMETA_F_LOCAL);
}

TEST(relocated_addresses_and_fields)
{
    size_t len = two_records();
    CHECK(write_object(path, records, len) == 0);
    struct lpm_module *m = NULL;
    char err[LPM_ERR_MAX] = "";
    CHECK(lpm_read(path, &m, err) == 0);
    if (!m) {
        printf("# %s\n", err);
        return;
    }
    CHECK_EQ_INT(m->nfuncs, 2);
    if (m->nfuncs == 2) {
        CHECK_STR(m->funcs[0].name, "first");
        CHECK_EQ_INT(m->funcs[0].addr, 16);
        CHECK_EQ_INT(m->funcs[0].flags, LPMETA_F_PATCHABLE);
        CHECK_EQ_INT(m->funcs[0].prepad, 16);
        CHECK_EQ_INT(m->funcs[0].hash[3], 51);
        CHECK_STR(m->funcs[1].name, "second");
        CHECK_STR(m->funcs[1].origin, "");
        CHECK_EQ_INT(m->funcs[1].addr, 48);
        CHECK_EQ_INT(m->funcs[1].unit_id, 0x1234);
    }
    lpm_free(m);
}

TEST(unterminated_strings_are_an_error_with_offset)
{
    size_t len = two_records();
    size_t first = ((struct lpmeta_hdr *)records)->size;
    /* fill the second record's strings area with non-NUL bytes */
    memset(records + first + sizeof(struct lpmeta_func), 'x',
           len - first - sizeof(struct lpmeta_func));
    CHECK(write_object(path, records, len) == 0);
    struct lpm_module *m = NULL;
    char err[LPM_ERR_MAX] = "";
    CHECK(lpm_read(path, &m, err) != 0);
    CHECK(m == NULL);
    char where[64];
    snprintf(where, sizeof(where), "section .livepatch.func offset 0x%zx:", first);
    CHECK(strstr(err, where) != NULL);
    CHECK(strstr(err, "not terminated") != NULL);
}

TEST(truncated_header_is_an_error)
{
    size_t len = two_records();
    CHECK(write_object(path, records, len + 4) == 0); /* 4 stray bytes */
    struct lpm_module *m = NULL;
    char err[LPM_ERR_MAX] = "";
    CHECK(lpm_read(path, &m, err) != 0);
    CHECK(strstr(err, "truncated record header") != NULL);
}

TEST(no_records_is_an_empty_module)
{
    struct lpm_module *m = NULL;
    char err[LPM_ERR_MAX] = "";
    CHECK(write_object(path, records, 0) == 0);
    CHECK(lpm_read(path, &m, err) == 0);
    CHECK(m && m->nfuncs == 0 && m->nunits == 0);
    lpm_free(m);
}

int main(void)
{
    int fd = mkstemp(path);
    if (fd >= 0)
        close(fd);
    elf_version(EV_CURRENT);
    RUN(relocated_addresses_and_fields);
    RUN(unterminated_strings_are_an_error_with_offset);
    RUN(truncated_header_is_an_error);
    RUN(no_records_is_an_empty_module);
    unlink(path);
    return tap_done();
}
