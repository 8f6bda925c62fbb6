/*
 * lpatch_format.h - the livepatch patch file (.lpatch), defined once.
 *
 * Written by differ/ (lpdiff), read and validated by runtime/ (liblivepatch),
 * installed by applier/ (lpatch).  Nothing else defines this layout.
 *
 * A patch is an ELF64 little-endian x86-64 file (e_type ET_REL, e_machine
 * EM_X86_64) so readelf/objdump can inspect it.  Its sections:
 *
 *   .lp.header   struct lp_header (exactly one)
 *   .lp.text     code of replaced and added functions     (SHF_ALLOC|EXECINSTR)
 *   .lp.rodata   read-only data the new code needs        (SHF_ALLOC);
 *                with LP_HDR_UNWIND also the patch's unwind information
 *   .lp.data     initial contents of new writable data    (SHF_ALLOC|WRITE)
 *   .lp.bss      size of new zero-initialised data        (SHT_NOBITS)
 *   .lp.funcs    struct lp_func[nfuncs]
 *   .lp.syms     struct lp_sym[nsyms]: targets of relocations
 *   .lp.relocs   struct lp_reloc[nrelocs]
 *   .lp.strtab   NUL-separated strings; offset 0 is ""
 *   .lp.summary  human-readable text: functions, files, lines
 *   .shstrtab
 *
 * Addresses of the target module are link-time virtual addresses (what
 * st_value says in the OLD build); at run time add the module's load bias.
 *
 * Integrity: header.checksum is XXH3-64 of the whole file with the checksum
 * field taken as zero.  header.patch_id is XXH128 (canonical bytes) of the
 * concatenated contents of every section after .lp.header, in section-header
 * order: the same patch content always has the same id.
 */
#ifndef LPATCH_FORMAT_H
#define LPATCH_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "lp_entry.h" /* the entry layout old_prepad and old_entry_off describe */

#define LP_MAGIC          "LPATCH\0\0" /* 8 bytes */
#define LP_FORMAT_VERSION 1
#define LP_BUILD_ID_MAX   32 /* GNU build-ids are 20 bytes (sha1) */

#define LP_SEC_HEADER_NAME  ".lp.header"
#define LP_SEC_TEXT_NAME    ".lp.text"
#define LP_SEC_RODATA_NAME  ".lp.rodata"
#define LP_SEC_DATA_NAME    ".lp.data"
#define LP_SEC_BSS_NAME     ".lp.bss"
#define LP_SEC_FUNCS_NAME   ".lp.funcs"
#define LP_SEC_SYMS_NAME    ".lp.syms"
#define LP_SEC_RELOCS_NAME  ".lp.relocs"
#define LP_SEC_STRTAB_NAME  ".lp.strtab"
#define LP_SEC_SUMMARY_NAME ".lp.summary"

/* The loadable parts of a patch, as named in lp_sym.section / lp_reloc.section. */
enum lp_section {
    LP_SEC_TEXT = 1,
    LP_SEC_RODATA = 2,
    LP_SEC_DATA = 3,
    LP_SEC_BSS = 4,
};

enum lp_header_flags {
    LP_HDR_MODULE_PIC = 1u << 0,    /* target is PIE or a shared library */
    LP_HDR_MODULE_SHARED = 1u << 1, /* target is a shared library (ET_DYN, not PIE) */
    LP_HDR_HOOKS = 1u << 2,         /* .lp.rodata starts with struct lp_hook_table */
    LP_HDR_UNWIND = 1u << 3,        /* struct lp_unwind_table at LP_UNWIND_OFF in .lp.rodata */
};

struct lp_header {
    char magic[8];      /* LP_MAGIC */
    uint32_t version;   /* LP_FORMAT_VERSION */
    uint32_t flags;     /* enum lp_header_flags */
    uint64_t file_size; /* bytes of the whole file */
    uint64_t checksum;  /* XXH3-64, see above */
    uint8_t patch_id[16];
    uint8_t old_build_id[LP_BUILD_ID_MAX]; /* module this patch applies to */
    uint8_t new_build_id[LP_BUILD_ID_MAX]; /* module the patched code comes from */
    uint32_t old_build_id_len;
    uint32_t new_build_id_len;
    uint32_t module_name; /* strtab: module path as given to lpdiff (REL/PATH) */
    uint32_t nfuncs;
    uint32_t nsyms;
    uint32_t nrelocs;
    uint64_t created; /* 0: patches are reproducible, no timestamps */
    uint8_t reserved[32];
};

