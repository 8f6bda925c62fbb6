/*
 * unwreg.c - the patch's code made visible to the target's own unwinders
 * and to perf (docs/first-class.md).
 *
 * libgcc: the unwinder of glibc's backtrace(), of C++ exceptions and of
 * thread cancellation finds FDEs through dl_iterate_phdr, which never sees
 * the image, and through the objects registered with __register_frame.
 * lpatch calls __register_frame(eh_frame) of the target's libgcc (the
 * executable's own copy if it has one, else libgcc_s.so.1) on a borrowed
 * thread, and __deregister_frame(eh_frame) at revert before the image is
 * unmapped.  libunwind (libunwind.so.8, when the target links it): its
 * local unwinder consults its list of dynamic unwind info before anything
 * else; lpatch fills a unw_dyn_info_t in the image (UNW_INFO_FORMAT_IP_OFFSET:
 * the patch's sorted index and eh_frame) and calls _U_dyn_register, and
 * _U_dyn_cancel at revert.
 *
 * The borrowed thread follows the callbacks' rules (hooks.c: not in the
 * allocator, the dynamic loader, fork...) and in addition has no frame in
 * libgcc_s or libunwind, whose locks the registration takes.  The calls
 * return into the image's unwind table (mapped, not executable).  What
 * was registered, and with which function it is undone, is written into
 * the table in the image, so revert (which has no patch file) undoes
 * exactly that.
 */
#include "unwreg.h"
#include "elfread.h"
#include "hooks.h"
#include "pause.h"
#include "proc.h"
#include "stop.h"

#include <assert.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* libunwind's UNW_INFO_FORMAT_IP_OFFSET (libunwind-dynamic.h, 1.6) */
#define UNW_FORMAT_IP_OFFSET 4

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* fn(arg) in the target on a borrowed thread (lpa_borrow_call), which
 * also has no frame in libgcc_s or libunwind, whose locks these calls take;
 * it returns into ret_addr (mapped, not executable).  LPA_OK, or an exit
 * code with err. */
static int call_in(pid_t pid, int memfd, uint64_t insn, uint64_t fn, uint64_t arg,
                   uint64_t ret_addr, const char *what, const struct lpa_opts *o, char *err)
{
    static const char *const unwinders[] = {"libgcc_s.so", "libunwind", NULL};
    struct lpa_borrow b = {.fn = fn,
                           .arg = arg,
                           .ret_addr = ret_addr,
                           .avoid = unwinders,
                           .what = what,
                           .how = "call"};
    uint64_t ret;
    return lpa_borrow_call(pid, memfd, insn, &b, o, &ret, err);
}

/* Runtime address of `name` defined in the first module of t whose file
 * name starts with `prefix` ("" for the executable); 0 if none. */
static uint64_t find_fn(const struct lpa_target *t, const char *prefix, const char *name)
{
    for (size_t i = 0; i < t->nmods; i++) {
        const struct lpa_module *m = &t->mods[i];
        if (*prefix ? strncmp(base_name(m->path), prefix, strlen(prefix)) != 0 : !m->is_main)
            continue;
        struct lpa_elf_sym s;
        if (lpa_elf_find_sym(m->open_path, name, 1, &s) == 0 && s.count && s.type == STT_FUNC)
            return m->load_bias + s.value;
    }
    return 0;
}

int lpa_unwind_register(struct lpa_target *t, const struct lp_layout *lay, uint64_t image,
                        uint64_t insn, const struct lpa_opts *o, char *err)
{
    const struct lp_unwind_table *ut = lp_patch_unwind(t->patch);
    if (!ut || !ut->nfde)
        return LPA_OK;
    if (getenv("LPATCH_TEST_NO_UNWIND")) /* tests: the control, a patch left unregistered */
        return LPA_OK;
    assert(lay->rodata_off == lay->exec_size); /* revert finds the table there */
    uint64_t tab = image + lay->rodata_off + LP_UNWIND_OFF(lp_patch_header(t->patch)->flags);
    uint64_t eh = image + lay->rodata_off + ut->eh_frame_off;
    pid_t pid = t->pid;
    /* The executable's own libgcc (-static-libgcc) serves its throws. */
    uint64_t reg = find_fn(t, "", "__register_frame");
    uint64_t dereg = reg ? find_fn(t, "", "__deregister_frame") : 0;
    if (!reg || !dereg) {
        reg = find_fn(t, "libgcc_s.so", "__register_frame");
        dereg = find_fn(t, "libgcc_s.so", "__deregister_frame");
    }
    uint64_t dreg = find_fn(t, "libunwind.so", "_U_dyn_register");
    uint64_t dcancel = find_fn(t, "libunwind.so", "_U_dyn_cancel");
    if (!reg || !dereg)
        fprintf(stderr,
                "lpatch: warning: process %d has not loaded libgcc_s: backtrace(), C++ "
                "exceptions and thread cancellation will not unwind through the patched code "
                "(see docs/first-class.md)\n",
                (int)pid);
    int rc = LPA_OK;
    if (reg && dereg) {
        rc = call_in(pid, t->memfd, insn, reg, eh, tab, "__register_frame", o, err);
        if (rc != LPA_OK)
            return rc;
        uint64_t v[2] = {dereg, eh};
        if (lpa_mem_write(t->memfd, tab + offsetof(struct lp_unwind_table, frame_dereg), v,
                          sizeof v) != 0) {
            lpa_err(err, "process %d: writing the unwind table: %s", (int)pid, strerror(errno));
            call_in(pid, t->memfd, insn, dereg, eh, tab, "__deregister_frame", o, err);
            return LPA_REFUSED;
        }
    }
    if (dreg && dcancel) {
        /* unw_dyn_info_t: next, prev, start_ip, end_ip, gp, format+pad,
         * load_offset, u.rti {name_ptr, segbase, table_len (words),
         * table_data} */
        uint64_t di[12] = {0};
        di[2] = image + lay->text_off;
        di[3] = image + lay->text_off + ut->text_hi;
        di[5] = UNW_FORMAT_IP_OFFSET;
        di[8] = eh;
        di[9] = (uint64_t)ut->nfde * sizeof(struct lp_unwind_index) / 8;
        di[10] = image + lay->rodata_off + ut->index_off;
        uint64_t at = tab + offsetof(struct lp_unwind_table, dyn_info);
        if (lpa_mem_write(t->memfd, at, di, sizeof di) != 0) {
            lpa_err(err, "process %d: writing the unwind table: %s", (int)pid, strerror(errno));
            rc = LPA_REFUSED;
        } else
            rc = call_in(pid, t->memfd, insn, dreg, at, tab, "_U_dyn_register", o, err);
        if (rc == LPA_OK &&
            lpa_mem_write(t->memfd, tab + offsetof(struct lp_unwind_table, dyn_cancel), &dcancel,
                          8) != 0) {
            lpa_err(err, "process %d: writing the unwind table: %s", (int)pid, strerror(errno));
            char e2[LP_ERR_MAX];
            call_in(pid, t->memfd, insn, dcancel, at, tab, "_U_dyn_cancel", o, e2);
            rc = LPA_REFUSED;
        }
        if (rc != LPA_OK) {
            char e2[LP_ERR_MAX];
            lpa_unwind_deregister(pid, t->memfd, insn, image, lay->exec_size, lay->size, o, e2);
            return rc;
        }
    }
    return LPA_OK;
}

