/*
 * liblivepatch.h - public API of runtime/ (liblivepatch).
 *
 * Reads and validates patch files (lpatch_format.h), lays a patch out as one
 * image, relocates that image for a given target address space, encodes the
 * entry redirections, and defines the in-target record of applied patches.
 * It never touches a process itself: applier/ does that with ptrace, and a
 * future in-process patcher will do it from inside.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * one line (no newline) describing what and where in `err` (LP_ERR_MAX).
 */
#ifndef LIBLIVEPATCH_H
#define LIBLIVEPATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lpatch_format.h"

#define LP_ERR_MAX 512

/* ---- Reading and validating a patch ---------------------------------- */

struct lp_patch; /* opaque; owns the file bytes */

/* Parse and fully validate: magic, version, checksum, sizes, every offset,
 * index and string in bounds.  Nothing is trusted after this but the
 * contents of code and data. */
int lp_patch_load(const char *path, struct lp_patch **out, char *err);
int lp_patch_parse(const void *buf, size_t len, struct lp_patch **out, char *err);
/* lp_patch_parse with `name` in messages instead of "<memory>". */
int lp_patch_parse_named(const void *buf, size_t len, const char *name, struct lp_patch **out,
                         char *err);
void lp_patch_free(struct lp_patch *p);
/* The path given to lp_patch_load (or the name given to the parser). */
const char *lp_patch_name(const struct lp_patch *p);
/* Recompute patch_id and checksum of a patch file held in memory after an
 * edit (tools, tests).  Checks only the ELF section table, not contents. */
int lp_patch_seal(void *buf, size_t len, char *err);
/* Print the human summary (`lpatch info`): id, module, build-ids, every
 * function with its flags and sizes, counts, and the .lp.summary text. */
void lp_patch_describe(const struct lp_patch *p, FILE *out);

const struct lp_header *lp_patch_header(const struct lp_patch *p);
const struct lp_func *lp_patch_funcs(const struct lp_patch *p, uint32_t *n);
const struct lp_sym *lp_patch_syms(const struct lp_patch *p, uint32_t *n);
const struct lp_reloc *lp_patch_relocs(const struct lp_patch *p, uint32_t *n);
const char *lp_patch_str(const struct lp_patch *p, uint32_t off);
/* Contents of a loadable section (BSS: NULL with its size). */
const uint8_t *lp_patch_section(const struct lp_patch *p, enum lp_section s, uint64_t *size);
const char *lp_patch_summary(const struct lp_patch *p, size_t *len);
/* The unwind table (LP_HDR_UNWIND) in .lp.rodata, checked by the loader;
 * NULL for a patch without one (made before unwind information existed). */
const struct lp_unwind_table *lp_patch_unwind(const struct lp_patch *p);

/* Names for messages and dumps: "R_X86_64_PC32", ".lp.text", "module". */
const char *lp_reloc_name(uint32_t type);
const char *lp_section_name(uint32_t section);
const char *lp_sym_kind_name(uint32_t kind);

/* Hex of an id or build-id into buf (2*len+1 bytes). */
char *lp_hex(const uint8_t *bytes, size_t len, char *buf);

/* The GNU build-id in a block of ELF notes (the bytes of an SHT_NOTE section
 * or a PT_NOTE segment): copied to out (LP_BUILD_ID_MAX bytes), its length
 * returned; 0 when there is none, or it is empty or longer than
 * LP_BUILD_ID_MAX.  Every note is bounds-checked.  The one reader of
 * build-ids: lpdiff and lpatch both use it. */
size_t lp_notes_build_id(const void *notes, size_t len, uint8_t out[LP_BUILD_ID_MAX]);

/* ---- Layout and relocation -------------------------------------------- */

/* Where each part goes inside the one contiguous image the applier maps.
 * text is first (page-aligned image start), then the call stubs, then
 * (from the next page, so text can be RX and the rest RW) rodata, data,
 * bss and the GOT slots the relocations need.
 *
 * GOT slots: one per distinct (symbol, use): GOTPCREL* and stub targets
 * hold the symbol address, GOTTPOFF the TP offset, TLSGD two (module id,
 * offset), TLSLD one pair (module id, 0).  Call stubs (`jmp *slot(%rip)`)
 * exist for every PLT32 call to a LP_SYM_DYNAMIC symbol; lp_relocate uses a
 * stub only when the callee is beyond rel32 reach of the call. */
struct lp_layout {
    uint64_t text_off, rodata_off, data_off, bss_off, got_off;
    uint64_t exec_size; /* [0, exec_size) must be executable: text + stubs */
    uint64_t size;      /* whole image, page-aligned, at least one page */
    uint32_t ngot;      /* 8-byte GOT slots */
    uint32_t nstubs;    /* LP_STUB_SIZE-byte call stubs at stub_off */
    uint64_t stub_off;
};

#define LP_STUB_SIZE 8

int lp_layout_compute(const struct lp_patch *p, struct lp_layout *lay, char *err);