enum lp_func_flags {
    LP_FUNC_NEW = 1u << 0,          /* added by the patch: nothing to redirect */
    LP_FUNC_ALLOW_ACTIVE = 1u << 1, /* may be on a stack while patching (main loop):
                                       the running activation finishes on old code */
    LP_FUNC_LOCAL = 1u << 2,        /* static function: identified by name + unit */
};

/* One function of the patch: replaced (redirected) or new. */
struct lp_func {
    uint32_t name;         /* strtab: assembler name */
    uint32_t flags;        /* enum lp_func_flags */
    uint64_t unit_id;      /* lpmeta unit id of its compilation unit; 0 if unknown */
    uint64_t old_addr;     /* link-time address of the old symbol (0 if NEW) */
    uint32_t old_size;     /* st_size of the old symbol */
    uint8_t old_entry_off; /* offset of the 2-byte entry NOP (0, or 4 after endbr64) */
    uint8_t old_prepad;    /* bytes of NOP pad before old_addr (>= LP_ENTRY_PAD_MIN) */
    uint16_t reserved;
    uint64_t old_code_hash; /* XXH3-64 of the old function's bytes [old_addr,
                               old_addr+old_size) as the module file has them */
    uint64_t new_off;       /* offset in .lp.text */
    uint32_t new_size;
    uint32_t file; /* strtab: source file of the new code ("" if unknown) */
    uint32_t line; /* first line of the new function (0 if unknown) */
    uint32_t reserved2;
};

enum lp_sym_kind {
    LP_SYM_PATCH = 1,   /* inside this patch: section + value (offset) */
    LP_SYM_MODULE = 2,  /* in the target module: value = link-time address */
    LP_SYM_DYNAMIC = 3, /* resolved by name the way the target's link map does */
    LP_SYM_TLS = 4,     /* TLS of the target module: value = offset in its TLS block */
};

/* A relocation target. */
struct lp_sym {
    uint32_t kind;    /* enum lp_sym_kind */
    uint32_t name;    /* strtab: symbol name (for messages; the key for DYNAMIC) */
    uint32_t section; /* LP_SYM_PATCH: enum lp_section; else 0 */
    uint32_t size;
    uint64_t value;   /* see enum lp_sym_kind */
    uint64_t unit_id; /* local symbols: lpmeta unit id; 0 for globals */
};

/*
 * A fixup inside the patch.  `type` is the x86-64 ELF relocation type exactly
 * as the compiler emitted it (R_X86_64_PC32, PLT32, 64, 32, 32S, PC64,
 * GOTPCREL, GOTPCRELX, REX_GOTPCRELX, GOTPC32, TPOFF32, TPOFF64, GOTTPOFF,
 * TLSGD, TLSLD, DTPOFF32, DTPOFF64); the runtime computes the value and,
 * where the type needs one, a GOT slot in the patch image.
 */
struct lp_reloc {
    uint64_t offset;  /* within `section` */
    uint32_t section; /* enum lp_section where the fixup is written */
    uint32_t type;    /* R_X86_64_* */
    uint32_t sym;     /* index into .lp.syms */
    uint32_t reserved;
    int64_t addend;
};

/*
 * Hooks (runtime/livepatch-hooks.h).  A patch that links the in-target hook
 * runtime - it has callbacks, or its code uses shadow variables - sets
 * LP_HDR_HOOKS, and its .lp.rodata starts with this table.  Every non-zero
 * field after `magic` is filled by exactly one R_X86_64_64 relocation:
 * `self` to the table itself, `ctx` to the struct lp_hook_ctx in .lp.data,
 * the callbacks into .lp.text.  The table sits at the start of the
 * image's read-only part (lp_layout.rodata_off == exec_size), where revert
 * finds it again through `self`.
 */
#define LP_HOOKS_MAGIC "LPHOOKS" /* 8 bytes with its NUL */

struct lp_hook_table {
    char magic[8];
    uint64_t self;
    uint64_t ctx;
    uint64_t pre_apply;   /* int fn(void) */
    uint64_t post_apply;  /* void fn(void) */
    uint64_t pre_revert;  /* int fn(void) */
    uint64_t post_revert; /* void fn(void) */
    uint64_t reserved;
};

