/*
 * apply.c - apply and revert, ordered so that every intermediate state of
 * the target runs either fully old or fully new code for each function:
 *
 *   apply:  (one thread held) map image near the module, write it, make the
 *           text executable -> (all threads held, stacks checked) record
 *           "applying" -> pads -> 2-byte entries -> record "applied".
 *   revert: (all held, stacks checked) record "reverting" -> entries ->
 *           pads -> drop the record -> unmap the image.
 *
 * Each write to the target is one pwrite of /proc/PID/mem: the kernel copies
 * it whole or not at all even if lpatch is killed, and no thread runs while
 * code changes.
 */
#include "apply.h"
#include "lp_entry.h"
#include "proc.h"
#include "safety.h"
#include "state.h"
#include "stop.h"
#include "target.h"

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1u
#endif

void lpa_opts_default(struct lpa_opts *o)
{
    memset(o, 0, sizeof *o);
    o->retries = 20;
    o->backoff_us = 1000;
    o->backoff_max_us = 100000;
    o->timeout_ms = 5000;
}

static int stop_code(enum lpa_stop_err e)
{
    switch (e) {
    case LPA_STOP_OK:
        return LPA_OK;
    case LPA_STOP_GONE:
        return LPA_USAGE;
    case LPA_STOP_PERM:
        return LPA_PTRACE;
    default:
        return LPA_REFUSED;
    }
}

/* ---- Remote system calls ---------------------------------------------- */

static int64_t rcall(struct lpa_world *w, uint64_t insn, long nr, uint64_t a0, uint64_t a1,
                     uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, char *err)
{
    const uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
    int64_t ret;
    if (lpa_rsys(w, 0, insn, nr, args, &ret, err) != 0)
        return INT64_MIN;
    return ret;
}

/* memfd "livepatch-state", mapped private, so later runs find it by name. */
static uint64_t create_state(struct lpa_world *w, uint64_t insn, int memfd, char *err)
{
    int64_t scratch = rcall(w, insn, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0, err);
    if (scratch == INT64_MIN)
        return 0;
    if (scratch < 0 && scratch > -4096) {
        lpa_err(err, "process %d: remote mmap: %s", (int)w->pid, strerror((int)-scratch));
        return 0;
    }
    uint64_t addr = 0;
    int64_t fd = -1;
    if (lpa_mem_write(memfd, (uint64_t)scratch, LPS_NAME, sizeof LPS_NAME) != 0) {
        lpa_err(err, "process %d: writing memory: %s", (int)w->pid, strerror(errno));
        goto out;
    }
    fd = rcall(w, insn, SYS_memfd_create, (uint64_t)scratch, MFD_CLOEXEC, 0, 0, 0, 0, err);
    if (fd < 0) {
        if (fd != INT64_MIN)
            lpa_err(err, "process %d: remote memfd_create: %s", (int)w->pid, strerror((int)-fd));
        goto out;
    }
    int64_t r = rcall(w, insn, SYS_ftruncate, (uint64_t)fd, LPS_AREA_SIZE, 0, 0, 0, 0, err);
    if (r == 0)
        r = rcall(w, insn, SYS_mmap, 0, LPS_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                  (uint64_t)fd, 0, err);
    if (r < 0 || (uint64_t)r < 4096) {
        if (r != INT64_MIN)
            lpa_err(err, "process %d: creating the patch state area: %s", (int)w->pid,
                    strerror(r < 0 ? (int)-r : EINVAL));
        goto out;
    }
    addr = (uint64_t)r;
out:
    if (fd >= 0)
        rcall(w, insn, SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0, err);
    rcall(w, insn, SYS_munmap, (uint64_t)scratch, 4096, 0, 0, 0, 0, err);
    return addr;
}

/* ---- Scheduling during the pause -------------------------------------- */

struct sched_save {
    int raised, policy;
    struct sched_param param;
};

