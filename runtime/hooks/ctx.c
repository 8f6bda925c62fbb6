/*
 * ctx.c - the context the in-target hook runtime shares with lpatch, and
 * lp_veto.
 *
 * lp__hook_ctx (LP_HOOK_CTX_SYMBOL) is zero-initialised writable data of
 * the patch image (.data): lpatch finds it by name, writes the shadow arena's
 * address and size before any code of the patch runs, and reads veto_msg
 * after a pre-callback returned.  A NEW build linked directly with
 * liblivepatch-hooks.a starts with it all zero (the store then maps its own
 * arena, runtime/hooks/shadow.c).
 */
#include "livepatch-hooks.h"
#include "hooks_internal.h"

/* In .data, not .bss: the hook table's `ctx` points into .lp.data
 * (lpatch_format.h). */
struct lp_hook_ctx lp__hook_ctx LPH_HIDDEN __attribute__((section(".data")));

LPH_API int lp_veto(const char *msg)
{
    __atomic_store_n(&lp__hook_ctx.veto_msg, (uint64_t)(uintptr_t)msg, __ATOMIC_RELEASE);
    return -1;
}