/*
 * The writable context the hook runtime in the target shares with lpatch
 * (symbol LP_HOOK_CTX_SYMBOL of the hook runtime).  lpatch writes
 * shadow_arena/shadow_arena_size before any code of the patch can run; the
 * runtime writes veto_msg (lp_veto) and lpatch reads it after a callback.
 */
#define LP_HOOK_CTX_SYMBOL "lp__hook_ctx"

struct lp_hook_ctx {
    uint64_t shadow_arena;      /* address of the shadow store shared by all patches */
    uint64_t shadow_arena_size; /* bytes mapped there */
    uint64_t veto_msg;          /* address of a NUL-terminated message, or 0 */
    uint64_t reserved[5];
};

/*
 * The shadow store: one anonymous private mapping per process, made by
 * lpatch, zero-filled (all zero is an empty store).  Its first bytes are
 * this head; the rest belongs to runtime/hooks/.  `lock` is 0 when free,
 * else the owning thread's thread pointer (%fs:0): lpatch never borrows
 * that thread for a callback while it holds the lock.
 */
#define LP_SHADOW_ARENA_SIZE (64ull << 20)

struct lp_shadow_head {
    uint64_t lock;
    uint64_t nlive; /* shadow variables attached now */
};

/*
 * Unwind information (LP_HDR_UNWIND): the call frame information of the
 * patch's code, so that unwinders in the target (libgcc's, which glibc's
 * backtrace() and C++ exceptions use; libunwind's) walk through patched
 * frames.  In .lp.rodata at LP_UNWIND_OFF (right after the hook table if
 * there is one, else at 0): this table; at eh_frame_off the CIEs and FDEs
 * as in an ELF .eh_frame section (each entry a 32-bit length, CIE id 0 /
 * CIE pointer, pc_begin encoded pcrel|sdata4 and filled by an R_X86_64_PC32
 * relocation into .lp.text), then 4 zero bytes (the terminator
 * __register_frame wants); at index_off nfde struct lp_unwind_index sorted
 * by start (libunwind's binary-search table, UNW_INFO_FORMAT_IP_OFFSET).
 * The fields after `nfde` are zero in the file; lpatch writes them in the
 * target (the image's part after the text is writable) so that revert,
 * which has no patch file, can undo exactly the registrations it made.
 * The image starts with .lp.text, so the table's address in the target is
 * image + exec_size + LP_UNWIND_OFF(flags-with-hooks).
 */
#define LP_UNWIND_MAGIC          "LPUNWND" /* 8 bytes with its NUL */
#define LP_UNWIND_OFF(hdr_flags) (((hdr_flags)&LP_HDR_HOOKS) ? sizeof(struct lp_hook_table) : 0)

struct lp_unwind_index {
    int32_t start; /* offset in .lp.text of the first byte an FDE covers */
    int32_t fde;   /* offset of that FDE from the start of the eh_frame */
};

struct lp_unwind_table {
    char magic[8];
    uint32_t eh_frame_off;  /* in .lp.rodata, 8-aligned */
    uint32_t eh_frame_size; /* bytes, the 4-byte terminator included */
    uint32_t index_off;     /* in .lp.rodata, 8-aligned */
    uint32_t nfde;
    uint32_t text_lo, text_hi; /* [text_lo, text_hi) of .lp.text the FDEs cover */
    /* Written by lpatch in the target; zero in the file. */
    uint64_t frame_dereg;  /* libgcc __deregister_frame revert calls; 0: not registered */
    uint64_t frame_addr;   /* what was passed to __register_frame */
    uint64_t dyn_cancel;   /* libunwind _U_dyn_cancel revert calls; 0: not registered */
    uint64_t dyn_info[12]; /* libunwind's unw_dyn_info_t (88 bytes) */
    uint64_t reserved;
};

/*
 * The on-disk layout, checked: a change to any struct above is a new format
 * (LP_FORMAT_VERSION), never an accident of padding.  The offsets are the
 * fields tools read from the file directly (lpatch info, lpdiff --dump).
 */