static void fifo_raise(struct sched_save *s, const struct lpa_opts *o)
{
    s->raised = 0;
    if (o->no_fifo || sched_getscheduler(0) == SCHED_FIFO)
        return;
    s->policy = sched_getscheduler(0);
    sched_getparam(0, &s->param);
    struct sched_param p = {.sched_priority = sched_get_priority_min(SCHED_FIFO) + 1};
    s->raised = sched_setscheduler(0, SCHED_FIFO, &p) == 0;
}

static void fifo_restore(struct sched_save *s)
{
    if (s->raised)
        sched_setscheduler(0, s->policy, &s->param);
    s->raised = 0;
}

void lpa_realtime(const struct lpa_opts *o, int on)
{
    static struct sched_save whole;
    if (on)
        fifo_raise(&whole, o);
    else
        fifo_restore(&whole);
}

/* Stop every thread, then check them all at once (registers, one batched
 * read of every stack, unwinding only where that fails, stepping threads
 * out of replaced code together), retrying with backoff.  Checking only
 * once all are stopped keeps lpatch off the CPUs while busy threads are
 * still on their way to their stop. */
static int stop_safe(struct lpa_world *w, pid_t pid, struct lpa_safety *sf,
                     const struct lpa_range *r, size_t nr, int memfd, const struct lpa_opts *o,
                     struct lpa_stats *st, char *err)
{
    unsigned backoff = o->backoff_us;
    char why[512] = "";
    int tries = o->retries > 0 ? o->retries : 1;
    for (int i = 0; i < tries; i++) {
        st->tries = i + 1;
        /* The check's scratch, for the threads there are now and as many
         * again: made here, as the pause must not allocate. */
        pid_t *tids;
        size_t nt = 0;
        if (lpa_tids(pid, &tids, &nt) == 0)
            free(tids);
        if (lpa_safety_reserve(sf, 2 * nt + 16, nr) != 0) {
            lpa_err(err, "process %d: out of memory", (int)pid);
            return LPA_USAGE;
        }
        enum lpa_stop_err e = lpa_stop(w, pid, 0, o->timeout_ms, err);
        if (e != LPA_STOP_OK)
            return stop_code(e);
        int verdict = lpa_safety_all(sf, w, r, nr, memfd, why);
        uint64_t t_checked = lpa_now_ns();
        st->stop_ns = t_checked - w->t_first; /* the check is part of the stop */
        st->check_ns = t_checked - w->t_stopped;
        st->threads = w->n;
        st->stepped = lpa_safety_stepped(sf);
        st->emulated = lpa_safety_finished(sf, &st->emulated_insns);
        if (verdict == 0) {
            assert(w->n > 0); /* every thread held, none missing from the check */
            return LPA_OK;
        }
        lpa_release(w);
        if (verdict < 0) {
            lpa_err(err, "%s", why);
            return LPA_USAGE;
        }
        if (i + 1 < tries) {
            usleep(backoff);
            backoff = backoff * 2 > o->backoff_max_us ? o->backoff_max_us : backoff * 2;
        }
    }
    lpa_err(err, "process %d: not safe after %d tries: %s", (int)pid, tries, why);
    return LPA_REFUSED;
}

static void finish_pause(struct lpa_world *w, struct lpa_stats *st, uint64_t t_write_end)
{
    lpa_release(w);
    st->resume_ns = w->t_released - t_write_end;
    st->pause_ns = w->t_released - w->t_first;
}

static void block_signals(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    sigaddset(&s, SIGQUIT);
    sigprocmask(SIG_BLOCK, &s, old);
}

/* Status changes rewrite the whole record area: one write, checksummed. */
static int set_status(int memfd, struct lps_state *s, struct lps_patch *p, uint32_t status)
{
    char e[512];
    p->status = status;
    return lps_store(memfd, s, e);
}

static void unmap_image(pid_t pid, uint64_t insn, uint64_t addr, uint64_t size,
                        const struct lpa_opts *o)
{
    struct lpa_world w;
    char e[512];
    if (lpa_stop(&w, pid, 1, o->timeout_ms, e) != LPA_STOP_OK)
        return;
    rcall(&w, insn, SYS_munmap, addr, size, 0, 0, 0, 0, e);
    lpa_release(&w);
}

/* ---- apply ------------------------------------------------------------ */

