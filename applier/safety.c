/*
 * safety.c - the stack check, with libunwind over ptrace.
 *
 * One libunwind address space with a global cache lives for the whole run,
 * so retries re-use parsed unwind tables (uncached unwinding costs ~1 ms per
 * thread; cached ~20 us).  Frames without unwind information fall back to a
 * conservative scan of the raw stack words.
 */
#include "safety.h"
#include "emulate.h"
#include "proc.h"

#include <assert.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#define MAX_FRAMES   256
#define RAW_SCAN     (64u << 10)
#define MAX_STEPS    200   /* single steps to leave a replaced function */
#define MAX_EMULATED 20000 /* instructions run here per stop, all threads: ~40 ns each */

#define NPAGES 64

/* Memory and registers come from our own accessors: memory through
 * /proc/PID/mem with a page cache valid for one stop (libunwind-ptrace
 * reads word by word with PTRACE_PEEKDATA, which dominates the cost), and
 * registers from one PTRACE_GETREGS.  Unwind tables are found by
 * libunwind-ptrace itself, with one handle per module so each keeps its
 * parsed table (it caches only the last ELF image it opened). */
struct upt_slot {
    uint64_t lo, hi;
    void *upt;
};

struct lpa_safety {
    unw_addr_space_t as;
    unw_accessors_t acc;
    uint64_t (*opaque)[2];
    size_t nopaque;
    pid_t pid;
    int memfd;
    struct lpa_maps stopmaps; /* of the current stop, read lazily */
    struct lpa_maps modmaps;  /* for choosing a libunwind handle per module */
    struct upt_slot *upts;
    size_t nupts;
    void *upt_any;
    struct user_regs_struct regs;
    uint64_t page_addr[NPAGES];
    uint8_t (*page)[4096];
    unsigned next_page;
    const struct lpa_maps *premaps; /* read before the pause: stack bounds */
    uint64_t *words;                /* RAW_SCAN bytes */
    uint64_t *batch;                /* every stack of a stop, mapped and faulted in before it */
    size_t batch_size;
    unsigned stepped;    /* threads stepped out of a function */
    unsigned finished;   /* threads lpatch ran out of replaced code itself */
    unsigned emulated;   /* instructions it ran for them */
    int emulate;         /* no shadow stack: instructions may be run here */
    unsigned emu_budget; /* left for this stop */
    uint64_t ret_target; /* check_thread 3: where the current callee returns */
    /* The ranges sorted by lo, for a binary search (built once per stop,
     * for the array being checked). */
    const struct lpa_range *idx_r;
    size_t idx_n;
    uint32_t *idx;     /* range indices by lo */
    uint64_t *idx_max; /* idx_max[k]: highest hi among idx[0..k] */
    uint64_t idx_lo, idx_hi;
    size_t idx_cap; /* ranges idx and idx_max have room for */
    /* Scratch of lpa_safety_all for up to thr_cap threads, and the raw scan
     * buffer: allocated by lpa_safety_reserve before the pause, never in it. */
    size_t thr_cap;
    pid_t *tid, *ftid;
    struct user_regs_struct *tregs, *fregs;
    int *state, *got, *fok;
    size_t *sidx, *len, *off;
    uint64_t *sp;
    struct stepping *v;
    uint64_t *raw; /* RAW_SCAN + 8 bytes */
};

static struct lpa_safety *cur; /* libunwind hands us its own args: one check at a time */

static int acc_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    (void)arg;
    struct lpa_safety *s = cur;
    if (write)
        return -UNW_EINVAL;
    uint64_t pa = addr & ~4095ull, off = addr & 4095;
    if (off + 8 > 4096) { /* straddles two pages: read directly */
        return lpa_mem_read(s->memfd, addr, val, 8) == 0 ? 0 : -UNW_EINVAL;
    }
    for (unsigned i = 0; i < NPAGES; i++)
        if (s->page_addr[i] == pa + 1) {
            memcpy(val, s->page[i] + off, 8);
            return 0;
        }
    unsigned i = s->next_page++ % NPAGES;
    if (pread(s->memfd, s->page[i], 4096, (off_t)pa) != 4096) {
        s->page_addr[i] = 0;
        return lpa_mem_read(s->memfd, addr, val, 8) == 0 ? 0 : -UNW_EINVAL;
    }
    s->page_addr[i] = pa + 1; /* +1: 0 means empty */
    memcpy(val, s->page[i] + off, 8);
    return 0;
}

