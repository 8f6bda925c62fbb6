/*
 * hooks.c - a patch's callbacks, run inside the target on a borrowed thread.
 *
 * The thread: lpatch holds one thread (the leader) and looks at its stack
 * with libunwind over ptrace.  It is not borrowed while any frame lies in
 * the allocator (malloc and its kin), the dynamic loader (any frame in
 * ld.so, dlopen and its kin), fork or thread creation, which hold locks a
 * callback could need again; nor while its innermost frame is in libc code
 * no exported symbol covers and it is not blocked in a system call (an
 * allocator internal reached by a tail call); nor while it holds the
 * shadow store's lock (the lock word is its thread pointer).  Then it is
 * released and tried again after a backoff, like the stack check of a
 * switch.  Other threads run on meanwhile, as they do for the kernel's
 * callbacks.
 *
 * The call: a fresh stack mapped for it (remote mmap), the return address
 * pointing into the patch's context (mapped, never executable: the return
 * is a fault lpatch recognises), registers, FP state and signal mask saved
 * and restored (lpa_rcall in stop.c), bounded by --timeout.  A
 * pre-callback's non-zero return is a veto; its message is read from the
 * context (lp_veto).
 */
#include "hooks.h"
#include "pause.h"
#include "proc.h"
#include "stop.h"

#include <errno.h>
#include <libunwind-ptrace.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>

#include "livepatch-hooks.h"

#define CALL_STACK_SIZE (256u << 10)
#define MAX_FRAMES      128

int lpa_hooks_read(int memfd, uint64_t image, uint64_t exec_size, uint64_t image_size,
                   struct lp_hook_table *out)
{
    uint64_t at = image + exec_size; /* .lp.rodata comes first after the text */
    if (exec_size + sizeof(*out) > image_size || lpa_mem_read(memfd, at, out, sizeof(*out)) != 0)
        return 0;
    return !memcmp(out->magic, LP_HOOKS_MAGIC, sizeof(out->magic)) && out->self == at &&
           out->ctx >= image + exec_size &&
           out->ctx + sizeof(struct lp_hook_ctx) <= image + image_size;
}

static const char *const unsafe_names[] = {
    "malloc",
    "free",
    "calloc",
    "realloc",
    "reallocarray",
    "memalign",
    "posix_memalign",
    "aligned_alloc",
    "valloc",
    "pvalloc",
    "malloc_trim",
    "malloc_usable_size",
    "malloc_info",
    "malloc_stats",
    "mallinfo",
    "mallinfo2",
    "mallopt",
    "__libc_malloc",
    "__libc_free",
    "__libc_calloc",
    "__libc_realloc",
    "__libc_memalign",
    "__libc_valloc",
    "__libc_pvalloc",
    "fork",
    "_Fork",
    "__libc_fork",
    "vfork",
    "pthread_create",
    "dlopen",
    "dlclose",
    "dlsym",
    "dlvsym",
    "dladdr",
    "dladdr1",
    "dlinfo",
    "dlmopen",
    "dlerror",
    "dl_iterate_phdr",
    "__libc_dlopen_mode",
    "__libc_dlsym",
    "__libc_dlvsym",
    "__libc_dlclose",
    "__tls_get_addr",
};