static int by_entry(const void *a, const void *b)
{
    const struct lps_func *x = *(struct lps_func *const *)a, *y = *(struct lps_func *const *)b;
    return x->entry_addr < y->entry_addr ? -1 : x->entry_addr > y->entry_addr;
}

enum { SPAN = 64 << 10 }; /* longest run of entries switched in one write */

/* What switch_entries needs, allocated before the pause. */
struct switch_mem {
    struct lps_func **v; /* n entries */
    uint8_t *buf;        /* SPAN bytes */
};

static int switch_mem_new(struct switch_mem *m, size_t n)
{
    m->v = malloc((n ? n : 1) * sizeof *m->v);
    m->buf = malloc(SPAN);
    return m->v && m->buf ? 0 : -1;
}

static void switch_mem_free(struct switch_mem *m)
{
    free(m->v);
    free(m->buf);
}

/* Switch every entry with as few writes as possible: entries close together
 * go in one write of the span between them, read back first (every thread
 * is held, so the bytes between cannot change).  100 entries in a few KiB
 * of text: 2 syscalls instead of 100.  back: restore the previous bytes.
 * Runs in the pause: allocates nothing (mem). */
static int switch_entries(int memfd, struct lps_func *rf, size_t n, int back,
                          const struct switch_mem *mem)
{
    struct lps_func **v = mem->v;
    uint8_t *buf = mem->buf;
    int rc = 0;
    assert(v && buf);
    for (size_t i = 0; i < n; i++)
        v[i] = &rf[i];
    qsort(v, n, sizeof *v, by_entry);
    for (size_t i = 1; i < n; i++) /* ascending: the span merge below relies on it */
        assert(v[i - 1]->entry_addr <= v[i]->entry_addr);
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i + 1;
        while (j < n && v[j]->entry_addr + LP_ENTRY_LEN - v[i]->entry_addr <= SPAN)
            j++;
        if (j == i + 1) {
            rc = lpa_mem_write(memfd, v[i]->entry_addr, back ? v[i]->prev_entry : v[i]->new_entry,
                               LP_ENTRY_LEN);
        } else {
            uint64_t lo = v[i]->entry_addr, len = v[j - 1]->entry_addr + LP_ENTRY_LEN - lo;
            assert(len <= SPAN);
            rc = lpa_mem_read(memfd, lo, buf, len);
            for (size_t k = i; k < j && rc == 0; k++)
                memcpy(buf + (v[k]->entry_addr - lo), back ? v[k]->prev_entry : v[k]->new_entry,
                       LP_ENTRY_LEN);
            if (rc == 0)
                rc = lpa_mem_write(memfd, lo, buf, len);
        }
        i = j;
    }
    return rc;
}

/* Relocate the image for a free range near the module (maps re-read if
 * `reread`); symbols resolved once are reused (lpa_target_resolve). */
static int relocate_near(struct lpa_target *t, const struct lp_layout *lay, int reread,
                         uint8_t *img, uint64_t *hint, char *err)
{
    if (reread) { /* the target mapped something there meanwhile */
        lpa_maps_free(&t->maps);
        if (lpa_maps_read(t->pid, &t->maps, err) != 0)
            return -1;
    }
    *hint = lpa_maps_free_near(&t->maps, t->mod->base, t->mod->end, lay->size);
    if (!*hint)
        return lpa_err(err, "process %d: no free address range within 2 GiB of %s", (int)t->pid,
                       t->mod->path);
    struct lp_target lt = {.load_bias = t->mod->load_bias,
                           .image_addr = *hint,
                           .resolve = lpa_target_resolve,
                           .ctx = t,
                           .module_by_name = t->stacked};
    lpa_target_tls(t, &lt);
    memset(img, 0, lay->size);
    return lp_relocate(t->patch, lay, &lt, img, err);
}

/* Map the relocated image near the module; one thread held briefly.  The
 * image is relocated before the thread is held: resolving symbols reads
 * ELF files and the link map, which the held thread need not wait for. */