static int acc_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
    (void)as;
    (void)arg;
    const struct user_regs_struct *r = &cur->regs;
    if (write)
        return -UNW_EINVAL;
    switch (reg) {
    case UNW_X86_64_RAX:
        *val = r->rax;
        break;
    case UNW_X86_64_RDX:
        *val = r->rdx;
        break;
    case UNW_X86_64_RCX:
        *val = r->rcx;
        break;
    case UNW_X86_64_RBX:
        *val = r->rbx;
        break;
    case UNW_X86_64_RSI:
        *val = r->rsi;
        break;
    case UNW_X86_64_RDI:
        *val = r->rdi;
        break;
    case UNW_X86_64_RBP:
        *val = r->rbp;
        break;
    case UNW_X86_64_RSP:
        *val = r->rsp;
        break;
    case UNW_X86_64_R8:
        *val = r->r8;
        break;
    case UNW_X86_64_R9:
        *val = r->r9;
        break;
    case UNW_X86_64_R10:
        *val = r->r10;
        break;
    case UNW_X86_64_R11:
        *val = r->r11;
        break;
    case UNW_X86_64_R12:
        *val = r->r12;
        break;
    case UNW_X86_64_R13:
        *val = r->r13;
        break;
    case UNW_X86_64_R14:
        *val = r->r14;
        break;
    case UNW_X86_64_R15:
        *val = r->r15;
        break;
    case UNW_X86_64_RIP:
        *val = r->rip;
        break;
    default:
        return -UNW_EBADREG;
    }
    return 0;
}

static void *upt_for(struct lpa_safety *s, uint64_t ip)
{
    for (size_t i = 0; i < s->nupts; i++)
        if (ip >= s->upts[i].lo && ip < s->upts[i].hi)
            return s->upts[i].upt;
    char e[512];
    if (!s->modmaps.n)
        lpa_maps_read(s->pid, &s->modmaps, e);
    const struct lpa_map *m = lpa_maps_find(&s->modmaps, ip);
    if (!m || m->path[0] != '/')
        return s->upt_any;
    /* one handle per file: cover all its mappings */
    uint64_t lo = m->start, hi = m->end;
    for (size_t i = 0; i < s->modmaps.n; i++)
        if (!strcmp(s->modmaps.v[i].path, m->path)) {
            lo = s->modmaps.v[i].start < lo ? s->modmaps.v[i].start : lo;
            hi = s->modmaps.v[i].end > hi ? s->modmaps.v[i].end : hi;
        }
    /* Out of memory: the shared handle still works (without the cache). */
    void *upt = _UPT_create(s->pid);
    if (!upt)
        return s->upt_any;
    struct upt_slot *grown = realloc(s->upts, (s->nupts + 1) * sizeof *s->upts);
    if (!grown) {
        _UPT_destroy(upt);
        return s->upt_any;
    }
    grown[s->nupts] = (struct upt_slot){lo, hi, upt};
    s->upts = grown;
    return s->upts[s->nupts++].upt;
}

static int acc_find(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need, void *arg)
{
    (void)arg;
    return _UPT_find_proc_info(as, ip, pi, need, upt_for(cur, ip));
}

static void acc_put(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    (void)arg;
    _UPT_put_unwind_info(as, pi, cur->upt_any);
}

static int acc_dyn(unw_addr_space_t as, unw_word_t *dilap, void *arg)
{
    (void)arg;
    return _UPT_get_dyn_info_list_addr(as, dilap, cur->upt_any);
}

static int acc_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
    (void)as;
    (void)reg;
    (void)val;
    (void)write;
    (void)arg;
    return -UNW_EBADREG; /* never needed to find return addresses */
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    (void)as;
    (void)c;
    (void)arg;
    return -UNW_EINVAL;
}

struct lpa_safety *lpa_safety_new(pid_t pid, int memfd)
{
    struct lpa_safety *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->pid = pid;
    s->memfd = memfd;
    s->page = malloc(NPAGES * sizeof *s->page);
    s->upt_any = _UPT_create(pid);
    if (!s->page || !s->upt_any) {
        lpa_safety_free(s);
        return NULL;
    }
    s->acc = (unw_accessors_t){.find_proc_info = acc_find,
                               .put_unwind_info = acc_put,
                               .get_dyn_info_list_addr = acc_dyn,
                               .access_mem = acc_mem,
                               .access_reg = acc_reg,
                               .access_fpreg = acc_fpreg,
                               .resume = acc_resume,
                               .get_proc_name = NULL};
    s->emulate = lpa_emu_allowed(pid);
    s->as = unw_create_addr_space(&s->acc, 0);
    if (s->as)
        unw_set_caching_policy(s->as, UNW_CACHE_GLOBAL);
    return s;
}

