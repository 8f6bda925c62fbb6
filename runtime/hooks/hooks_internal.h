/*
 * hooks_internal.h - what the in-target hook runtime's files share: the
 * context symbol, raw system calls (no libc), a trap for broken invariants,
 * and the layout of the shadow store after its head.
 *
 * Everything here runs inside an arbitrary target process, copied into a
 * patch image (lpdiff links livepatch-hooks.o) or linked into a NEW build
 * (liblivepatch-hooks.a).  It is built freestanding (runtime/rules.mk): no
 * libc, no TLS, no constructors, no undefined symbols at all.
 *
 * The store is shared by every copy of this runtime in the process (one per
 * patch): its layout below is therefore a contract between those copies,
 * versioned by LPH_STORE_MAGIC.  All of it lives in the arena, addressed by
 * byte offsets from the arena's start, and all-zero is an empty store.
 */
#ifndef LP_HOOKS_INTERNAL_H
#define LP_HOOKS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lpatch_format.h"

#define LPH_HIDDEN __attribute__((visibility("hidden")))
#define LPH_API    __attribute__((visibility("default")))

/* The context lpatch writes (runtime/hooks/ctx.c defines it). */
extern struct lp_hook_ctx lp__hook_ctx LPH_HIDDEN;

/* A broken invariant stops the process here rather than corrupt it further. */
#define LPH_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* ---- The store after struct lp_shadow_head (offset 0) --------------------- */

#define LPH_STORE_MAGIC  0x31574f4441485350ull /* "PSHADOW1" */
#define LPH_NODE_HDR     32u                   /* bytes before a shadow's data */
#define LPH_MIN_CLASS    6u                    /* smallest block: 64 bytes */
#define LPH_NCLASS       48u                   /* block of class c is 1 << c bytes */
#define LPH_BUCKET_BYTES 1024u                 /* arena bytes per hash bucket */

struct lph_store {
    uint64_t magic;             /* LPH_STORE_MAGIC once initialised, 0 before */
    uint64_t size;              /* arena bytes this store uses, fixed at initialisation */
    uint64_t nbuckets;          /* a power of two */
    uint64_t buckets;           /* offset of uint64_t[nbuckets]: first node of each chain, or 0 */
    uint64_t heap;              /* offset of the first block */
    uint64_t bump;              /* offset of the first byte never handed out */
    uint64_t nfree;             /* blocks on the free lists */
    uint64_t reserved;          /* 0 */
    uint64_t free_[LPH_NCLASS]; /* per class: first free block, or 0 */
};

/* A block: this header, then the shadow data (16-byte aligned). */
struct lph_node {
    uint64_t next; /* next node of its hash chain or free list, or 0 */
    uint64_t obj;
    uint64_t id;
    uint64_t cls; /* the block is 1 << cls bytes */
};

#define LPH_STORE_OFF sizeof(struct lp_shadow_head)

_Static_assert(sizeof(struct lph_node) == LPH_NODE_HDR, "node header keeps data 16-aligned");
_Static_assert(LPH_STORE_OFF == 16, "the store follows the 16-byte head");

/* ---- Raw system calls ------------------------------------------------------ */

static inline long lph_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define LPH_SYS_MMAP        9
#define LPH_SYS_MUNMAP      11
#define LPH_SYS_SCHED_YIELD 24

/* The calling thread's thread pointer (%fs:0 holds its own address). */
static inline uint64_t lph_thread_pointer(void)
{
    uint64_t tp;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

#endif /* LP_HOOKS_INTERNAL_H */