static int map_image(struct lpa_target *t, const struct lp_layout *lay, uint64_t insn,
                     const struct lpa_opts *o, uint64_t *image_addr, char *err)
{
    uint8_t *img = calloc(1, lay->size);
    int rc = LPA_REFUSED;
    uint64_t hint = 0;
    if (!img) {
        lpa_err(err, "out of memory");
        return LPA_USAGE;
    }
    if (relocate_near(t, lay, 0, img, &hint, err) != 0) {
        free(img);
        return LPA_REFUSED;
    }
    struct lpa_world w;
    enum lpa_stop_err se = lpa_stop(&w, t->pid, 1, o->timeout_ms, err);
    if (se != LPA_STOP_OK) {
        free(img);
        return stop_code(se);
    }
    if (!t->state.addr) {
        t->state.addr = create_state(&w, insn, t->memfd, err);
        if (!t->state.addr)
            goto out;
    }
    for (int attempt = 0; attempt < 4; attempt++) {
        if (attempt && relocate_near(t, lay, 1, img, &hint, err) != 0)
            goto out;
        int64_t a = rcall(&w, insn, SYS_mmap, hint, lay->size, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0, err);
        if (a == INT64_MIN)
            goto out;
        if (a == -EEXIST)
            continue;
        if (a < 0 && a > -4096) {
            lpa_err(err, "process %d: remote mmap of %llu bytes: %s", (int)t->pid,
                    (unsigned long long)lay->size, strerror((int)-a));
            goto out;
        }
        if ((uint64_t)a != hint) { /* kernel without MAP_FIXED_NOREPLACE */
            rcall(&w, insn, SYS_munmap, (uint64_t)a, lay->size, 0, 0, 0, 0, err);
            continue;
        }
        if (lpa_mem_write(t->memfd, hint, img, lay->size) != 0) {
            lpa_err(err, "process %d: writing the patch image: %s", (int)t->pid, strerror(errno));
            rcall(&w, insn, SYS_munmap, hint, lay->size, 0, 0, 0, 0, err);
            goto out;
        }
        if (lay->exec_size) {
            int64_t m = rcall(&w, insn, SYS_mprotect, hint, lay->exec_size, PROT_READ | PROT_EXEC,
                              0, 0, 0, err);
            if (m != 0) {
                if (m != INT64_MIN)
                    lpa_err(err, "process %d: mprotect of the patch text: %s", (int)t->pid,
                            strerror((int)-m));
                rcall(&w, insn, SYS_munmap, hint, lay->size, 0, 0, 0, 0, err);
                goto out;
            }
        }
        *image_addr = hint;
        rc = LPA_OK;
        goto out;
    }
    lpa_err(err, "process %d: could not map the patch near %s", (int)t->pid, t->mod->path);
out:
    lpa_release(&w);
    free(img);
    return rc;
}

int lpa_apply(pid_t pid, const struct lp_patch *p, const char *source, const struct lpa_opts *o,
              struct lpa_stats *st, char *err)
{
    memset(st, 0, sizeof *st);
    uint64_t t_start = lpa_now_ns();
    /* Real-time for the whole command: busy target threads would otherwise
     * delay every wake-up of lpatch by a scheduler tick (measured: pause
     * 64 threads 64-122 ms vs under 1 ms). */
    struct sched_save ss;
    fifo_raise(&ss, o);
    struct lpa_target t;
    int rc = lpa_target_open(&t, pid, err);
    if (rc != 0)
        goto out_close;
    if (lpa_target_bind(&t, p, o->allow_active, o->nallow, err) != 0) {
        rc = LPA_REFUSED;
        goto out_close;
    }
    struct lp_layout lay;
    if (lp_layout_compute(p, &lay, err) != 0) {
        rc = LPA_USAGE;
        goto out_close;
    }
    uint64_t insn;
    if (lpa_find_syscall_insn(pid, t.memfd, &insn, err) != 0) {
        rc = LPA_REFUSED;
        goto out_close;
    }
    struct lpa_safety *sf = lpa_safety_new(pid, t.memfd);
    int sf_ok = sf != NULL;
    for (struct lps_patch *q = lps_next(&t.state, NULL); q && sf_ok; q = lps_next(&t.state, q))
        sf_ok = lpa_safety_opaque(sf, q->image_addr, q->image_addr + q->exec_size) == 0;
    if (!sf_ok) {
        lpa_safety_free(sf);
        lpa_err(err, "process %d: out of memory", (int)pid);
        rc = LPA_USAGE;
        goto out_close;
    }
    lpa_safety_stacks(sf, &t.maps);
    lpa_safety_warm(sf); /* unwind tables loaded now, not in the pause */
    uint64_t image = 0;
    rc = map_image(&t, &lay, insn, o, &image, err);
    if (rc != LPA_OK) {
        lpa_safety_free(sf);
        goto out_close;
    }
    st->image_addr = image;
    st->image_size = lay.size;
    st->prep_ns = lpa_now_ns() - t_start;