void lpa_safety_free(struct lpa_safety *s)
{
    if (!s)
        return;
    if (s->as)
        unw_destroy_addr_space(s->as);
    for (size_t i = 0; i < s->nupts; i++)
        _UPT_destroy(s->upts[i].upt);
    if (s->upt_any)
        _UPT_destroy(s->upt_any);
    lpa_maps_free(&s->modmaps);
    lpa_maps_free(&s->stopmaps);
    free(s->words);
    if (s->batch)
        munmap(s->batch, s->batch_size);
    free(s->upts);
    free(s->page);
    free(s->opaque);
    free(s->idx);
    free(s->idx_max);
    free(s->tid);
    free(s->ftid);
    free(s->tregs);
    free(s->fregs);
    free(s->state);
    free(s->got);
    free(s->fok);
    free(s->sidx);
    free(s->len);
    free(s->off);
    free(s->sp);
    free(s->v);
    free(s->raw);
    free(s);
}

int lpa_safety_opaque(struct lpa_safety *s, uint64_t lo, uint64_t hi)
{
    uint64_t(*grown)[2] = realloc(s->opaque, (s->nopaque + 1) * sizeof *s->opaque);
    if (!grown)
        return -1;
    s->opaque = grown;
    s->opaque[s->nopaque][0] = lo;
    s->opaque[s->nopaque][1] = hi;
    s->nopaque++;
    return 0;
}

static int is_opaque(const struct lpa_safety *s, uint64_t ip)
{
    for (size_t i = 0; i < s->nopaque; i++)
        if (ip >= s->opaque[i][0] && ip < s->opaque[i][1])
            return 1;
    return 0;
}

/* Whether range r excuses address a (frame 0: the exact IP). */
static int excused(const struct lpa_range *r, uint64_t a, int frame)
{
    if (frame == 0 && a >= r->ok_lo && a <= r->ok_hi)
        return 1;
    return r->allow_active && (frame > 0 || a >= r->ok_lo);
}

static const struct lpa_range *hit_linear(const struct lpa_range *r, size_t nr, uint64_t a,
                                          int frame)
{
    for (size_t i = 0; i < nr; i++)
        if (a >= r[i].lo && a < r[i].hi && !excused(&r[i], a, frame))
            return &r[i];
    return NULL;
}

static const struct lpa_range *sort_r; /* qsort has no context argument */

static int by_lo(const void *a, const void *b)
{
    uint64_t x = sort_r[*(const uint32_t *)a].lo, y = sort_r[*(const uint32_t *)b].lo;
    return x < y ? -1 : x > y;
}

/* Sort the range set (once per stop: lpa_safety_begin forgets it), in the
 * room lpa_safety_reserve made; -1 if there is too little (search linearly). */
static int index_ranges(struct lpa_safety *s, const struct lpa_range *r, size_t nr)
{
    if (s->idx_r == r && s->idx_n == nr)
        return 0;
    if (nr > s->idx_cap)
        return -1;
    assert(s->idx && s->idx_max);
    for (size_t i = 0; i < nr; i++)
        s->idx[i] = (uint32_t)i;
    sort_r = r;
    qsort(s->idx, nr, sizeof *s->idx, by_lo);
    s->idx_lo = UINT64_MAX;
    s->idx_hi = 0;
    for (size_t k = 0; k < nr; k++) {
        const struct lpa_range *x = &r[s->idx[k]];
        s->idx_max[k] = k && s->idx_max[k - 1] > x->hi ? s->idx_max[k - 1] : x->hi;
        s->idx_lo = x->lo < s->idx_lo ? x->lo : s->idx_lo;
        s->idx_hi = x->hi > s->idx_hi ? x->hi : s->idx_hi;
    }
    s->idx_r = r;
    s->idx_n = nr;
    return 0;
}

/* The range an address hits, or NULL; frame 0 is the exact IP, deeper
 * frames are return addresses (checked as ip-1: the call instruction).
 * Every range holding the address is considered (ranges may overlap); the
 * first one in array order that does not excuse it is returned. */
