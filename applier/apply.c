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
 * The steps live beside: image.c (the image and state area in the target),
 * pause.c (hold every thread, check, retry), entries.c (the 2-byte
 * switch); this file orders them and undoes them on failure.
 *
 * Each write to the target is one pwrite of /proc/PID/mem: the kernel copies
 * it whole or not at all even if lpatch is killed, and no thread runs while
 * code changes.
 */
#include "apply.h"
#include "entries.h"
#include "hooks.h"
#include "image.h"
#include "lp_entry.h"
#include "pause.h"
#include "proc.h"
#include "safety.h"
#include "state.h"
#include "stop.h"
#include "target.h"
#include "unwreg.h"

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

void lpa_opts_default(struct lpa_opts *o)
{
    memset(o, 0, sizeof *o);
    o->retries = 20;
    o->backoff_us = 1000;
    o->backoff_max_us = 100000;
    o->timeout_ms = 5000;
}

/* ---- Remote system calls ---------------------------------------------- */

/* Status changes rewrite the whole record area: one write, checksummed. */
static int set_status(int memfd, struct lpa_state *s, struct lps_patch *p, uint32_t status)
{
    char e[LP_ERR_MAX];
    p->status = status;
    return lpa_state_store(memfd, s, e);
}

/* ---- a process that exits half-way ------------------------------------- */

/* A target that dies or exits while lpatch works on it makes some step
 * fail with EIO, ESRCH or a remote syscall that "did not return": name the
 * real cause instead, with the documented code (LPA_USAGE, 2). */
static int gone_during(pid_t pid, int rc, const char *what, char *err)
{
    if (!lpa_process_gone(pid)) /* even after success: it did not live to run the patch */
        return rc;
    lpa_err(err, "process %d exited during %s", (int)pid, what);
    return LPA_USAGE;
}

static int revert(pid_t pid, const char *id_prefix, const struct lpa_opts *o, struct lpa_stats *st,
                  char *id_out, char *err, int callbacks);

/* ---- apply ------------------------------------------------------------ */

int lpa_apply(pid_t pid, const struct lp_patch *p, const char *source, const struct lpa_opts *o,
              struct lpa_stats *st, char *err)
{
    memset(st, 0, sizeof *st);
    lpa_test_target(pid);
    uint64_t t_start = lpa_now_ns();
    int post_failed = 0;
    char post_id[33];
    char post_err[LP_ERR_MAX];
    /* Real-time for the whole command: busy target threads would otherwise
     * delay every wake-up of lpatch by a scheduler tick (measured: pause
     * 64 threads 64-122 ms vs under 1 ms). */
    struct lpa_sched ss;
    lpa_fifo_raise(&ss, o);
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
    if (lpa_seccomp_check(pid, err) != 0 || lpa_find_syscall_insn(pid, t.memfd, &insn, err) != 0) {
        rc = LPA_REFUSED;
        goto out_close;
    }
    struct lpa_safety *sf = lpa_safety_new(pid, t.memfd);
    int sf_ok = sf != NULL;
    for (struct lps_patch *q = lpa_state_next(&t.state, NULL); q && sf_ok;
         q = lpa_state_next(&t.state, q))
        sf_ok = lpa_safety_image(sf, q->image_addr, q->exec_size, q->image_size) == 0;
    if (!sf_ok) {
        lpa_safety_free(sf);
        lpa_err(err, "process %d: out of memory", (int)pid);
        rc = LPA_USAGE;
        goto out_close;
    }
    lpa_safety_stacks(sf, &t.maps);
    lpa_safety_warm(sf); /* unwind tables loaded now, not in the pause */
    uint64_t image = 0;
    rc = lpa_image_map(&t, &lay, insn, o, &image, err);
    if (rc != LPA_OK) {
        lpa_safety_free(sf);
        goto out_close;
    }
    st->image_addr = image;
    st->image_size = lay.size;
    st->prep_ns = lpa_now_ns() - t_start;
    struct lp_hook_table hooks;
    int has_hooks = lpa_hooks_read(t.memfd, image, lay.exec_size, lay.size, &hooks);
    if ((lp_patch_header(p)->flags & LP_HDR_HOOKS) && !has_hooks) {
        lpa_err(err, "process %d: the patch's hook table did not arrive in the image", (int)pid);
        rc = LPA_REFUSED;
        lpa_image_unmap(pid, insn, image, lay.size, o);
        lpa_safety_free(sf);
        goto out_close;
    }