    /* Redirections and the record, computed before the pause. */
    const struct lp_header *h = lp_patch_header(p);
    struct lps_func *rf = calloc(t.nfp ? t.nfp : 1, sizeof *rf);
    struct lpa_range *ranges = calloc(2 * t.nfp + 1, sizeof *ranges);
    struct switch_mem sw = {0};
    uint8_t *pad_done = NULL;
    size_t nr = 0;
    if (!rf || !ranges || switch_mem_new(&sw, t.nfp) != 0) {
        lpa_err(err, "process %d: out of memory", (int)pid);
        rc = LPA_USAGE;
        goto out_unmap;
    }
    for (size_t i = 0; i < t.nfp; i++) {
        struct lpa_fplace *fp = &t.fp[i];
        const struct lp_func *f = fp->f;
        struct lp_redirect r;
        uint64_t new_addr = image + lay.text_off + f->new_off;
        if (lp_redirect_encode(fp->sym_addr, f->old_entry_off, f->old_prepad, new_addr, &r, err) !=
            0) {
            rc = LPA_REFUSED;
            goto out_unmap;
        }
        struct lps_func *q = &rf[i];
        snprintf(q->name, sizeof q->name, "%s", fp->name);
        q->sym_addr = fp->sym_addr;
        q->sym_size = f->old_size;
        q->new_addr = new_addr;
        q->new_size = f->new_size;
        q->flags = f->flags | (fp->allow_active ? LP_FUNC_ALLOW_ACTIVE : 0);
        q->pad_addr = r.pad_addr;
        q->pad_len = r.pad_len;
        q->entry_addr = r.entry_addr;
        memcpy(q->new_entry, r.entry, LP_ENTRY_LEN);
        memcpy(q->new_pad, r.pad, r.pad_len);
        if (lpa_mem_read(t.memfd, r.pad_addr, q->prev_pad, r.pad_len) != 0 ||
            lpa_mem_read(t.memfd, r.entry_addr, q->prev_entry, LP_ENTRY_LEN) != 0) {
            lpa_err(err, "process %d: reading %s: %s", (int)pid, fp->name, strerror(errno));
            rc = LPA_USAGE;
            goto out_unmap;
        }
        assert(nr + 2 <= 2 * t.nfp + 1);
        ranges[nr++] = (struct lpa_range){.lo = fp->sym_addr - f->old_prepad,
                                          .hi = fp->sym_addr + f->old_size,
                                          .ok_lo = fp->sym_addr,
                                          .ok_hi = r.entry_addr,
                                          .allow_active = fp->allow_active,
                                          .name = fp->name};
        if (fp->prev) /* the code an earlier patch put in place */
            ranges[nr++] = (struct lpa_range){.lo = fp->prev->new_addr,
                                              .hi = fp->prev->new_addr + fp->prev->new_size,
                                              .ok_lo = 1,
                                              .allow_active = fp->allow_active,
                                              .name = fp->name};
    }
    struct lps_patch rec = {.nfuncs = (uint32_t)t.nfp, .status = LPS_APPLYING};
    uint32_t nf;
    lp_patch_funcs(p, &nf);
    rec.nnew = nf - (uint32_t)t.nfp;
    memcpy(rec.patch_id, h->patch_id, 16);
    memcpy(rec.old_build_id, h->old_build_id, sizeof rec.old_build_id);
    memcpy(rec.new_build_id, h->new_build_id, sizeof rec.new_build_id);
    rec.old_build_id_len = h->old_build_id_len;
    rec.new_build_id_len = h->new_build_id_len;
    rec.load_bias = t.mod->load_bias;
    rec.image_addr = image;
    rec.image_size = lay.size;
    rec.exec_size = lay.exec_size;
    rec.applied_at = (uint64_t)time(NULL);
    memcpy(rec.module, t.mod->path, sizeof rec.module - 1);
    snprintf(rec.source, sizeof rec.source, "%s", source);