static const struct lpa_range *hit_s(struct lpa_safety *s, const struct lpa_range *r, size_t nr,
                                     uint64_t ip, int frame)
{
    uint64_t a = frame ? ip - 1 : ip;
    if (!s || nr < 8 || index_ranges(s, r, nr) != 0)
        return hit_linear(r, nr, a, frame);
    if (a < s->idx_lo || a >= s->idx_hi)
        return NULL;
    size_t lo = 0, hi = nr; /* first k with r[idx[k]].lo > a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[s->idx[mid]].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct lpa_range *best = NULL;
    for (size_t k = lo; k-- > 0 && s->idx_max[k] > a;) {
        const struct lpa_range *x = &r[s->idx[k]];
        if (a < x->hi && !excused(x, a, frame) && (!best || x < best))
            best = x;
    }
    return best;
}

#define hit(r, nr, ip, frame) hit_s(s, r, nr, ip, frame)

/* A thread caught inside a replaced function: run its next instructions
 * here on its registers (emulate.h) while they stay inside replaced code
 * and are ones done here, then store them: the thread is where running
 * would have put it, without a context switch per instruction.  1 if
 * *regs moved (out of every range, or at an instruction to single-step). */
static int run_here(struct lpa_safety *s, pid_t tid, struct user_regs_struct *regs,
                    const struct lpa_range *r, size_t nr, int memfd)
{
    if (!s->emulate || regs->orig_rax != (unsigned long long)-1)
        return 0; /* shadow stack; or in a system call, which may restart */
    struct user_regs_struct x = *regs;
    struct lpa_emu e = {.memfd = memfd};
    int k = 0;
    while (s->emu_budget && hit(r, nr, x.rip, 0) && lpa_emu_step(&e, &x)) {
        s->emu_budget--;
        k++;
    }
    if (!k || ptrace(PTRACE_SETREGS, tid, 0, &x) != 0)
        return 0;
    *regs = x;
    s->emulated += (unsigned)k;
    if (!hit(r, nr, x.rip, 0))
        s->finished++;
    return 1;
}

static int raw_scan(struct lpa_safety *s, pid_t tid, uint64_t sp, const struct lpa_range *r,
                    size_t nr, int memfd, char *why)
{
    char e[512];
    if (!s->stopmaps.n)
        lpa_maps_read(s->pid, &s->stopmaps, e);
    const struct lpa_map *mp = lpa_maps_find(&s->stopmaps, sp);
    uint64_t end = mp ? mp->end : sp + RAW_SCAN;
    if (end - sp > RAW_SCAN)
        end = sp + RAW_SCAN;
    size_t n = (size_t)((end - sp) / 8);
    uint64_t *words = s->raw; /* RAW_SCAN bytes or more, made before the pause */
    assert(n * 8 <= RAW_SCAN);
    if (!words || lpa_mem_read(memfd, sp, words, n * 8) != 0)
        n = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct lpa_range *h = hit(r, nr, words[i], 1);
        if (h) {
            snprintf(why, 512,
                     "thread %d may be inside %s (stack word %#llx at sp+%#zx; no unwind info)",
                     (int)tid, h->name, (unsigned long long)words[i], i * 8);
            rc = 1;
        }
    }
    return rc;
}

/* A thread stack as glibc or the kernel makes them: [stack], or an
 * anonymous mapping right above its guard page.  (Not a sigaltstack: the
 * interrupted frames of a signal handler live on another stack.) */
static const struct lpa_map *plain_stack(const struct lpa_maps *m, uint64_t sp)
{
    size_t lo = 0, hi = m->n; /* /proc/PID/maps is sorted: the first mapping ending above sp */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].end <= sp)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    if (i >= m->n || sp < m->v[i].start)
        return NULL;
    const struct lpa_map *mp = &m->v[i];
    if (!strcmp(mp->path, "[stack]"))
        return mp;
    if (!mp->path[0] && i > 0 && m->v[i - 1].end == mp->start && !strcmp(m->v[i - 1].perms, "---p"))
        return mp;
    return NULL;
}

/* The live stack above sp, if the cheap proof may be used on it: an
 * ordinary thread stack, at most RAW_SCAN bytes from sp to its top. */
static const struct lpa_map *clean_span(struct lpa_safety *s, uint64_t sp)
{
    const struct lpa_map *mp = s->premaps ? plain_stack(s->premaps, sp) : NULL;
    return mp && mp->end > sp && mp->end - sp <= RAW_SCAN ? mp : NULL;
}