LP_STATIC_ASSERT(sizeof(struct lp_header) == 176, "lp_header is 176 bytes");
LP_STATIC_ASSERT(offsetof(struct lp_header, magic) == 0, "lp_header.magic");
LP_STATIC_ASSERT(offsetof(struct lp_header, version) == 8, "lp_header.version");
LP_STATIC_ASSERT(offsetof(struct lp_header, flags) == 12, "lp_header.flags");
LP_STATIC_ASSERT(offsetof(struct lp_header, file_size) == 16, "lp_header.file_size");
LP_STATIC_ASSERT(offsetof(struct lp_header, checksum) == 24, "lp_header.checksum");
LP_STATIC_ASSERT(offsetof(struct lp_header, patch_id) == 32, "lp_header.patch_id");
LP_STATIC_ASSERT(offsetof(struct lp_header, old_build_id) == 48, "lp_header.old_build_id");
LP_STATIC_ASSERT(offsetof(struct lp_header, new_build_id) == 80, "lp_header.new_build_id");
LP_STATIC_ASSERT(offsetof(struct lp_header, old_build_id_len) == 112, "lp_header.old_build_id_len");
LP_STATIC_ASSERT(offsetof(struct lp_header, new_build_id_len) == 116, "lp_header.new_build_id_len");
LP_STATIC_ASSERT(offsetof(struct lp_header, module_name) == 120, "lp_header.module_name");
LP_STATIC_ASSERT(offsetof(struct lp_header, nfuncs) == 124, "lp_header.nfuncs");
LP_STATIC_ASSERT(offsetof(struct lp_header, nsyms) == 128, "lp_header.nsyms");
LP_STATIC_ASSERT(offsetof(struct lp_header, nrelocs) == 132, "lp_header.nrelocs");
LP_STATIC_ASSERT(offsetof(struct lp_header, created) == 136, "lp_header.created");

LP_STATIC_ASSERT(sizeof(struct lp_func) == 64, "lp_func is 64 bytes");
LP_STATIC_ASSERT(offsetof(struct lp_func, old_addr) == 16, "lp_func.old_addr");
LP_STATIC_ASSERT(offsetof(struct lp_func, old_size) == 24, "lp_func.old_size");
LP_STATIC_ASSERT(offsetof(struct lp_func, old_entry_off) == 28, "lp_func.old_entry_off");
LP_STATIC_ASSERT(offsetof(struct lp_func, old_prepad) == 29, "lp_func.old_prepad");
LP_STATIC_ASSERT(offsetof(struct lp_func, old_code_hash) == 32, "lp_func.old_code_hash");
LP_STATIC_ASSERT(offsetof(struct lp_func, new_off) == 40, "lp_func.new_off");
LP_STATIC_ASSERT(offsetof(struct lp_func, new_size) == 48, "lp_func.new_size");
LP_STATIC_ASSERT(offsetof(struct lp_func, file) == 52, "lp_func.file");
LP_STATIC_ASSERT(offsetof(struct lp_func, line) == 56, "lp_func.line");

LP_STATIC_ASSERT(sizeof(struct lp_sym) == 32, "lp_sym is 32 bytes");
LP_STATIC_ASSERT(offsetof(struct lp_sym, value) == 16, "lp_sym.value");
LP_STATIC_ASSERT(offsetof(struct lp_sym, unit_id) == 24, "lp_sym.unit_id");

LP_STATIC_ASSERT(sizeof(struct lp_reloc) == 32, "lp_reloc is 32 bytes");
LP_STATIC_ASSERT(offsetof(struct lp_reloc, section) == 8, "lp_reloc.section");
LP_STATIC_ASSERT(offsetof(struct lp_reloc, type) == 12, "lp_reloc.type");
LP_STATIC_ASSERT(offsetof(struct lp_reloc, sym) == 16, "lp_reloc.sym");
LP_STATIC_ASSERT(offsetof(struct lp_reloc, addend) == 24, "lp_reloc.addend");

LP_STATIC_ASSERT(sizeof(struct lp_hook_table) == 64, "lp_hook_table is 64 bytes");
LP_STATIC_ASSERT(sizeof(struct lp_hook_ctx) == 64, "lp_hook_ctx is 64 bytes");
LP_STATIC_ASSERT(sizeof(struct lp_unwind_table) == 160, "lp_unwind_table is 160 bytes");
LP_STATIC_ASSERT(offsetof(struct lp_unwind_table, frame_dereg) == 32,
                 "lp_unwind_table.frame_dereg");
LP_STATIC_ASSERT(sizeof(struct lp_unwind_index) == 8, "lp_unwind_index is 8 bytes");
LP_STATIC_ASSERT(offsetof(struct lp_shadow_head, lock) == 0, "lp_shadow_head.lock");

#endif /* LPATCH_FORMAT_H */