    /* Before the pause: record "applying", and write the pads no thread can
     * reach yet (their entry is still the 2-byte NOP).  Live pads (of
     * functions an earlier patch redirected) wait for the pause. */
    char full[LP_ERR_MAX];
    pad_done = calloc(t.nfp ? t.nfp : 1, 1);
    if (!pad_done) {
        lpa_err(err, "process %d: out of memory", (int)pid);
        rc = LPA_USAGE;
        goto out_unmap;
    }
    struct lps_patch *sr = lps_append(&t.state, &rec, rf, full);
    if (!sr) {
        lpa_err(err, "process %d: %s", (int)pid, full);
        rc = LPA_REFUSED;
        goto out_unmap;
    }
    assert(sr->nfuncs == t.nfp && sr->status == LPS_APPLYING);
    if (lps_store(t.memfd, &t.state, err) != 0) {
        rc = LPA_REFUSED;
        goto out_drop;
    }
    for (size_t i = 0; i < t.nfp; i++) {
        if (t.fp[i].prev)
            continue;
        if (lpa_mem_write(t.memfd, rf[i].pad_addr, rf[i].new_pad, rf[i].pad_len) != 0) {
            lpa_err(err, "process %d: writing the pad of %s: %s", (int)pid, rf[i].name,
                    strerror(errno));
            rc = LPA_REFUSED;
            goto out_drop;
        }
        pad_done[i] = 1;
    }

    /* ---- the pause ---- */
    struct lpa_world w;
    sigset_t oldmask;
    rc = stop_safe(&w, pid, sf, ranges, nr, t.memfd, o, st, err);
    if (rc != LPA_OK)
        goto out_drop;
    block_signals(&oldmask);
    uint64_t tw = lpa_now_ns();
    size_t entries = 0, i = 0;
    rc = LPA_OK;
    for (; i < t.nfp && rc == LPA_OK; i++)
        if (!pad_done[i]) {
            if (lpa_mem_write(t.memfd, rf[i].pad_addr, rf[i].new_pad, rf[i].pad_len) != 0)
                rc = LPA_REFUSED;
            else
                pad_done[i] = 2;
        }
    if (rc == LPA_OK && switch_entries(t.memfd, rf, t.nfp, 0, &sw) != 0)
        rc = LPA_REFUSED;
    entries = t.nfp; /* on failure restore all: restoring an unwritten one is a no-op */
    if (rc == LPA_OK && set_status(t.memfd, &t.state, sr, LPS_APPLIED) != 0)
        rc = LPA_REFUSED;
    if (rc != LPA_OK) { /* roll back what went live, in reverse order */
        lpa_err(err, "process %d: writing code: %s", (int)pid, strerror(errno));
        while (entries-- > 0)
            lpa_mem_write(t.memfd, rf[entries].entry_addr, rf[entries].prev_entry, LP_ENTRY_LEN);
        for (size_t k = 0; k < t.nfp; k++)
            if (pad_done[k] == 2)
                lpa_mem_write(t.memfd, rf[k].pad_addr, rf[k].prev_pad, rf[k].pad_len);
    }
    uint64_t tw_end = lpa_now_ns();
    st->write_ns = tw_end - tw;
    finish_pause(&w, st, tw_end);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
out_drop:
    if (rc != LPA_OK) { /* dead pads back, record gone: the process as it was */
        char e2[512];
        for (size_t k = 0; k < t.nfp; k++)
            if (pad_done[k] == 1)
                lpa_mem_write(t.memfd, rf[k].pad_addr, rf[k].prev_pad, rf[k].pad_len);
        lps_remove(&t.state, sr);
        lps_hdr(&t.state)->next_seq--;
        lps_store(t.memfd, &t.state, e2);
    }
out_unmap:
    if (rc != LPA_OK)
        unmap_image(pid, insn, image, lay.size, o);
    lpa_safety_free(sf);
    free(pad_done);
    switch_mem_free(&sw);
    free(rf);
    free(ranges);
out_close:
    lpa_target_close(&t);
    fifo_restore(&ss);
    return rc;
}