    /* The patch's CFI, visible to the target's unwinders before any of
     * its code can run (docs/first-class.md). */
    rc = lpa_unwind_register(&t, &lay, image, insn, o, err);
    if (rc != LPA_OK) {
        lpa_image_unmap(pid, insn, image, lay.size, o);
        lpa_safety_free(sf);
        goto out_close;
    }

    /* Redirections and the record, computed before the pause. */
    const struct lp_header *h = lp_patch_header(p);
    struct lps_func *rf = calloc(t.nfp ? t.nfp : 1, sizeof *rf);
    struct lpa_range *ranges = calloc(2 * t.nfp + 1, sizeof *ranges);
    struct lpa_switch_mem sw = {0};
    uint8_t *pad_done = NULL;
    size_t nr = 0;
    if (!rf || !ranges || lpa_switch_mem_new(&sw, t.nfp) != 0) {
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

    if (has_hooks) {
        /* The store's address goes into the state header with the record;
         * a veto leaves it (an empty store) for the next patch. */
        rc = lpa_hooks_run(pid, t.memfd, insn, &t.state, &hooks, LP_HOOK_PRE_APPLY, o, err);
        if (rc != LPA_OK)
            goto out_unmap;
    }

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
    struct lps_patch *sr = lpa_state_append(&t.state, &rec, rf, full);
    if (!sr) {
        lpa_err(err, "process %d: %s", (int)pid, full);
        rc = LPA_REFUSED;
        goto out_unmap;
    }
    assert(sr->nfuncs == t.nfp && sr->status == LPS_APPLYING);
    if (lpa_state_store(t.memfd, &t.state, err) != 0) {
        rc = LPA_REFUSED;
        goto out_drop;
    }
    lpa_test_point("state-applying");
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
        lpa_test_point("pad");
    }

    /* ---- the pause ---- */
    struct lpa_world w;
    sigset_t oldmask;
    rc = lpa_stop_safe(&w, pid, sf, ranges, nr, t.memfd, o, st, err);
    if (rc != LPA_OK)
        goto out_drop;
    lpa_test_point("paused");
    lpa_block_signals(&oldmask);
    uint64_t tw = lpa_now_ns();
    size_t entries = 0, i = 0;
    rc = LPA_OK;
    for (; i < t.nfp && rc == LPA_OK; i++)
        if (!pad_done[i]) {
            if (lpa_mem_write(t.memfd, rf[i].pad_addr, rf[i].new_pad, rf[i].pad_len) != 0)
                rc = LPA_REFUSED;
            else
                pad_done[i] = 2;
            lpa_test_point("pad");
        }
    if (rc == LPA_OK && lpa_switch_entries(t.memfd, rf, t.nfp, 0, &sw) != 0)
        rc = LPA_REFUSED;
    entries = t.nfp; /* on failure restore all: restoring an unwritten one is a no-op */
    if (rc == LPA_OK && set_status(t.memfd, &t.state, sr, LPS_APPLIED) != 0)
        rc = LPA_REFUSED;
    lpa_test_point("state-applied");
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
    lpa_finish_pause(&w, st, tw_end);
    lpa_test_point("released");
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    if (rc == LPA_OK && has_hooks &&
        lpa_hooks_run(pid, t.memfd, insn, &t.state, &hooks, LP_HOOK_POST_APPLY, o, post_err) !=
            LPA_OK) {
        post_failed = 1; /* applied: reverted below, once this target is closed */
        lp_hex(h->patch_id, 16, post_id);
    }
out_drop:
    if (rc != LPA_OK) { /* dead pads back, record gone: the process as it was */
        char e2[LP_ERR_MAX];
        for (size_t k = 0; k < t.nfp; k++)
            if (pad_done[k] == 1)
                lpa_mem_write(t.memfd, rf[k].pad_addr, rf[k].prev_pad, rf[k].pad_len);
        lpa_state_remove(&t.state, sr);
        lpa_state_hdr(&t.state)->next_seq--;
        lpa_state_store(t.memfd, &t.state, e2);
    }
out_unmap:
    if (rc != LPA_OK) {
        char e2[LP_ERR_MAX];
        if (lpa_unwind_deregister(pid, t.memfd, insn, image, lay.exec_size, lay.size, o, e2) == 0)
            lpa_image_unmap(pid, insn, image, lay.size, o);
        else /* an unwinder still points into it: leaving it mapped is safe */
            fprintf(stderr, "lpatch: warning: %s (the patch image stays mapped)\n", e2);
    } else {
        lpa_perfmap_add(pid, p, image, lay.text_off);
    }
    lpa_safety_free(sf);
    free(pad_done);
    lpa_switch_mem_free(&sw);
    free(rf);
    free(ranges);
out_close:
    lpa_target_close(&t);
    lpa_fifo_restore(&ss);
    if (post_failed) { /* the process as it was: the patch comes out again */
        struct lpa_stats rst;
        char rid[33], rerr[LP_ERR_MAX];
        int rr = revert(pid, post_id, o, &rst, rid, rerr, 0);
        if (rr == LPA_OK)
            lpa_err(err, "%s; the patch was reverted", post_err);
        else
            lpa_err(err, "%s; reverting the patch failed too: %s", post_err, rerr);
        rc = LPA_REFUSED;
    }
    return gone_during(pid, rc, "apply", err);
}