static int unsafe_name(const char *n)
{
    if (!strncmp(n, "_dl_", 4) || !strncmp(n, "__GI___libc_malloc", 18))
        return 1;
    for (size_t i = 0; i < sizeof(unsafe_names) / sizeof(unsafe_names[0]); i++)
        if (!strcmp(n, unsafe_names[i]))
            return 1;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int is_libc(const char *path)
{
    return !strncmp(base_name(path), "libc.so", 7) || !strncmp(base_name(path), "libc-", 5);
}

static int is_loader(const char *path)
{
    return !strncmp(base_name(path), "ld-linux", 8) || !strncmp(base_name(path), "ld-", 3);
}

/* Is `path` a file whose name starts with one of `avoid` (NULL-ended)? */
static int avoided(const char *path, const char *const *avoid)
{
    for (; avoid && *avoid; avoid++)
        if (!strncmp(base_name(path), *avoid, strlen(*avoid)))
            return 1;
    return 0;
}

/* 0: thread `tid` (held, registers r) may run a call for lpatch; 1 with
 * why.  `avoid`: more files no frame may lie in (their locks), or NULL. */
static int borrow_check(pid_t pid, pid_t tid, const struct user_regs_struct *r, int memfd,
                        uint64_t arena, const char *const *avoid, char *why)
{
    if (arena) {
        uint64_t lock = 0;
        if (lpa_mem_read(memfd, arena + offsetof(struct lp_shadow_head, lock), &lock, 8) == 0 &&
            lock && lock == r->fs_base) {
            snprintf(why, LP_ERR_MAX, "thread %d holds the shadow store's lock", (int)tid);
            return 1;
        }
    }
    struct lpa_maps m;
    char e[LP_ERR_MAX];
    if (lpa_maps_read(pid, &m, e) != 0) {
        snprintf(why, LP_ERR_MAX, "%s", e);
        return 1;
    }
    unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
    void *upt = as ? _UPT_create(tid) : NULL;
    unw_cursor_t c;
    int verdict = 0;
    if (!as || !upt || unw_init_remote(&c, as, upt) != 0) {
        snprintf(why, LP_ERR_MAX, "thread %d: cannot walk its stack", (int)tid);
        verdict = 1;
        goto out;
    }
    for (int depth = 0; depth < MAX_FRAMES; depth++) {
        unw_word_t ip = 0, off = 0;
        unw_get_reg(&c, UNW_REG_IP, &ip);
        const struct lpa_map *mp = lpa_maps_find(&m, ip);
        const char *path = mp ? mp->path : "";
        char name[256] = "";
        int named = unw_get_proc_name(&c, name, sizeof(name), &off) == 0;
        if (is_loader(path)) {
            snprintf(why, LP_ERR_MAX, "thread %d is in the dynamic loader (%s)", (int)tid,
                     named ? name : base_name(path));
            verdict = 1;
            break;
        }
        if (mp && avoided(path, avoid)) {
            snprintf(why, LP_ERR_MAX, "thread %d is in %s", (int)tid, base_name(path));
            verdict = 1;
            break;
        }
        if (named && unsafe_name(name) && (is_libc(path) || !mp)) {
            snprintf(why, LP_ERR_MAX, "thread %d is in %s", (int)tid, name);
            verdict = 1;
            break;
        }
        if (depth == 0 && is_libc(path) && !named && r->orig_rax == (unsigned long long)-1) {
            snprintf(why, LP_ERR_MAX, "thread %d is running libc internals at %#llx", (int)tid,
                     (unsigned long long)ip);
            verdict = 1;
            break;
        }
        if (unw_step(&c) <= 0)
            break;
    }
out:
    if (upt)
        _UPT_destroy(upt);
    if (as)
        unw_destroy_addr_space(as);
    lpa_maps_free(&m);
    return verdict;
}

static uint64_t table_fn(const struct lp_hook_table *t, unsigned kind)
{
    switch (kind) {
    case LP_HOOK_PRE_APPLY:
        return t->pre_apply;
    case LP_HOOK_POST_APPLY:
        return t->post_apply;
    case LP_HOOK_PRE_REVERT:
        return t->pre_revert;
    case LP_HOOK_POST_REVERT:
        return t->post_revert;
    }
    return 0;
}

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case LP_HOOK_PRE_APPLY:
        return "pre-apply";
    case LP_HOOK_POST_APPLY:
        return "post-apply";
    case LP_HOOK_PRE_REVERT:
        return "pre-revert";
    case LP_HOOK_POST_REVERT:
        return "post-revert";
    }
    return "?";
}

