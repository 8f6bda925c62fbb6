/*
 * util.c - small helpers shared by the runtime modules: error lines, hex,
 * build-ids out of ELF notes, relocation type facts, and the hashes that
 * seal a patch file.
 */
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "lp_internal.h"

void lp_vfail(char *err, const char *fmt, va_list ap)
{
    if (err)
        vsnprintf(err, LP_ERR_MAX, fmt, ap);
}

char *lp_hex(const uint8_t *bytes, size_t len, char *buf)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        buf[2 * i] = digits[bytes[i] >> 4];
        buf[2 * i + 1] = digits[bytes[i] & 15];
    }
    buf[2 * len] = 0;
    return buf;
}

size_t lp_notes_build_id(const void *notes, size_t len, uint8_t out[LP_BUILD_ID_MAX])
{
    const uint8_t *p = notes;
    size_t off = 0;
    while (len - off >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh;
        memcpy(&nh, p + off, sizeof nh);
        off += sizeof nh;
        size_t name = ((size_t)nh.n_namesz + 3) & ~(size_t)3;
        size_t desc = ((size_t)nh.n_descsz + 3) & ~(size_t)3;
        if (name > len - off || desc > len - off - name)
            return 0; /* truncated or corrupt: no trustworthy build-id */
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(p + off, "GNU", 4)) {
            if (nh.n_descsz == 0 || nh.n_descsz > LP_BUILD_ID_MAX)
                return 0;
            memcpy(out, p + off + name, nh.n_descsz);
            return nh.n_descsz;
        }
        off += name + desc;
    }
    return 0;
}

static const struct {
    uint32_t type;
    unsigned width;
    int tls;
    const char *name;
} reloc_types[] = {
    {R_X86_64_64, 8, 0, "R_X86_64_64"},
    {R_X86_64_PC32, 4, 0, "R_X86_64_PC32"},
    {R_X86_64_PLT32, 4, 0, "R_X86_64_PLT32"},
    {R_X86_64_32, 4, 0, "R_X86_64_32"},
    {R_X86_64_32S, 4, 0, "R_X86_64_32S"},
    {R_X86_64_PC64, 8, 0, "R_X86_64_PC64"},
    {R_X86_64_GOTPCREL, 4, 0, "R_X86_64_GOTPCREL"},
    {R_X86_64_GOTPCRELX, 4, 0, "R_X86_64_GOTPCRELX"},
    {R_X86_64_REX_GOTPCRELX, 4, 0, "R_X86_64_REX_GOTPCRELX"},
    {R_X86_64_GOTPC32, 4, 0, "R_X86_64_GOTPC32"},
    {R_X86_64_GOTOFF64, 8, 0, "R_X86_64_GOTOFF64"},
    {R_X86_64_TPOFF32, 4, 1, "R_X86_64_TPOFF32"},
    {R_X86_64_TPOFF64, 8, 1, "R_X86_64_TPOFF64"},
    {R_X86_64_GOTTPOFF, 4, 1, "R_X86_64_GOTTPOFF"},
    {R_X86_64_TLSGD, 4, 1, "R_X86_64_TLSGD"},
    {R_X86_64_TLSLD, 4, 1, "R_X86_64_TLSLD"},
    {R_X86_64_DTPOFF32, 4, 1, "R_X86_64_DTPOFF32"},
    {R_X86_64_DTPOFF64, 8, 1, "R_X86_64_DTPOFF64"},
    /* large code model (-mcmodel=large -fPIC) */
    {R_X86_64_GOTPC64, 8, 0, "R_X86_64_GOTPC64"},
    {R_X86_64_GOT64, 8, 0, "R_X86_64_GOT64"},
    {R_X86_64_GOTPCREL64, 8, 0, "R_X86_64_GOTPCREL64"},
    {R_X86_64_GOTPLT64, 8, 0, "R_X86_64_GOTPLT64"},
    {R_X86_64_PLTOFF64, 8, 0, "R_X86_64_PLTOFF64"},
    /* TLS descriptors (-mtls-dialect=gnu2); TLSDESC_CALL only marks the call */
    {R_X86_64_GOTPC32_TLSDESC, 4, 1, "R_X86_64_GOTPC32_TLSDESC"},
    {R_X86_64_TLSDESC_CALL, 0, 1, "R_X86_64_TLSDESC_CALL"},
};

static int reloc_index(uint32_t type)
{
    for (size_t i = 0; i < sizeof reloc_types / sizeof reloc_types[0]; i++)
        if (reloc_types[i].type == type)
            return (int)i;
    return -1;
}

int lp_reloc_width(uint32_t type)
{
    int i = reloc_index(type);
    return i < 0 ? -1 : (int)reloc_types[i].width;
}

int lp_reloc_is_tls(uint32_t type)
{
    int i = reloc_index(type);
    return i < 0 ? 0 : reloc_types[i].tls;
}

const char *lp_reloc_name(uint32_t type)
{
    int i = reloc_index(type);
    return i < 0 ? "unsupported relocation" : reloc_types[i].name;
}

/* Sections after .lp.header, in section-header order; a NOBITS section
 * contributes its size (8 bytes little-endian) so bss growth changes the id. */
void lp_compute_patch_id(const uint8_t *buf, uint8_t id[16])
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
    const char *shstr = (const char *)buf + sh[eh->e_shstrndx].sh_offset;
    XXH3_state_t state, *st = &state;
    XXH3_INITSTATE(st);
    XXH3_128bits_reset(st);
    int after_header = 0;
    for (unsigned i = 1; i < eh->e_shnum; i++) {
        if (!after_header) {
            after_header = strcmp(shstr + sh[i].sh_name, LP_SEC_HEADER_NAME) == 0;
            continue;
        }
        if (sh[i].sh_type == SHT_NOBITS) {
            uint8_t le[8];
            for (int b = 0; b < 8; b++)
                le[b] = (uint8_t)(sh[i].sh_size >> (8 * b));
            XXH3_128bits_update(st, le, sizeof le);
        } else {
            XXH3_128bits_update(st, buf + sh[i].sh_offset, sh[i].sh_size);
        }
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
    memcpy(id, c.digest, 16);
}

uint64_t lp_compute_checksum(const uint8_t *buf, size_t len, size_t checksum_off)
{
    static const uint8_t zero[8];
    XXH3_state_t state, *st = &state;
    XXH3_INITSTATE(st);
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, buf, checksum_off);
    XXH3_64bits_update(st, zero, sizeof zero);
    XXH3_64bits_update(st, buf + checksum_off + 8, len - checksum_off - 8);
    uint64_t h = XXH3_64bits_digest(st);
    return h;
}
