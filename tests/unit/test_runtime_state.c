/*
 * test_runtime_state.c - the in-target record of applied patches
 * (runtime/lpstate.h): build, round trip, stacking/revert rules, and
 * rejection of corrupt areas.
 */
#include <stdlib.h>
#include <string.h>

#include "liblivepatch.h"
#include "lpstate.h"
#include "tap.h"

static struct lps_func func(const char *name, uint64_t sym, uint64_t new_addr)
{
    struct lps_func f;
    memset(&f, 0, sizeof f);
    snprintf(f.name, sizeof f.name, "%s", name);
    struct lp_redirect r;
    char err[LP_ERR_MAX];
    lp_redirect_encode(sym, 0, 16, new_addr, &r, err);
    f.sym_addr = sym;
    f.sym_size = 64;
    f.new_addr = new_addr;
    f.pad_addr = r.pad_addr;
    f.entry_addr = r.entry_addr;
    f.pad_len = r.pad_len;
    memcpy(f.new_pad, r.pad, r.pad_len);
    memcpy(f.new_entry, r.entry, 2);
    memcpy(f.prev_entry, r.entry_orig, 2);
    memset(f.prev_pad, 0x90, r.pad_len);
    return f;
}

static struct lps_patch patch(uint8_t id, uint32_t nfuncs)
{
    struct lps_patch p;
    memset(&p, 0, sizeof p);
    memset(p.patch_id, id, 16);
    p.nfuncs = nfuncs;
    p.status = LPS_APPLIED;
    p.load_bias = 0x555555554000;
    p.image_addr = 0x555555600000 + id * 0x10000ull;
    p.image_size = 0x2000;
    p.exec_size = 0x1000;
    p.old_build_id_len = 20;
    memset(p.old_build_id, 0xab, 20);
    snprintf(p.module, sizeof p.module, "/usr/bin/server");
    snprintf(p.source, sizeof p.source, "fix%u.lpatch", id);
    return p;
}

/* Two stacked patches; the second redirects `greet` again, so its prev
 * bytes are the first patch's redirect. */
static uint8_t *two_patches(uint64_t *len)
{
    uint8_t *area = calloc(1, LPS_AREA_SIZE);
    char err[LP_ERR_MAX] = "";
    lps_area_init(area, LPS_AREA_SIZE);
    struct lps_func f1[2] = {func("greet", 0x555555555200, 0x555555600000),
                             func("count", 0x555555555300, 0x555555600040)};
    struct lps_patch p1 = patch(1, 2);
    lps_area_append(area, LPS_AREA_SIZE, &p1, f1, err);
    struct lps_func f2 = func("greet", 0x555555555200, 0x555555610000);
    memcpy(f2.prev_pad, f1[0].new_pad, f1[0].pad_len);
    memcpy(f2.prev_entry, f1[0].new_entry, 2);
    struct lps_patch p2 = patch(2, 1);
    lps_area_append(area, LPS_AREA_SIZE, &p2, &f2, err);
    *len = lps_area_seal(area);
    return area;
}

TEST(empty_area_is_valid)
{
    uint8_t *area = calloc(1, LPS_AREA_SIZE);
    char err[LP_ERR_MAX] = "";
    lps_area_init(area, LPS_AREA_SIZE);
    CHECK_EQ_INT(lps_area_check(area, sizeof(struct lps_header), err), 0);
    CHECK(lps_area_next(area, NULL) == NULL);
    const struct lps_header *h = (const struct lps_header *)area;
    CHECK_EQ_INT(h->next_seq, 1);
    CHECK_EQ_INT(h->size, LPS_AREA_SIZE);
    free(area);
}

TEST(round_trip_through_bytes)
{
    uint64_t len;
    uint8_t *area = two_patches(&len);
    CHECK_EQ_INT(len, sizeof(struct lps_header) + 2 * sizeof(struct lps_patch) +
                          3 * sizeof(struct lps_func));
    /* what a later lpatch run reads: only `len` bytes, in a fresh buffer */
    uint8_t *copy = malloc(len);
    memcpy(copy, area, len);
    char err[LP_ERR_MAX] = "";
    CHECK_EQ_INT(lps_area_check(copy, len, err), 0);
    struct lps_patch *p = lps_area_next(copy, NULL);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK_EQ_INT(p->seq, 1);
    CHECK_EQ_INT(p->nfuncs, 2);
    CHECK_STR(lps_patch_funcs(p)[1].name, "count");
    CHECK_STR(p->source, "fix1.lpatch");
    struct lps_patch *q = lps_area_next(copy, p);
    CHECK(q != NULL && q->seq == 2 && lps_area_next(copy, q) == NULL);
    /* stacked: patch 2 remembers patch 1's jump as what to restore */
    CHECK(memcmp(lps_patch_funcs(q)[0].prev_pad, lps_patch_funcs(p)[0].new_pad, 5) == 0);
    CHECK_EQ_INT(lps_patch_funcs(q)[0].prev_entry[0], 0xeb);
    uint8_t id[16];
    memset(id, 2, 16);
    CHECK(lps_area_find(copy, id) == q);
    memset(id, 3, 16);
    CHECK(lps_area_find(copy, id) == NULL);
    free(copy);
    free(area);
}

