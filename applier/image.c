/*
 * image.c - what lpatch maps into the target: the patch image, relocated
 * for a free range within 2 GiB of its module, mapped with remote system
 * calls in one held thread, written and made executable; and the state
 * area (a memfd named "livepatch-state") where there is none yet.
 */
#include "image.h"
#include "pause.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1u
#endif

/* memfd "livepatch-state", mapped private, so later runs find it by name. */
static uint64_t create_state(struct lpa_world *w, uint64_t insn, int memfd, char *err)
{
    int64_t scratch = lpa_rsys_val(w, insn, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
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
    fd = lpa_rsys_val(w, insn, SYS_memfd_create, (uint64_t)scratch, MFD_CLOEXEC, 0, 0, 0, 0, err);
    if (fd < 0) {
        if (fd != INT64_MIN)
            lpa_err(err, "process %d: remote memfd_create: %s", (int)w->pid, strerror((int)-fd));
        goto out;
    }
    int64_t r = lpa_rsys_val(w, insn, SYS_ftruncate, (uint64_t)fd, LPS_AREA_SIZE, 0, 0, 0, 0, err);
    if (r == 0)
        r = lpa_rsys_val(w, insn, SYS_mmap, 0, LPS_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
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
        lpa_rsys_val(w, insn, SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0, err);
    lpa_rsys_val(w, insn, SYS_munmap, (uint64_t)scratch, 4096, 0, 0, 0, 0, err);
    return addr;
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

/* A patch with hooks: its context (in the relocated image about to be
 * written at `at`) learns where the shadow store is. */
static int fill_hook_ctx(struct lpa_target *t, const struct lp_layout *lay, uint8_t *img,
                         uint64_t at, char *err)
{
    if (!(lp_patch_header(t->patch)->flags & LP_HDR_HOOKS))
        return 0;
    struct lp_hook_table tab;
    if (lay->rodata_off != lay->exec_size || lay->size < lay->rodata_off + sizeof(tab))
        return lpa_err(err, "the patch's hook table is not where it must be");
    memcpy(&tab, img + lay->rodata_off, sizeof(tab));
    if (tab.self != at + lay->rodata_off || tab.ctx < at + lay->data_off ||
        tab.ctx + sizeof(struct lp_hook_ctx) > at + lay->got_off)
        return lpa_err(err, "the patch's hook table does not point into its own data");
    struct lp_hook_ctx ctx;
    memcpy(&ctx, img + (tab.ctx - at), sizeof(ctx));
    ctx.shadow_arena = lpa_state_hdr(&t->state)->shadow_arena;
    ctx.shadow_arena_size = LP_SHADOW_ARENA_SIZE;
    ctx.veto_msg = 0;
    memcpy(img + (tab.ctx - at), &ctx, sizeof(ctx));
    return 0;
}

/* Map the relocated image near the module; one thread held briefly.  The
 * image is relocated before the thread is held: resolving symbols reads
 * ELF files and the link map, which the held thread need not wait for. */
int lpa_image_map(struct lpa_target *t, const struct lp_layout *lay, uint64_t insn,
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
        return lpa_stop_code(se);
    }
    if (!t->state.addr) {
        t->state.addr = create_state(&w, insn, t->memfd, err);
        if (!t->state.addr)
            goto out;
    }
    if ((lp_patch_header(t->patch)->flags & LP_HDR_HOOKS) &&
        !lpa_state_hdr(&t->state)->shadow_arena) {
        /* The shadow store every patch with hooks shares; recorded with the
         * state when the record is stored. */
        int64_t a =
            lpa_rsys_val(&w, insn, SYS_mmap, 0, LP_SHADOW_ARENA_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, (uint64_t)-1, 0, err);
        if (a == INT64_MIN)
            goto out;
        if (a < 0 && a > -4096) {
            lpa_err(err, "process %d: remote mmap of the shadow store: %s", (int)t->pid,
                    strerror((int)-a));
            goto out;
        }
        lpa_state_hdr(&t->state)->shadow_arena = (uint64_t)a;
    }
    for (int attempt = 0; attempt < 4; attempt++) {
        if (attempt && relocate_near(t, lay, 1, img, &hint, err) != 0)
            goto out;
        int64_t a =
            lpa_rsys_val(&w, insn, SYS_mmap, hint, lay->size, PROT_READ | PROT_WRITE,
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
            lpa_rsys_val(&w, insn, SYS_munmap, (uint64_t)a, lay->size, 0, 0, 0, 0, err);
            continue;
        }
        if (fill_hook_ctx(t, lay, img, hint, err) != 0) {
            lpa_rsys_val(&w, insn, SYS_munmap, hint, lay->size, 0, 0, 0, 0, err);
            goto out;
        }
        if (lpa_mem_write(t->memfd, hint, img, lay->size) != 0) {
            lpa_err(err, "process %d: writing the patch image: %s", (int)t->pid, strerror(errno));
            lpa_rsys_val(&w, insn, SYS_munmap, hint, lay->size, 0, 0, 0, 0, err);
            goto out;
        }
        lpa_test_point("image-write");
        if (lay->exec_size) {
            int64_t m = lpa_rsys_val(&w, insn, SYS_mprotect, hint, lay->exec_size,
                                     PROT_READ | PROT_EXEC, 0, 0, 0, err);
            if (m != 0) {
                if (m != INT64_MIN)
                    lpa_err(err, "process %d: mprotect of the patch text: %s", (int)t->pid,
                            strerror((int)-m));
                lpa_rsys_val(&w, insn, SYS_munmap, hint, lay->size, 0, 0, 0, 0, err);
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
    lpa_test_point("image-released");
    free(img);
    return rc;
}

void lpa_image_unmap(pid_t pid, uint64_t insn, uint64_t addr, uint64_t size,
                     const struct lpa_opts *o)
{
    struct lpa_world w;
    char e[LP_ERR_MAX];
    if (lpa_stop(&w, pid, 1, o->timeout_ms, e) != LPA_STOP_OK)
        return;
    lpa_rsys_val(&w, insn, SYS_munmap, addr, size, 0, 0, 0, 0, e);
    lpa_release(&w);
}
