/*
 * safety.c - the stack check, with libunwind over ptrace.
 *
 * One libunwind address space with a global cache lives for the whole run,
 * so retries re-use parsed unwind tables (uncached unwinding costs ~1 ms per
 * thread; cached ~20 us).  Frames without unwind information fall back to a
 * conservative scan of the raw stack words.
 */
#include "safety.h"
#include "proc.h"

#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#define MAX_FRAMES 256
#define RAW_SCAN   (64u << 10)

struct lpa_safety {
    unw_addr_space_t as;
    uint64_t (*opaque)[2];
    size_t nopaque;
    pid_t pid;
    struct lpa_maps *maps; /* of the current check, read lazily */
};

struct lpa_safety *lpa_safety_new(void)
{
    struct lpa_safety *s = calloc(1, sizeof *s);
    s->as = unw_create_addr_space(&_UPT_accessors, 0);
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
    free(s->opaque);
    free(s);
}

void lpa_safety_opaque(struct lpa_safety *s, uint64_t lo, uint64_t hi)
{
    s->opaque = realloc(s->opaque, (s->nopaque + 1) * sizeof *s->opaque);
    s->opaque[s->nopaque][0] = lo;
    s->opaque[s->nopaque][1] = hi;
    s->nopaque++;
}

static int is_opaque(const struct lpa_safety *s, uint64_t ip)
{
    for (size_t i = 0; i < s->nopaque; i++)
        if (ip >= s->opaque[i][0] && ip < s->opaque[i][1])
            return 1;
    return 0;
}

/* The range an address hits, or NULL; frame 0 is the exact IP, deeper
 * frames are return addresses (checked as ip-1: the call instruction). */
static const struct lpa_range *hit(const struct lpa_range *r, size_t nr, uint64_t ip, int frame)
{
    uint64_t a = frame ? ip - 1 : ip;
    for (size_t i = 0; i < nr; i++) {
        if (a < r[i].lo || a >= r[i].hi)
            continue;
        if (frame == 0 && a >= r[i].ok_lo && a <= r[i].ok_hi)
            continue;
        if (r[i].allow_active && (frame > 0 || a >= r[i].ok_lo))
            continue;
        return &r[i];
    }
    return NULL;
}

static int raw_scan(struct lpa_safety *s, pid_t tid, uint64_t sp, const struct lpa_range *r,
                    size_t nr, int memfd, char *why)
{
    char e[512];
    if (!s->maps->n)
        lpa_maps_read(s->pid, s->maps, e);
    const struct lpa_map *mp = lpa_maps_find(s->maps, sp);
    uint64_t end = mp ? mp->end : sp + RAW_SCAN;
    if (end - sp > RAW_SCAN)
        end = sp + RAW_SCAN;
    size_t n = (size_t)((end - sp) / 8);
    uint64_t *words = malloc(n * 8 + 8);
    if (lpa_mem_read(memfd, sp, words, n * 8) != 0)
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
    free(words);
    return rc;
}

static int check_thread(struct lpa_safety *s, pid_t tid, const struct lpa_range *r, size_t nr,
                        int memfd, char *why)
{
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0)
        return 0; /* the thread is gone */
    const struct lpa_range *h = hit(r, nr, regs.rip, 0);
    if (h) {
        lpa_err(why, "thread %d is executing %s (ip %#llx)", (int)tid, h->name,
                 (unsigned long long)regs.rip);
        return 1;
    }
    void *ui = s->as ? _UPT_create(tid) : NULL;
    unw_cursor_t c;
    if (!ui || unw_init_remote(&c, s->as, ui) != 0) {
        if (ui)
            _UPT_destroy(ui);
        return raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
    }
    int rc = 0, frame = 0, step = 1;
    unw_word_t ip = regs.rip, sp = regs.rsp;
    while (frame < MAX_FRAMES) {
        if (is_opaque(s, ip)) {
            rc = raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
            break;
        }
        if (frame > 0 && (h = hit(r, nr, ip, frame))) {
            lpa_err(why, "thread %d has %s on its stack (frame %d, return address %#llx)",
                     (int)tid, h->name, frame, (unsigned long long)ip);
            rc = 1;
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
    _UPT_destroy(ui);
    if (!rc && step < 0) /* lost the chain: be conservative */
        rc = raw_scan(s, tid, regs.rsp, r, nr, memfd, why);
    return rc;
}

int lpa_safety_check(struct lpa_safety *s, struct lpa_world *w, const struct lpa_range *r,
                     size_t nr, int memfd, char *why)
{
    struct lpa_maps m = { 0 }; /* read only if a raw scan needs stack bounds */
    s->pid = w->pid;
    s->maps = &m;
    int rc = 0;
    for (size_t i = 0; i < w->n && !rc; i++)
        rc = check_thread(s, w->t[i].tid, r, nr, memfd, why);
    lpa_maps_free(&m);
    s->maps = NULL;
    return rc;
}