/* 1: no word points into any range (as a return address would). */
static int words_clean(struct lpa_safety *s, const uint64_t *words, size_t n,
                       const struct lpa_range *r, size_t nr)
{
    if (nr == 0)
        return 1;
    if (index_ranges(s, r, nr) != 0) { /* no index: each word the slow way */
        for (size_t i = 0; i < n; i++)
            if (hit(r, nr, words[i], 1))
                return 0;
        return 1;
    }
    const uint64_t lo = s->idx_lo, hi = s->idx_hi;
    /* Most words point nowhere near: a branch-free pass over each block
     * (vectorised) finds the blocks worth a closer look. */
    const uint64_t span = hi - lo;
    for (size_t b = 0; b < n; b += 32) {
        size_t e = n - b < 32 ? n - b : 32;
        int near = 0;
        for (size_t i = b; i < b + e; i++)
            near |= words[i] - 1 - lo < span;
        if (!near)
            continue;
        for (size_t i = b; i < b + e; i++)
            if (words[i] - 1 - lo < span && hit(r, nr, words[i], 1))
                return 0;
    }
    return 1;
}

/* Cheap proof of safety: no word of the live stack points into any range,
 * so no return address can.  1 proven clean, 0 unknown (unwind). */
static int stack_clean(struct lpa_safety *s, uint64_t sp, const struct lpa_range *r, size_t nr,
                       int memfd)
{
    const struct lpa_map *mp = clean_span(s, sp);
    if (!mp)
        return 0;
    if (nr == 0)
        return 1;
    if (!s->words) /* made by lpa_safety_reserve; none: prove nothing */
        return 0;
    size_t n = (size_t)((mp->end - sp) / 8);
    if (lpa_mem_read(memfd, sp, s->words, n * 8) != 0)
        return 0;
    return words_clean(s, s->words, n, r, nr);
}

/* 1 unsafe (why), 2 unsafe only by its IP (it may step out), 3 unsafe only
 * because its current function returns into replaced code (ret_target), 0 safe.
 * regs: as read in this stop; unclean: the cheap proof already failed. */
static int check_regs(struct lpa_safety *s, pid_t tid, const struct user_regs_struct *regsp,
                      const struct lpa_range *r, size_t nr, int memfd, int unclean, char *why)
{
    struct user_regs_struct regs = *regsp;
    s->regs = regs;
    const struct lpa_range *h = hit(r, nr, regs.rip, 0);
    if (h) {
        lpa_err(why, "thread %d is executing %s (ip %#llx)", (int)tid, h->name,
                (unsigned long long)regs.rip);
        return 2;
    }
    if (!unclean && stack_clean(s, regs.rsp, r, nr, memfd))
        return 0;
    unw_cursor_t c;
    if (!s->as || unw_init_remote(&c, s->as, s) != 0)
        return raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
    int rc = 0, frame = 0, step = 1;
    unw_word_t ip = regs.rip, sp = regs.rsp;
    while (frame < MAX_FRAMES) {
        if (frame > 0 && (h = hit(r, nr, ip, frame))) {
            lpa_err(why, "thread %d has %s on its stack (frame %d, return address %#llx)", (int)tid,
                    h->name, frame, (unsigned long long)ip);
            rc = 1;
            if (frame == 1) { /* in a callee of replaced code: may return soon */
                s->ret_target = ip;
                rc = 3;
            }
            break;
        }
        if (is_opaque(s, ip)) {
            rc = raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
            break;
        }
        step = unw_step(&c);
        if (step <= 0)
            break;
        frame++;
        unw_get_reg(&c, UNW_REG_IP, &ip);
        unw_get_reg(&c, UNW_REG_SP, &sp);
        if (ip == 0)
            break;
    }
    if (!rc && step < 0) /* lost the chain: be conservative */
        rc = raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
    return rc;
}

static int check_thread(struct lpa_safety *s, pid_t tid, const struct lpa_range *r, size_t nr,
                        int memfd, char *why)
{
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0)
        return 0; /* the thread is gone */
    return check_regs(s, tid, &regs, r, nr, memfd, 0, why);
}

void lpa_safety_begin(struct lpa_safety *s)
{
    cur = s;
    s->idx_r = NULL; /* the range index is rebuilt for the array checked now */
    s->emu_budget = MAX_EMULATED;
    lpa_maps_free(&s->stopmaps);                  /* read again only if a raw scan needs it */
    memset(s->page_addr, 0, sizeof s->page_addr); /* memory moved since the last stop */
}