int lpa_borrow_call(pid_t pid, int memfd, uint64_t insn, const struct lpa_borrow *b,
                    const struct lpa_opts *o, uint64_t *ret, char *err)
{
    char why[LP_ERR_MAX] = "";
    unsigned backoff = o->backoff_us;
    int attempts = o->retries > 0 ? o->retries : 1;
    for (int attempt = 0; attempt < attempts; attempt++) {
        if (attempt)
            lpa_backoff_wait(o, &backoff);
        struct lpa_world w;
        enum lpa_stop_err se = lpa_stop(&w, pid, 1, o->timeout_ms, err);
        if (se != LPA_STOP_OK)
            return lpa_stop_code(se);
        struct user_regs_struct r;
        if (ptrace(PTRACE_GETREGS, w.t[0].tid, 0, &r) != 0) {
            lpa_err(err, "thread %d: reading registers: %s", (int)w.t[0].tid, strerror(errno));
            lpa_release(&w);
            return LPA_USAGE;
        }
        if (borrow_check(pid, w.t[0].tid, &r, memfd, b->arena, b->avoid, why)) {
            lpa_release(&w);
            continue;
        }
        int64_t stack =
            lpa_rsys_val(&w, insn, SYS_mmap, 0, CALL_STACK_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, (uint64_t)-1, 0, err);
        if (stack < 0) {
            if (stack != INT64_MIN)
                lpa_err(err, "process %d: remote mmap of a stack: %s", (int)pid,
                        strerror((int)-stack));
            lpa_release(&w);
            return LPA_REFUSED;
        }
        struct lpa_rcall c = {.fn = b->fn,
                              .arg = b->arg,
                              .stack_top = (uint64_t)stack + CALL_STACK_SIZE,
                              .ret_addr = b->ret_addr,
                              .timeout_ms = o->timeout_ms};
        char cerr[LP_ERR_MAX];
        int rc = lpa_rcall(&w, 0, memfd, &c, ret, cerr);
        if (rc >= 0 && w.n) /* the thread is held again: drop its stack */
            lpa_rsys_val(&w, insn, SYS_munmap, (uint64_t)stack, CALL_STACK_SIZE, 0, 0, 0, 0, why);
        lpa_release(&w);
        if (rc < 0) {
            lpa_err(err, "process %d: %s: %s", (int)pid, b->what, cerr);
            return LPA_USAGE;
        }
        if (rc != LPA_RCALL_OK && b->arena) {
            /* It stopped inside the store (a ctor, a dtor): the lock it took
             * would stay taken, and before the call it was not held by this
             * thread (borrow_check). */
            uint64_t lock = 0, zero = 0;
            size_t off = offsetof(struct lp_shadow_head, lock);
            if (lpa_mem_read(memfd, b->arena + off, &lock, 8) == 0 && lock == r.fs_base)
                lpa_mem_write(memfd, b->arena + off, &zero, 8);
        }
        if (rc != LPA_RCALL_OK) {
            lpa_err(err, "process %d: %s %s", (int)pid, b->what, cerr);
            return LPA_REFUSED;
        }
        return LPA_OK;
    }
    lpa_err(err, "process %d: no thread to %s %s on after %d tries: %s", (int)pid, b->how, b->what,
            attempts, why);
    return LPA_REFUSED;
}

int lpa_hooks_run(pid_t pid, int memfd, uint64_t insn, const struct lpa_state *st,
                  const struct lp_hook_table *t, unsigned kind, const struct lpa_opts *o, char *err)
{
    uint64_t fn = table_fn(t, kind);
    if (!fn)
        return LPA_OK;
    char what[32];
    snprintf(what, sizeof(what), "%s callback", kind_name(kind));
    struct lpa_borrow b = {.fn = fn,
                           .ret_addr = t->ctx,
                           .arena = st->area ? lpa_state_hdr(st)->shadow_arena : 0,
                           .what = what,
                           .how = "run the"};
    uint64_t ret = 0;
    int rc = lpa_borrow_call(pid, memfd, insn, &b, o, &ret, err);
    if (rc != LPA_OK)
        return rc;
    int is_pre = kind == LP_HOOK_PRE_APPLY || kind == LP_HOOK_PRE_REVERT;
    if (is_pre && (int32_t)ret != 0) {
        char msg[256] = "";
        struct lp_hook_ctx ctx;
        if (lpa_mem_read(memfd, t->ctx, &ctx, sizeof(ctx)) == 0 && ctx.veto_msg) {
            if (lpa_mem_read(memfd, ctx.veto_msg, msg, sizeof(msg) - 1) != 0)
                msg[0] = 0;
            msg[sizeof(msg) - 1] = 0;
            uint64_t zero = 0; /* the next veto starts clean */
            lpa_mem_write(memfd, t->ctx + offsetof(struct lp_hook_ctx, veto_msg), &zero, 8);
        }
        lpa_err(err, "process %d: the %s callback vetoed: %s", (int)pid, kind_name(kind),
                *msg ? msg : "(no message)");
        return LPA_REFUSED;
    }
    return LPA_OK;
}
