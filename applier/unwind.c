/*
 * unwind.c - walking a held thread's frames with libunwind over ptrace, and
 * the per-thread verdict built on it (check_regs): its IP, the cheap proof
 * of stackscan.c, then its return addresses frame by frame.
 *
 * One libunwind address space with a global cache lives for the whole run,
 * so retries re-use parsed unwind tables (uncached unwinding costs ~1 ms per
 * thread; cached ~20 us).  Memory and registers come from our own
 * accessors: memory through the page cache (pages.h) valid for one stop
 * (libunwind-ptrace reads word by word with PTRACE_PEEKDATA, which
 * dominates the cost), registers from one PTRACE_GETREGS.  Unwind tables
 * are found by libunwind-ptrace itself, with one handle per module so each
 * keeps its parsed table (it caches only the last ELF image it opened).
 * Frames in a patch image with an unwind table (lpa_safety_image) are
 * found through that table: libunwind's own search, remote, over the
 * table lpdiff wrote and lpatch left in the image.  Frames without unwind
 * information (other images: lpa_safety_opaque) fall back to the raw scan
 * of stackscan.c.
 */
#include "safety_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

struct lpa_safety *cur; /* libunwind hands us its own args: one check at a time */

void lpa_unwind_use(struct lpa_safety *s)
{
    cur = s;
}

static int acc_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    (void)arg;
    struct lpa_safety *s = cur;
    if (write)
        return -UNW_EINVAL;
    return lpa_pages_read(&s->mem, addr, val, 8) == 0 ? 0 : -UNW_EINVAL;
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

/* The handle whose module holds ip; the shared one if ip is in no module
 * seen before the pause (a module mapped since works through it, without
 * its own cache).  Allocates nothing: it runs in the pause. */
static void *upt_for(struct lpa_safety *s, uint64_t ip)
{
    for (size_t i = 0; i < s->nupts; i++)
        if (ip >= s->upts[i].lo && ip < s->upts[i].hi)
            return s->upts[i].upt;
    return s->upt_any;
}

/* Before the pause: a handle of its own for the file mapped at m->v[k],
 * covering all of its mappings.  Out of memory: none (the shared handle
 * still works). */
static void upt_make(struct lpa_safety *s, const struct lpa_maps *m, size_t k)
{
    const struct lpa_map *mp = &m->v[k];
    if (upt_for(s, mp->start) != s->upt_any)
        return;
    uint64_t lo = mp->start, hi = mp->end;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].path, mp->path)) {
            lo = m->v[i].start < lo ? m->v[i].start : lo;
            hi = m->v[i].end > hi ? m->v[i].end : hi;
        }
    void *upt = _UPT_create(s->pid);
    if (!upt)
        return;
    struct upt_slot *grown = realloc(s->upts, (s->nupts + 1) * sizeof *s->upts);
    if (!grown) {
        _UPT_destroy(upt);
        return;
    }
    grown[s->nupts] = (struct upt_slot){lo, hi, upt};
    s->upts = grown;
    s->nupts++;
}

/* libunwind's own search of a binary-search table, remote (not in its
 * public headers; perf declares it the same way). */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
                                              unw_dyn_info_t *di, unw_proc_info_t *pi,
                                              int need_unwind_info, void *arg);