int lpa_safety_thread(struct lpa_safety *s, struct lpa_world *w, size_t i,
                      const struct lpa_range *r, size_t nr, int memfd, char *why)
{
    cur = s;
    pid_t tid = w->t[i].tid;
    int rc = check_thread(s, tid, r, nr, memfd, why);
    struct user_regs_struct x;
    if (rc == 2 && ptrace(PTRACE_GETREGS, tid, 0, &x) == 0 && run_here(s, tid, &x, r, nr, memfd)) {
        memset(s->page_addr, 0, sizeof s->page_addr);
        rc = check_thread(s, tid, r, nr, memfd, why);
    }
    /* A thread caught inside a replaced function (its IP, not a caller's
     * frame), or in a leaf it called, usually leaves within a few
     * instructions: step it out instead of releasing everyone and retrying. */
    for (int steps = 0; (rc == 2 || rc == 3) && steps < MAX_STEPS; steps++) {
        uint64_t ip;
        if (lpa_step(w, i, &ip) != 0 || i >= w->n || w->t[i].tid != tid)
            break;
        if (rc == 3 ? ip == s->ret_target : !hit(r, nr, ip, 0)) {
            memset(s->page_addr, 0, sizeof s->page_addr);
            rc = check_thread(s, tid, r, nr, memfd, why);
            if (rc == 0)
                s->stepped++;
        }
    }
    return rc >= 2 ? 1 : rc;
}

int lpa_safety_check(struct lpa_safety *s, struct lpa_world *w, const struct lpa_range *r,
                     size_t nr, int memfd, char *why)
{
    lpa_safety_begin(s);
    int rc = 0;
    for (size_t i = 0; i < w->n && !rc; i++)
        rc = lpa_safety_thread(s, w, i, r, nr, memfd, why);
    return rc;
}

/* Read the live stacks of many threads with as few system calls as
 * possible: process_vm_readv takes up to IOV_MAX remote ranges at once.
 * got[k]: stack k was read whole. */
static void read_stacks(pid_t pid, int memfd, const uint64_t *sp, const size_t *len, size_t n,
                        uint64_t *buf, const size_t *off, int *got)
{
    enum { BATCH = 512 };
    struct iovec l[BATCH], rm[BATCH];
    for (size_t k0 = 0; k0 < n; k0 += BATCH) {
        size_t m = n - k0 < BATCH ? n - k0 : BATCH, want = 0;
        for (size_t j = 0; j < m; j++) {
            l[j] = (struct iovec){buf + off[k0 + j], len[k0 + j]};
            rm[j] = (struct iovec){(void *)(uintptr_t)sp[k0 + j], len[k0 + j]};
            want += len[k0 + j];
        }
        ssize_t r = process_vm_readv(pid, l, m, rm, m, 0);
        for (size_t j = 0; j < m; j++) /* a short read: the rest one by one */
            got[k0 + j] = r == (ssize_t)want ||
                          lpa_mem_read(memfd, sp[k0 + j], buf + off[k0 + j], len[k0 + j]) == 0;
    }
}

/* Threads to step out of replaced code, stepped all at once: each until
 * its IP leaves every range (ret 0) or reaches ret (the return address into
 * replaced code of the callee it is in), then checked again. */
struct stepping {
    pid_t tid;
    uint64_t rip, ret;
    int steps;
    char why[512];
};

/* After one step of each of v[0..live): regs[k] its registers, ok[k]
 * whether the step was made.  Threads now out are checked again; those
 * still to step are kept, in order.  Returns how many remain; *rc 1 (why)
 * if unsafe. */
static size_t step_done(struct lpa_safety *s, struct stepping *v, size_t live,
                        struct user_regs_struct *regs, const int *ok, const struct lpa_range *r,
                        size_t nr, int memfd, int *rc, char *why)
{
    size_t keep = 0;
    for (size_t k = 0; k < live; k++) {
        v[k].rip = regs[k].rip;
        v[k].steps++;
        if (!ok[k]) { /* could not step it, or it did not stop again */
            *rc = 1;
            snprintf(why, 512, "%s", v[k].why);
            return 0;
        }
        if (!v[k].ret && hit(r, nr, v[k].rip, 0) && run_here(s, v[k].tid, &regs[k], r, nr, memfd))
            v[k].rip = regs[k].rip;
        if (v[k].ret ? v[k].rip == v[k].ret : !hit(r, nr, v[k].rip, 0)) {
            memset(s->page_addr, 0, sizeof s->page_addr); /* it moved */
            int c = check_thread(s, v[k].tid, r, nr, memfd, v[k].why);
            if (c == 0) {
                s->stepped++;
                continue;
            }
            if (c == 1) {
                *rc = 1;
                snprintf(why, 512, "%s", v[k].why);
                return 0;
            }
            v[k].ret = c == 3 ? s->ret_target : 0;
        }
        if (v[k].steps >= MAX_STEPS) {
            *rc = 1;
            snprintf(why, 512, "%s", v[k].why);
            return 0;
        }
        if (keep != k)
            v[keep] = v[k];
        keep++;
    }
    return keep;
}