TEST(remove_keeps_sequence)
{
    uint64_t len;
    uint8_t *area = two_patches(&len);
    char err[LP_ERR_MAX] = "";
    struct lps_patch *p1 = lps_area_next(area, NULL), *p2 = lps_area_next(area, p1);
    lps_area_remove(area, p2);
    CHECK(lps_area_next(area, NULL) == p1 && lps_area_next(area, p1) == NULL);
    len = lps_area_seal(area);
    CHECK_EQ_INT(lps_area_check(area, len, err), 0);
    const struct lps_header *h = (const struct lps_header *)area;
    CHECK_EQ_INT(h->npatches, 1);
    CHECK_EQ_INT(h->next_seq, 3); /* sequence numbers are never reused */
    /* a new patch after a revert gets seq 3 */
    struct lps_patch p3 = patch(3, 0);
    struct lps_patch *q = lps_area_append(area, LPS_AREA_SIZE, &p3, NULL, err);
    CHECK(q != NULL && q->seq == 3);
    len = lps_area_seal(area);
    CHECK_EQ_INT(lps_area_check(area, len, err), 0);
    free(area);
}

TEST(full_area_is_refused)
{
    uint8_t *area = calloc(1, 4096);
    char err[LP_ERR_MAX] = "";
    lps_area_init(area, 4096);
    struct lps_func f[30];
    for (int i = 0; i < 30; i++)
        f[i] = func("f", 0x401000 + 0x100 * i, 0x500000);
    struct lps_patch p = patch(1, 30); /* 536 + 30 * 152 bytes > 4 KiB */
    CHECK(lps_area_append(area, 4096, &p, f, err) == NULL);
    CHECK(strstr(err, "no room for another record") != NULL);
    free(area);
}

TEST(corrupt_areas_are_rejected)
{
    uint64_t len;
    uint8_t *area = two_patches(&len);
    char err[LP_ERR_MAX];
    uint8_t *copy = malloc(len);
    int accepted = 0;
    for (uint64_t i = 0; i < len; i++) {
        memcpy(copy, area, len);
        copy[i] ^= 0x41;
        if (lps_area_check(copy, len, err) == 0)
            accepted++;
        /* resealed corruption: must be judged without crashing */
        struct lps_header *h = (struct lps_header *)copy;
        if (h->used <= LPS_AREA_SIZE && h->used <= len - sizeof *h)
            lps_area_seal(copy);
        lps_area_check(copy, len, err);
    }
    CHECK_EQ_INT(accepted, 0);
    for (uint64_t n = 0; n < len; n++)
        if (lps_area_check(area, n, err) == 0)
            accepted++;
    CHECK_EQ_INT(accepted, 0);

    /* specific failures, resealed so the structural check speaks */
    memcpy(copy, area, len);
    struct lps_patch *p = (struct lps_patch *)(copy + sizeof(struct lps_header));
    p->status = 9;
    lps_area_seal(copy);
    CHECK_EQ_INT(lps_area_check(copy, len, err), -1);
    CHECK(strstr(err, "record 0: unknown status 9") != NULL);
    memcpy(copy, area, len);
    p->rec_size += 8;
    lps_area_seal(copy);
    CHECK_EQ_INT(lps_area_check(copy, len, err), -1);
    CHECK(strstr(err, "record 0: size") != NULL);
    memcpy(copy, area, len);
    lps_patch_funcs(p)[0].pad_len = 40;
    lps_area_seal(copy);
    CHECK_EQ_INT(lps_area_check(copy, len, err), -1);
    CHECK(strstr(err, "'greet': pad length 40") != NULL);
    memcpy(copy, area, len);
    p->seq = 7;
    lps_area_seal(copy);
    CHECK_EQ_INT(lps_area_check(copy, len, err), -1);
    CHECK(strstr(err, "record 0: sequence 7 out of order") != NULL);
    memcpy(copy, area, len);
    memset(p->source, 'x', sizeof p->source);
    lps_area_seal(copy);
    CHECK_EQ_INT(lps_area_check(copy, len, err), -1);
    CHECK(strstr(err, "not terminated") != NULL);
    memcpy(copy, area, len);
    copy[0] = 'X';
    CHECK_EQ_INT(lps_area_check(copy, len, err), -1);
    CHECK(strstr(err, "bad magic") != NULL);
    free(copy);
    free(area);
}

int main(void)
{
    RUN(empty_area_is_valid);
    RUN(round_trip_through_bytes);
    RUN(remove_keeps_sequence);
    RUN(full_area_is_refused);
    RUN(corrupt_areas_are_rejected);
    return tap_done();
}