static int acc_find(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need, void *arg)
{
    for (size_t i = 0; i < cur->ndyn; i++)
        if (ip >= cur->dyn[i].start_ip && ip < cur->dyn[i].end_ip)
            return _Ux86_64_dwarf_search_unwind_table(as, ip, &cur->dyn[i], pi, need, arg);
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

int lpa_unwind_new(struct lpa_safety *s)
{
    s->upt_any = _UPT_create(s->pid);
    if (!s->upt_any)
        return -1;
    s->acc = (unw_accessors_t){.find_proc_info = acc_find,
                               .put_unwind_info = acc_put,
                               .get_dyn_info_list_addr = acc_dyn,
                               .access_mem = acc_mem,
                               .access_reg = acc_reg,
                               .access_fpreg = acc_fpreg,
                               .resume = acc_resume,
                               .get_proc_name = NULL};
    s->as = unw_create_addr_space(&s->acc, 0);
    if (s->as)
        unw_set_caching_policy(s->as, UNW_CACHE_GLOBAL);
    return 0;
}

void lpa_unwind_free(struct lpa_safety *s)
{
    if (s->as)
        unw_destroy_addr_space(s->as);
    for (size_t i = 0; i < s->nupts; i++)
        _UPT_destroy(s->upts[i].upt);
    if (s->upt_any)
        _UPT_destroy(s->upt_any);
    free(s->upts);
    free(s->opaque);
    free(s->dyn);
}

int lpa_safety_image(struct lpa_safety *s, uint64_t image, uint64_t exec_size, uint64_t image_size)
{
    uint64_t tab = image + exec_size;
    char magic[8] = "";
    struct lp_unwind_table ut;
    if (lpa_mem_read(s->memfd, tab, magic, 8) == 0 && !memcmp(magic, LP_HOOKS_MAGIC, 8)) {
        tab += sizeof(struct lp_hook_table);
        lpa_mem_read(s->memfd, tab, magic, 8);
    }
    if (memcmp(magic, LP_UNWIND_MAGIC, 8) || tab + sizeof ut > image + image_size ||
        lpa_mem_read(s->memfd, tab, &ut, sizeof ut) != 0 || !ut.nfde || ut.text_hi > exec_size ||
        exec_size + ut.eh_frame_off >= image_size || exec_size + ut.index_off >= image_size)
        return lpa_safety_opaque(s, image, image + exec_size);
    unw_dyn_info_t *grown = realloc(s->dyn, (s->ndyn + 1) * sizeof *s->dyn);
    if (!grown)
        return -1;
    s->dyn = grown;
    unw_dyn_info_t *di = &s->dyn[s->ndyn++];
    memset(di, 0, sizeof *di);
    di->start_ip = image;
    di->end_ip = image + ut.text_hi;
    di->format = UNW_INFO_FORMAT_IP_OFFSET;
    di->u.rti.segbase = image + exec_size + ut.eh_frame_off;
    di->u.rti.table_data = image + exec_size + ut.index_off;
    di->u.rti.table_len = (uint64_t)ut.nfde * sizeof(struct lp_unwind_index) / sizeof(unw_word_t);
    /* the rest of the text (stubs, padding) stays opaque */
    return ut.text_hi < exec_size ? lpa_safety_opaque(s, image + ut.text_hi, image + exec_size) : 0;
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

/* 1 unsafe (why), 2 unsafe only by its IP (it may step out), 3 unsafe only
 * because its current function returns into replaced code (ret_target), 0 safe.
 * regs: as read in this stop; unclean: the cheap proof already failed. */
int lpa_check_regs(struct lpa_safety *s, pid_t tid, const struct user_regs_struct *regsp,
                   const struct lpa_range *r, size_t nr, int memfd, int unclean, char *why)
{
    struct user_regs_struct regs = *regsp;
    s->regs = regs;
    const struct lpa_range *h = lpa_hit(s, r, nr, regs.rip, 0);
    if (h) {
        lpa_err(why, "thread %d is executing %s (ip %#llx)", (int)tid, h->name,
                (unsigned long long)regs.rip);
        return 2;
    }
    if (!unclean && lpa_stack_clean(s, regs.rsp, r, nr, memfd))
        return 0;
    unw_cursor_t c;
    if (!s->as || unw_init_remote(&c, s->as, s) != 0)
        return lpa_raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
    int rc = 0, frame = 0, step = 1;
    unw_word_t ip = regs.rip, sp = regs.rsp;
    while (frame < MAX_FRAMES) {
        if (frame > 0 && (h = lpa_hit(s, r, nr, ip, frame))) {
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
            rc = lpa_raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
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
        rc = lpa_raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
    return rc;
}

void lpa_safety_warm(struct lpa_safety *s)
{
    char e[LP_ERR_MAX];
    struct lpa_maps m;
    if (lpa_maps_read(s->pid, &m, e) != 0)
        return;
    lpa_unwind_use(s);
    for (size_t i = 0; i < m.n; i++) {
        if (m.v[i].perms[2] != 'x' || m.v[i].path[0] != '/')
            continue;
        upt_make(s, &m, i);
        unw_proc_info_t pi;
        memset(&pi, 0, sizeof pi);
        uint64_t ip = m.v[i].start + (m.v[i].end - m.v[i].start) / 2;
        /* as acc_find; need_unwind_info 0: nothing to put back */
        _UPT_find_proc_info(s->as, ip, &pi, 0, upt_for(s, ip));
    }
    lpa_maps_free(&m);
}