static int step_out(struct lpa_safety *s, struct lpa_world *w, struct stepping *v, size_t live,
                    const struct lpa_range *r, size_t nr, int memfd, char *why)
{
    /* The first-step scratch is free again by now (lpa_safety_all). */
    assert(live <= s->thr_cap);
    pid_t *tids = s->ftid;
    struct user_regs_struct *regs = s->fregs;
    int *ok = s->fok, rc = 0;
    while (live && !rc) {
        for (size_t k = 0; k < live; k++) {
            tids[k] = v[k].tid;
            regs[k].rip = v[k].rip;
        }
        lpa_step_many(w, memfd, tids, live, regs, ok);
        live = step_done(s, v, live, regs, ok, r, nr, memfd, &rc, why);
    }
    return rc;
}

enum { T_SAFE, T_CHECK, T_UNCLEAN };

int lpa_safety_reserve(struct lpa_safety *s, size_t threads, size_t nranges)
{
#define RESERVE(field, n)                                                                          \
    do {                                                                                           \
        void *p_ = realloc(s->field, (n) * sizeof *s->field);                                      \
        if (!p_)                                                                                   \
            return -1;                                                                             \
        s->field = p_;                                                                             \
    } while (0)
    if (!s->words && !(s->words = malloc(RAW_SCAN)))
        return -1;
    if (!s->raw && !(s->raw = malloc(RAW_SCAN + 8)))
        return -1;
    if (nranges > s->idx_cap) {
        RESERVE(idx, nranges);
        RESERVE(idx_max, nranges);
        s->idx_cap = nranges;
        s->idx_r = NULL;
    }
    if (threads <= s->thr_cap)
        return 0;
    RESERVE(tid, threads);
    RESERVE(ftid, threads);
    RESERVE(tregs, threads);
    RESERVE(fregs, threads);
    RESERVE(state, threads);
    RESERVE(got, threads);
    RESERVE(fok, threads);
    RESERVE(sidx, threads);
    RESERVE(len, threads);
    RESERVE(off, threads);
    RESERVE(sp, threads);
    RESERVE(v, threads);
#undef RESERVE
    s->thr_cap = threads;
    return 0;
}