int lpa_unwind_deregister(pid_t pid, int memfd, uint64_t insn, uint64_t image, uint64_t exec_size,
                          uint64_t image_size, const struct lpa_opts *o, char *err)
{
    char magic[8];
    uint64_t tab = image + exec_size;
    if (lpa_mem_read(memfd, tab, magic, sizeof magic) != 0)
        return 0;
    if (!memcmp(magic, LP_HOOKS_MAGIC, sizeof magic)) {
        tab += sizeof(struct lp_hook_table);
        if (lpa_mem_read(memfd, tab, magic, sizeof magic) != 0)
            return 0;
    }
    struct lp_unwind_table ut;
    if (memcmp(magic, LP_UNWIND_MAGIC, sizeof magic) || tab + sizeof ut > image + image_size ||
        lpa_mem_read(memfd, tab, &ut, sizeof ut) != 0)
        return 0; /* a patch without unwind information */
    int failed = 0;
    if (ut.dyn_cancel) {
        uint64_t at = tab + offsetof(struct lp_unwind_table, dyn_info);
        if (call_in(pid, memfd, insn, ut.dyn_cancel, at, tab, "_U_dyn_cancel", o, err) != LPA_OK)
            failed = 1;
        else {
            uint64_t zero = 0;
            lpa_mem_write(memfd, tab + offsetof(struct lp_unwind_table, dyn_cancel), &zero, 8);
        }
    }
    if (ut.frame_dereg && ut.frame_addr >= image && ut.frame_addr < image + image_size) {
        if (call_in(pid, memfd, insn, ut.frame_dereg, ut.frame_addr, tab, "__deregister_frame", o,
                    err) != LPA_OK)
            failed = 1;
        else {
            uint64_t zero[2] = {0, 0};
            lpa_mem_write(memfd, tab + offsetof(struct lp_unwind_table, frame_dereg), zero,
                          sizeof zero);
        }
    }
    return failed ? -1 : 0;
}

/* ---- perf's map file ------------------------------------------------------ */

static void perfmap_path(pid_t pid, char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/perf-%d.map", (int)pid);
}

void lpa_perfmap_add(pid_t pid, const struct lp_patch *p, uint64_t image, uint64_t text_off)
{
    char path[64];
    perfmap_path(pid, path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        fprintf(stderr,
                "lpatch: warning: %s: not written (%s): perf will not name the patched "
                "code\n",
                path, fd < 0 ? strerror(errno) : "not a regular file of this user");
        if (fd >= 0)
            close(fd);
        return;
    }
    uint32_t n;
    const struct lp_func *f = lp_patch_funcs(p, &n);
    char line[512];
    for (uint32_t i = 0; i < n; i++) {
        int len =
            snprintf(line, sizeof line, "%" PRIx64 " %x %s\n", image + text_off + f[i].new_off,
                     f[i].new_size, lp_patch_str(p, f[i].name));
        if (len > 0 && (size_t)len < sizeof line && write(fd, line, (size_t)len) != len)
            break;
    }
    close(fd);
}

void lpa_perfmap_remove(pid_t pid, uint64_t lo, uint64_t hi)
{
    char path[64];
    perfmap_path(pid, path, sizeof path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    FILE *in = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        !(in = fdopen(fd, "r"))) {
        close(fd);
        return;
    }
    char *out = NULL;
    size_t outlen = 0;
    FILE *o = open_memstream(&out, &outlen);
    char line[4096];
    int removed = 0;
    while (o && fgets(line, sizeof line, in)) {
        uint64_t a = strtoull(line, NULL, 16);
        if (a >= lo && a < hi)
            removed = 1;
        else
            fputs(line, o);
    }
    fclose(in);
    if (!o)
        return;
    fclose(o);
    char e[LP_ERR_MAX];
    if (removed && outlen == 0)
        unlink(path);
    else if (removed && lp_file_replace(path, out, outlen, e) != 0)
        fprintf(stderr, "lpatch: warning: %s\n", e);
    free(out);
}