/* What relocation needs to know of the target process. */
struct lp_target {
    uint64_t load_bias;  /* runtime address - link-time address of the module */
    uint64_t image_addr; /* where the image will live in the target */
    int has_static_tls;  /* module TLS at a fixed thread-pointer offset */
    int64_t tls_tpoff;   /* thread-pointer-relative start of the module's TLS block */
    uint64_t tls_modid;  /* module's DTV index (for TLSGD/TLSLD) */
    /* Resolve a LP_SYM_DYNAMIC symbol by name (called once per symbol; not
     * for "_GLOBAL_OFFSET_TABLE_", which is the patch's own GOT).  MODULE
     * symbols are load_bias + value, unless module_by_name is set: a stacked
     * patch (v2->v3 onto a process running v1 + v1->v2) names addresses of a
     * build the process does not run, so its module symbols go through
     * `resolve` too.  0 on success, else -1 with a reason in err. */
    int (*resolve)(void *ctx, const struct lp_patch *p, const struct lp_sym *s, uint64_t *addr,
                   char *err);
    void *ctx;
    int module_by_name; /* resolve LP_SYM_MODULE symbols through `resolve` */
};

/* Fill `image` (lay->size bytes) with the relocated image for a target
 * where it will live at t->image_addr (page-aligned).  `lay` must be what
 * lp_layout_compute gave for this patch.  Errors name the relocation,
 * symbol and value (overflow), or the symbol that could not be resolved. */
int lp_relocate(const struct lp_patch *p, const struct lp_layout *lay, const struct lp_target *t,
                uint8_t *image, char *err);

/* ---- Redirecting an entry --------------------------------------------- */

/* Bytes to write for redirecting the function whose symbol is at `sym_addr`
 * (runtime address) to `new_addr`: `pad` (written first, while the old entry
 * still runs old code) goes at sym_addr - prepad, then the 2-byte `entry`
 * at sym_addr + entry_off is switched with all threads stopped. */
struct lp_redirect {
    uint64_t pad_addr;
    uint8_t pad[LP_ENTRY_PAD]; /* LP_JMP_REL32_LEN or LP_JMP_ABS_LEN bytes used */
    uint32_t pad_len;
    uint64_t entry_addr;
    uint8_t entry[LP_ENTRY_LEN];      /* new bytes: short jmp into the pad */
    uint8_t entry_orig[LP_ENTRY_LEN]; /* 66 90 */
};

int lp_redirect_encode(uint64_t sym_addr, uint8_t entry_off, uint8_t prepad, uint64_t new_addr,
                       struct lp_redirect *r, char *err);

/* ---- Writing a patch (used by differ/) -------------------------------- */

/* The one place that serialises the format, computes patch_id and checksum. */
struct lp_writer;

struct lp_writer *lp_writer_new(void);
void lp_writer_free(struct lp_writer *w);
/* Intern a string; returns its .lp.strtab offset (0 for ""). */
uint32_t lp_writer_str(struct lp_writer *w, const char *s);
/* Append to a loadable section at `align`; returns the offset.  For
 * LP_SEC_BSS `data` must be NULL. */
uint64_t lp_writer_append(struct lp_writer *w, enum lp_section s, const void *data, uint64_t len,
                          uint64_t align);
/* Overwrite bytes appended earlier to a section with contents (a table
 * whose place is fixed before its contents are known). */
void lp_writer_put(struct lp_writer *w, enum lp_section s, uint64_t off, const void *data,
                   uint64_t len);
uint32_t lp_writer_sym(struct lp_writer *w, const struct lp_sym *sym); /* returns index */
void lp_writer_reloc(struct lp_writer *w, const struct lp_reloc *r);
void lp_writer_func(struct lp_writer *w, const struct lp_func *f);
void lp_writer_header(struct lp_writer *w, uint32_t flags, const uint8_t *old_build_id,
                      uint32_t old_len, const uint8_t *new_build_id, uint32_t new_len,
                      const char *module_name);
void lp_writer_summary(struct lp_writer *w, const char *text);
/* Serialise to `path` (atomically: temp file + rename).  patch_id may be NULL.
 * The writer checks only its own invariants; the content rules are the
 * loader's, so a writer user may lp_patch_load() the result as a self-check. */
int lp_writer_write(struct lp_writer *w, const char *path, uint8_t patch_id[16], char *err);
/* Replace the file at `path` by len bytes of data, atomically: a temp file
 * created (O_EXCL) beside it, then rename(2) over path.  A symlink at path
 * or at any temp name is replaced or refused, never written through. */
int lp_file_replace(const char *path, const void *data, size_t len, char *err);
/* Serialise into a malloc'd buffer (*buf, *len; free() it). */
int lp_writer_bytes(struct lp_writer *w, uint8_t **buf, size_t *len, uint8_t patch_id[16],
                    char *err);

#endif /* LIBLIVEPATCH_H */