/* ---- revert ----------------------------------------------------------- */

static int same_bid(const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl)
{
    return al == bl && al && memcmp(a, b, al) == 0;
}

/* A later patch that needs `p`: built on its new build, or replacing one
 * of the same functions (its record holds p's redirection as "previous"). */
static struct lps_patch *dependent(struct lpa_state *s, struct lps_patch *p)
{
    int later = 0;
    for (struct lps_patch *q = lpa_state_next(s, NULL); q; q = lpa_state_next(s, q)) {
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
                if (lpa_state_funcs(p)[i].sym_addr == lpa_state_funcs(q)[j].sym_addr)
                    return q;
    }
    return NULL;
}

static int revert(pid_t pid, const char *id_prefix, const struct lpa_opts *o, struct lpa_stats *st,
                  char *id_out, char *err, int callbacks)
{
    memset(st, 0, sizeof *st);
    lpa_test_target(pid);
    struct lpa_sched ss;
    lpa_fifo_raise(&ss, o);
    struct lpa_target t;
    int rc = lpa_target_open(&t, pid, err);
    if (rc != 0)
        goto out_close;
    struct lps_patch *p = NULL;
    if (id_prefix) {
        p = lpa_state_find_id(&t.state, id_prefix);
    } else {
        for (struct lps_patch *q = lpa_state_next(&t.state, NULL); q;
             q = lpa_state_next(&t.state, q))
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
    if (lpa_seccomp_check(pid, err) != 0 || lpa_find_syscall_insn(pid, t.memfd, &insn, err) != 0) {
        rc = LPA_REFUSED;
        goto out_close;
    }
    struct lps_func *f = lpa_state_funcs(p);
    int any_active = 0;
    for (uint32_t i = 0; i < p->nfuncs; i++)
        any_active |= (f[i].flags & LP_FUNC_ALLOW_ACTIVE) != 0;
    struct lpa_range *ranges = calloc(2 * (size_t)p->nfuncs + 1, sizeof *ranges);
    struct lpa_switch_mem sw = {0};
    struct lpa_safety *sf = NULL;
    size_t nr = 0;
    if (!ranges || lpa_switch_mem_new(&sw, p->nfuncs) != 0) {
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
    for (struct lps_patch *q = lpa_state_next(&t.state, NULL); q && sf_ok;
         q = lpa_state_next(&t.state, q))
        sf_ok = lpa_safety_image(sf, q->image_addr, q->exec_size, q->image_size) == 0;
    if (!sf_ok) {
        lpa_err(err, "process %d: out of memory", (int)pid);
        rc = LPA_USAGE;
        goto out_free;
    }
    lpa_safety_stacks(sf, &t.maps);
    lpa_safety_warm(sf);

    struct lp_hook_table hooks;
    int has_hooks = callbacks && p->status == LPS_APPLIED &&
                    lpa_hooks_read(t.memfd, p->image_addr, p->exec_size, p->image_size, &hooks);
    if (has_hooks) {
        rc = lpa_hooks_run(pid, t.memfd, insn, &t.state, &hooks, LP_HOOK_PRE_REVERT, o, err);
        if (rc != LPA_OK)
            goto out_free;
    }

    /* Record "reverting" before the pause: a crash from here on leaves a
     * record that a later revert completes (restoring bytes is idempotent). */
    uint32_t was = p->status;
    uint64_t image = p->image_addr, size = p->image_size, exec = p->exec_size;
    if (set_status(t.memfd, &t.state, p, LPS_REVERTING) != 0) {
        lpa_err(err, "process %d: writing the patch state: %s", (int)pid, strerror(errno));
        rc = LPA_REFUSED;
        goto out_free;
    }
    lpa_test_point("state-reverting");
    struct lpa_world w;
    sigset_t oldmask;
    rc = lpa_stop_safe(&w, pid, sf, ranges, nr, t.memfd, o, st, err);
    if (rc != LPA_OK) {
        set_status(t.memfd, &t.state, p, was);
        goto out_free;
    }
    lpa_test_point("paused");
    lpa_block_signals(&oldmask);
    uint64_t tw = lpa_now_ns();
    char why[LP_ERR_MAX];
    int keep = any_active && lpa_safety_check(sf, &w, &whole, 1, t.memfd, why) != 0;
    /* In the pause: entries, and the pads that stay live (an earlier
     * patch's redirect).  A pad whose entry is back to 66 90 is dead. */
    if (lpa_switch_entries(t.memfd, f, p->nfuncs, 1, &sw) != 0)
        rc = LPA_REFUSED;
    for (uint32_t i = 0; i < p->nfuncs && rc == LPA_OK; i++)
        if (!lp_entry_is_nop(f[i].prev_entry)) {
            if (lpa_mem_write(t.memfd, f[i].pad_addr, f[i].prev_pad, f[i].pad_len) != 0)
                rc = LPA_REFUSED;
            lpa_test_point("pad");
        }
    uint64_t tw_end = lpa_now_ns();
    st->write_ns = tw_end - tw;
    lpa_finish_pause(&w, st, tw_end);
    lpa_test_point("released");
    sigprocmask(SIG_SETMASK, &oldmask, NULL);

    for (uint32_t i = 0; i < p->nfuncs && rc == LPA_OK; i++)
        if (lp_entry_is_nop(f[i].prev_entry)) {
            if (lpa_mem_write(t.memfd, f[i].pad_addr, f[i].prev_pad, f[i].pad_len) != 0)
                rc = LPA_REFUSED;
            lpa_test_point("pad");
        }
    if (rc == LPA_OK) {
        lpa_state_remove(&t.state, p);
        if (lpa_state_store(t.memfd, &t.state, err) != 0)
            rc = LPA_REFUSED;
        lpa_test_point("state-removed");
    } else {
        lpa_err(err, "process %d: writing code: %s (patch left 'reverting'; run revert again)",
                (int)pid, strerror(errno));
    }
    if (rc == LPA_OK && has_hooks) {
        /* Old code everywhere again; the image is still mapped.  A failure
         * here cannot be undone by re-applying: report it, revert stays. */
        char herr[LP_ERR_MAX];
        if (lpa_hooks_run(pid, t.memfd, insn, &t.state, &hooks, LP_HOOK_POST_REVERT, o, herr) !=
            LPA_OK)
            fprintf(stderr, "lpatch: warning: %s (the patch is reverted)\n", herr);
    }
    if (rc == LPA_OK && !keep) { /* no thread is in it and none can enter it now */
        char uerr[LP_ERR_MAX];
        if (lpa_unwind_deregister(pid, t.memfd, insn, image, exec, size, o, uerr) != 0) {
            fprintf(stderr, "lpatch: warning: %s (the patch image stays mapped)\n", uerr);
            keep = 1;
        } else {
            lpa_image_unmap(pid, insn, image, size, o);
            lpa_perfmap_remove(pid, image, image + size);
        }
    }
    st->image_kept = keep;
    st->image_addr = image;
    st->image_size = size;
out_free:
    lpa_safety_free(sf);
    lpa_switch_mem_free(&sw);
    free(ranges);
out_close:
    lpa_target_close(&t);
    lpa_fifo_restore(&ss);
    return gone_during(pid, rc, "revert", err);
}

int lpa_revert(pid_t pid, const char *id_prefix, const struct lpa_opts *o, struct lpa_stats *st,
               char *id_out, char *err)
{
    return revert(pid, id_prefix, o, st, id_out, err, 1);
}