int lpa_safety_all(struct lpa_safety *s, struct lpa_world *w, const struct lpa_range *r, size_t nr,
                   int memfd, char *why)
{
    lpa_safety_begin(s);
    size_t n = w->n, nstack = 0, total = 0, nstep = 0;
    int rc = 0;
    if (n > s->thr_cap) { /* threads appeared since lpa_safety_reserve */
        snprintf(why, 512, "process %d: %zu threads, room made for %zu", (int)s->pid, n,
                 s->thr_cap);
        return 1;
    }
    pid_t *tid = s->tid;
    struct user_regs_struct *regs = s->tregs;
    int *state = s->state, *got = s->got;
    size_t *sidx = s->sidx, *len = s->len, *off = s->off;
    uint64_t *sp = s->sp;
    struct stepping *v = s->v;
    /* 1. Registers of every thread; its IP against every range. */
    for (size_t i = 0; i < n; i++) {
        tid[i] = w->t[i].tid;
        state[i] = T_CHECK;
        if (ptrace(PTRACE_GETREGS, tid[i], 0, &regs[i]) != 0) {
            state[i] = T_SAFE; /* the thread is gone */
            continue;
        }
        const struct lpa_range *h = hit(r, nr, regs[i].rip, 0);
        if (h && run_here(s, tid[i], &regs[i], r, nr, memfd))
            h = hit(r, nr, regs[i].rip, 0);
        if (h) {
            state[i] = T_SAFE; /* stepped out below, then checked again */
            v[nstep] = (struct stepping){.tid = tid[i], .rip = regs[i].rip};
            lpa_err(v[nstep++].why, "thread %d is executing %s (ip %#llx)", (int)tid[i], h->name,
                    (unsigned long long)regs[i].rip);
            continue;
        }
        const struct lpa_map *mp = clean_span(s, regs[i].rsp);
        size_t bytes = mp ? (size_t)((mp->end - regs[i].rsp) / 8) * 8 : 0;
        if (mp && nr && total + bytes <= s->batch_size) {
            sidx[nstack] = i;
            sp[nstack] = regs[i].rsp;
            len[nstack] = bytes;
            off[nstack] = total / 8;
            total += len[nstack++];
        } else if (mp && !nr) {
            state[i] = T_SAFE; /* no range to hit */
        } /* else T_CHECK: a stack beyond the batch buffer is read on its own */
    }
    /* Threads caught inside a replaced function (by their IP) usually
     * leave within a few instructions: they are stepped out (4. below),
     * their first step under way while the others are checked. */
    size_t nfirst = nstep;
    pid_t *ftid = s->ftid;
    struct user_regs_struct *fregs = s->fregs;
    int *fok = s->fok;
    for (size_t k = 0; k < nfirst; k++) {
        ftid[k] = v[k].tid;
        fregs[k].rip = v[k].rip;
    }
    if (nfirst)
        lpa_step_issue(w, memfd, ftid, nfirst, fregs, fok);
    /* 2. The cheap proof for every ordinary stack, all read in one go. */
    if (nstack) {
        uint64_t *buf = s->batch; /* only stacks that fit were batched */
        assert(buf && total <= s->batch_size);
        read_stacks(s->pid, memfd, sp, len, nstack, buf, off, got);
        for (size_t k = 0; k < nstack; k++)
            if (got[k]) /* else T_CHECK: the slow path reads it again */
                state[sidx[k]] =
                    words_clean(s, buf + off[k], len[k] / 8, r, nr) ? T_SAFE : T_UNCLEAN;
    }
    /* 3. The rest: unwind; a return address in replaced code fails, unless
     * it is the current function's (it may return soon: step it). */
    for (size_t i = 0; i < n && !rc; i++) {
        if (state[i] == T_SAFE)
            continue;
        assert(nstep < n); /* each thread enters v at most once */
        int c = check_regs(s, tid[i], &regs[i], r, nr, memfd, state[i] == T_UNCLEAN, v[nstep].why);
        if (c == 1) {
            rc = 1;
            snprintf(why, 512, "%s", v[nstep].why);
        } else if (c == 2 || c == 3) {
            v[nstep].tid = tid[i];
            v[nstep].rip = regs[i].rip;
            v[nstep].ret = c == 3 ? s->ret_target : 0;
            v[nstep++].steps = 0;
        }
    }
    /* 4. Threads caught inside a replaced function (by their IP), or in a
     * leaf it called, usually leave within a few instructions: step them
     * out, all at once, instead of releasing everyone and retrying. */
    if (nfirst) {
        lpa_step_wait(w, ftid, nfirst, fregs, fok); /* even if unsafe: stopped again */
        if (!rc) {
            size_t kept = step_done(s, v, nfirst, fregs, fok, r, nr, memfd, &rc, why);
            memmove(v + kept, v + nfirst, (nstep - nfirst) * sizeof *v);
            nstep = kept + (nstep - nfirst);
        }
    }
    if (!rc && nstep)
        rc = step_out(s, w, v, nstep, r, nr, memfd, why);
    return rc;
}

unsigned lpa_safety_stepped(const struct lpa_safety *s)
{
    return s->stepped;
}

unsigned lpa_safety_finished(const struct lpa_safety *s, unsigned *insns)
{
    *insns = s->emulated;
    return s->finished;
}

void lpa_safety_stacks(struct lpa_safety *s, const struct lpa_maps *m)
{
    s->premaps = m;
    /* A buffer for the batched stack read, its pages faulted in now rather
     * than in the pause (a fresh 256 KiB costs ~200 us of page faults):
     * 16 KiB per thread stack (a glibc thread uses ~4.5 KiB from its stack
     * pointer to the top, struct pthread included); larger needs malloc. */
    size_t stacks = 0;
    for (size_t i = 0; i < m->n; i++)
        stacks += plain_stack(m, m->v[i].start) != NULL;
    size_t want = (stacks + 2) * (16u << 10);
    if (s->batch && s->batch_size >= want)
        return;
    if (s->batch)
        munmap(s->batch, s->batch_size);
    s->batch =
        mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    s->batch_size = s->batch == MAP_FAILED ? 0 : want;
    if (s->batch == MAP_FAILED)
        s->batch = NULL;
}

void lpa_safety_warm(struct lpa_safety *s)
{
    char e[512];
    struct lpa_maps m;
    if (lpa_maps_read(s->pid, &m, e) != 0)
        return;
    cur = s;
    for (size_t i = 0; i < m.n; i++) {
        if (m.v[i].perms[2] != 'x' || m.v[i].path[0] != '/')
            continue;
        unw_proc_info_t pi;
        memset(&pi, 0, sizeof pi);
        uint64_t ip = m.v[i].start + (m.v[i].end - m.v[i].start) / 2;
        /* as acc_find; need_unwind_info 0: nothing to put back */
        _UPT_find_proc_info(s->as, ip, &pi, 0, upt_for(s, ip));
    }
    lpa_maps_free(&m);
}