/* ---- revert ----------------------------------------------------------- */

static int same_bid(const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl)
{
    return al == bl && al && memcmp(a, b, al) == 0;
}

/* A later patch that needs `p`: built on its new build, or replacing one
 * of the same functions (its record holds p's redirection as "previous"). */
static struct lps_patch *dependent(struct lps_state *s, struct lps_patch *p)
{
    int later = 0;
    for (struct lps_patch *q = lps_next(s, NULL); q; q = lps_next(s, q)) {
        if (q == p) {
            later = 1;
            continue;
        }
        if (!later || !lpa_same_module(p, q))
            continue;
        if (same_bid(q->old_build_id, q->old_build_id_len, p->new_build_id, p->new_build_id_len) &&
            !same_bid(p->old_build_id, p->old_build_id_len, p->new_build_id, p->new_build_id_len))
            return q;
        for (uint32_t i = 0; i < p->nfuncs; i++)
            for (uint32_t j = 0; j < q->nfuncs; j++)
                if (lps_funcs(p)[i].sym_addr == lps_funcs(q)[j].sym_addr)
                    return q;
    }
    return NULL;
}

int lpa_revert(pid_t pid, const char *id_prefix, const struct lpa_opts *o, struct lpa_stats *st,
               char *id_out, char *err)
{
    memset(st, 0, sizeof *st);
    struct sched_save ss;
    fifo_raise(&ss, o);
    struct lpa_target t;
    int rc = lpa_target_open(&t, pid, err);
    if (rc != 0)
        goto out_close;
    struct lps_patch *p = NULL;
    if (id_prefix) {
        p = lps_find_id(&t.state, id_prefix);
    } else {
        for (struct lps_patch *q = lps_next(&t.state, NULL); q; q = lps_next(&t.state, q))
            p = q;
    }
    if (!p) {
        rc = LPA_REFUSED;
        if (id_prefix)
            lpa_err(err, "process %d has no applied patch %s", (int)pid, id_prefix);
        else
            lpa_err(err, "process %d has no applied patches", (int)pid);
        goto out_close;
    }
    lp_hex(p->patch_id, 16, id_out);
    struct lps_patch *dep = dependent(&t.state, p);
    if (dep) {
        char dh[33];
        lpa_err(err,
                "patch %s cannot be reverted: patch %s, applied later, depends on it (revert "
                "it first)",
                id_out, lp_hex(dep->patch_id, 16, dh));
        rc = LPA_REFUSED;
        goto out_close;
    }
    uint64_t insn;
    if (lpa_find_syscall_insn(pid, t.memfd, &insn, err) != 0) {
        rc = LPA_REFUSED;
        goto out_close;
    }
    struct lps_func *f = lps_funcs(p);
    int any_active = 0;
    for (uint32_t i = 0; i < p->nfuncs; i++)
        any_active |= (f[i].flags & LP_FUNC_ALLOW_ACTIVE) != 0;
    struct lpa_range *ranges = calloc(2 * (size_t)p->nfuncs + 1, sizeof *ranges);
    struct switch_mem sw = {0};
    struct lpa_safety *sf = NULL;
    size_t nr = 0;
    if (!ranges || switch_mem_new(&sw, p->nfuncs) != 0) {
        lpa_err(err, "process %d: out of memory", (int)pid);
        rc = LPA_USAGE;
        goto out_free;
    }
    for (uint32_t i = 0; i < p->nfuncs; i++) {
        ranges[nr++] = (struct lpa_range){.lo = f[i].new_addr,
                                          .hi = f[i].new_addr + f[i].new_size,
                                          .ok_lo = 1,
                                          .allow_active = (f[i].flags & LP_FUNC_ALLOW_ACTIVE) != 0,
                                          .name = f[i].name};
        ranges[nr++] = (struct lpa_range){
            .lo = f[i].pad_addr, .hi = f[i].entry_addr, .ok_lo = 1, .name = f[i].name};
    }
    char idname[64];
    snprintf(idname, sizeof idname, "code of patch %.12s", id_out);
    struct lpa_range whole = {
        .lo = p->image_addr, .hi = p->image_addr + p->exec_size, .ok_lo = 1, .name = idname};
    if (!any_active)
        ranges[nr++] = whole; /* new functions of the patch live there too */
    assert(nr <= 2 * (size_t)p->nfuncs + 1);
    sf = lpa_safety_new(pid, t.memfd);
    int sf_ok = sf != NULL;
    for (struct lps_patch *q = lps_next(&t.state, NULL); q && sf_ok; q = lps_next(&t.state, q))
        sf_ok = lpa_safety_opaque(sf, q->image_addr, q->image_addr + q->exec_size) == 0;
    if (!sf_ok) {
        lpa_err(err, "process %d: out of memory", (int)pid);
        rc = LPA_USAGE;
        goto out_free;
    }
    lpa_safety_stacks(sf, &t.maps);
    lpa_safety_warm(sf);

    /* Record "reverting" before the pause: a crash from here on leaves a
     * record that a later revert completes (restoring bytes is idempotent). */
    uint32_t was = p->status;
    uint64_t image = p->image_addr, size = p->image_size;
    if (set_status(t.memfd, &t.state, p, LPS_REVERTING) != 0) {
        lpa_err(err, "process %d: writing the patch state: %s", (int)pid, strerror(errno));
        rc = LPA_REFUSED;
        goto out_free;
    }
    struct lpa_world w;
    sigset_t oldmask;
    rc = stop_safe(&w, pid, sf, ranges, nr, t.memfd, o, st, err);
    if (rc != LPA_OK) {
        set_status(t.memfd, &t.state, p, was);
        goto out_free;
    }
    block_signals(&oldmask);
    uint64_t tw = lpa_now_ns();
    char why[512];
    int keep = any_active && lpa_safety_check(sf, &w, &whole, 1, t.memfd, why) != 0;
    /* In the pause: entries, and the pads that stay live (an earlier
     * patch's redirect).  A pad whose entry is back to 66 90 is dead. */
    if (switch_entries(t.memfd, f, p->nfuncs, 1, &sw) != 0)
        rc = LPA_REFUSED;
    for (uint32_t i = 0; i < p->nfuncs && rc == LPA_OK; i++)
        if (!lp_entry_is_nop(f[i].prev_entry) &&
            lpa_mem_write(t.memfd, f[i].pad_addr, f[i].prev_pad, f[i].pad_len) != 0)
            rc = LPA_REFUSED;
    uint64_t tw_end = lpa_now_ns();
    st->write_ns = tw_end - tw;
    finish_pause(&w, st, tw_end);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);

    for (uint32_t i = 0; i < p->nfuncs && rc == LPA_OK; i++)
        if (lp_entry_is_nop(f[i].prev_entry) &&
            lpa_mem_write(t.memfd, f[i].pad_addr, f[i].prev_pad, f[i].pad_len) != 0)
            rc = LPA_REFUSED;
    if (rc == LPA_OK) {
        lps_remove(&t.state, p);
        if (lps_store(t.memfd, &t.state, err) != 0)
            rc = LPA_REFUSED;
    } else {
        lpa_err(err, "process %d: writing code: %s (patch left 'reverting'; run revert again)",
                (int)pid, strerror(errno));
    }
    if (rc == LPA_OK && !keep) /* no thread is in it and none can enter it now */
        unmap_image(pid, insn, image, size, o);
    st->image_kept = keep;
    st->image_addr = image;
    st->image_size = size;
out_free:
    lpa_safety_free(sf);
    switch_mem_free(&sw);
    free(ranges);
out_close:
    lpa_target_close(&t);
    fifo_restore(&ss);
    return rc;
}
