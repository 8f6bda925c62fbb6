/*
 * livepatch-hooks.h - what a patch's hook file, and the NEW code of a patch,
 * may use inside the target process.
 *
 * A hook file is C the patch author writes beside a fix
 * (`lpdiff --hooks fix.c`, `make livepatch LIVEPATCH_HOOKS=fix.c`).  lpdiff
 * compiles it and links it, with the in-target hook runtime
 * (runtime/hooks/, no libc, no malloc), into the patch image.  Nothing is
 * preloaded and no library is added to the target.
 *
 * Callbacks.  At most one of each kind per patch:
 *
 *     static int check(void) { return busy ? lp_veto("busy, retry") : 0; }
 *     LP_PRE_APPLY(check);       int fn(void): non-zero vetoes the apply
 *     LP_POST_APPLY(fn);         void fn(void): after every entry switched
 *     LP_PRE_REVERT(fn);         int fn(void): non-zero vetoes the revert
 *     LP_POST_REVERT(fn);        void fn(void): after the old code is back
 *
 * lpatch runs them on a thread it borrows (registers and signal mask saved
 * and restored, on a stack of their own), never while that thread is inside
 * the allocator or the dynamic loader, with a time bound.  A vetoing,
 * crashing or hanging pre-callback leaves the process unpatched.
 *
 * Shadow variables attach extra fields to objects that already exist,
 * keyed by (object address, id), the way a fix that adds a struct member
 * reaches that member on objects created before the apply:
 *
 *     struct conn_extra { int flag; };
 *     #define CONN_EXTRA 1
 *     LP_SHADOW_MEMBER(struct conn, flag);   the layout change this handles
 *     ...
 *     struct conn_extra *x = lp_shadow_get_or_alloc(c, CONN_EXTRA, sizeof *x, NULL, NULL);
 *     if (x) x->flag = 1;
 *
 * The store is shared by every patch applied to the process (a stacked
 * patch finds the shadows an earlier one attached), lives in its own
 * mapping, and needs no malloc.  New shadow data is zero-filled before the
 * ctor (if any) runs.  Every function is safe to call from any thread.
 */
#ifndef LIVEPATCH_HOOKS_H
#define LIVEPATCH_HOOKS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The functions below are weak: a NEW build that calls them links without
 * them (lpdiff binds every call to the copy it links into the patch).  To
 * run such a NEW build directly, link the hook runtime into it:
 * lib/livepatch/livepatch-hooks.o, or -Wl,--whole-archive -llivepatch-hooks
 * -Wl,--no-whole-archive (a weak reference alone pulls nothing out of an
 * archive: with a plain -llivepatch-hooks the functions stay NULL). */
#define LP__WEAK __attribute__((weak))

/* ---- Callbacks ------------------------------------------------------------ */

enum lp_hook_kind {
    LP_HOOK_PRE_APPLY = 1,
    LP_HOOK_POST_APPLY = 2,
    LP_HOOK_PRE_REVERT = 3,
    LP_HOOK_POST_REVERT = 4,
};

/* One declared callback: lpdiff reads these from the hook object's
 * LP_HOOK_DECL_SECTION (they are not copied into the patch). */
struct lp_hook_decl {
    unsigned int kind; /* enum lp_hook_kind */
    unsigned int line; /* __LINE__ of the declaration, for messages */
    void (*fn)(void);
};

#define LP_HOOK_DECL_SECTION   ".livepatch.hooks"
#define LP_SHADOW_DECL_SECTION ".livepatch.shadow_members"

#define LP__CAT2(a, b) a##b
#define LP__CAT(a, b)  LP__CAT2(a, b)
#define LP__HOOK(kind, fn)                                                                         \
    static const struct lp_hook_decl LP__CAT(lp__hook_, __LINE__)                                  \
        __attribute__((section(LP_HOOK_DECL_SECTION), used, aligned(8))) = {(kind), __LINE__,      \
                                                                            (void (*)(void))(fn)}

#define LP_PRE_APPLY(fn)   LP__HOOK(LP_HOOK_PRE_APPLY, (int (*)(void))(fn))
#define LP_POST_APPLY(fn)  LP__HOOK(LP_HOOK_POST_APPLY, (void (*)(void))(fn))
#define LP_PRE_REVERT(fn)  LP__HOOK(LP_HOOK_PRE_REVERT, (int (*)(void))(fn))
#define LP_POST_REVERT(fn) LP__HOOK(LP_HOOK_POST_REVERT, (void (*)(void))(fn))

/* Veto from a pre-callback: `return lp_veto("why");`.  lpatch prints the
 * message (a string that stays valid: a literal) and exits 1.  Returns -1. */
LP__WEAK int lp_veto(const char *msg);

/* ---- Shadow variables ----------------------------------------------------- */

/* ctor: fill new shadow data (already zeroed); non-zero means "do not
 * attach" and the alloc returns NULL.  dtor: release what the data holds
 * before it is freed.  Both run with the store locked: they must not call
 * lp_shadow_*. */
typedef int (*lp_shadow_ctor_t)(void *obj, void *shadow_data, void *ctor_data);
typedef void (*lp_shadow_dtor_t)(void *obj, void *shadow_data);

/* The data of (obj, id), or NULL. */
LP__WEAK void *lp_shadow_get(const void *obj, unsigned long id);
/* Attach new data of `size` bytes to (obj, id); NULL if (obj, id) already
 * has data, if the ctor refuses, or if the store is full. */
LP__WEAK void *lp_shadow_alloc(const void *obj, unsigned long id, size_t size,
                               lp_shadow_ctor_t ctor, void *ctor_data);
/* The data of (obj, id), attaching new data first if there is none. */
LP__WEAK void *lp_shadow_get_or_alloc(const void *obj, unsigned long id, size_t size,
                                      lp_shadow_ctor_t ctor, void *ctor_data);
/* Detach and free the data of (obj, id), if any (dtor first, if given). */
LP__WEAK void lp_shadow_free(const void *obj, unsigned long id, lp_shadow_dtor_t dtor);
/* Detach and free the data of every object for `id` (e.g. at revert). */
LP__WEAK void lp_shadow_free_all(unsigned long id, lp_shadow_dtor_t dtor);

/* Declare that this hook file handles the member MEMBER added to TYPE
 * (e.g. LP_SHADOW_MEMBER(struct conn, flag)): lpdiff then accepts that
 * layout change, and only that one - the patched code must reach the member
 * through a shadow variable, never through the object. */
#define LP_SHADOW_MEMBER(type, member)                                                             \
    static const char LP__CAT(lp__shadow_member_, __LINE__)[]                                      \
        __attribute__((section(LP_SHADOW_DECL_SECTION), used)) = #type "." #member

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_HOOKS_H */
