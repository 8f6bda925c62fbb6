/*
 * test_applier_proc.c - lpatch's pure pieces: choosing where to map a patch
 * image, reading a module's identity, and the in-target state round trip
 * (on this very process: a memfd named livepatch-state, read back through
 * /proc/self/mem exactly as lpatch reads a target), and the safety check's
 * refusal to allocate inside the pause.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elfread.h"
#include "proc.h"
#include "safety.h"
#include "state.h"
#include "stop.h"
#include "tap.h"

#define GiB (1ull << 30)

static struct lpa_map mk(uint64_t s, uint64_t e, const char *path)
{
    struct lpa_map m = {.start = s, .end = e};
    memcpy(m.perms, "r-xp", 5);
    m.path = (char *)path;
    return m;
}

TEST(free_near_takes_the_closest_gap_within_reach)
{
    struct lpa_map v[] = {
        mk(0x10000000, 0x10100000, "/bin/far"),
        mk(0x550000000000, 0x550000010000, "/bin/app"),  /* module */
        mk(0x550000020000, 0x550000030000, "/lib/x.so"), /* gap of 0x10000 between */
        mk(0x7f0000000000, 0x7f0000001000, "/lib/y.so"),
    };
    struct lpa_maps m = {.v = v, .n = 4};
    uint64_t a = lpa_maps_free_near(&m, 0x550000000000, 0x550000010000, 0x4000);
    CHECK(a >= 0x550000010000 && a + 0x4000 <= 0x550000020000);
    /* too big for that gap: a free range next to the module, either side,
     * whose every byte is within rel32 reach of the module */
    uint64_t b = lpa_maps_free_near(&m, 0x550000000000, 0x550000010000, 0x20000);
    CHECK(b + 0x20000 <= 0x550000000000 || b >= 0x550000030000);
    CHECK(b + 0x20000 <= 0x550000000000 ? 0x550000010000 - b < 2 * GiB
                                        : b + 0x20000 - 0x550000000000 < 2 * GiB);
    CHECK(!lpa_maps_find(&m, b) && !lpa_maps_find(&m, b + 0x20000 - 1));
}

TEST(free_near_avoids_heap_growth_and_unreachable_gaps)
{
    struct lpa_map v[] = {
        mk(0x400000, 0x401000, "/bin/nopie"),
        mk(0x402000, 0x500000, "[heap]"),
        mk(0x7f0000000000, 0x7f0000001000, "/lib/libc.so.6"),
    };
    struct lpa_maps m = {.v = v, .n = 3};
    /* gaps: [0x10000,0x400000) below (fits), [0x401000,0x402000) (too
     * small), above the heap only from 1 GiB up (brk grows there) */
    uint64_t a = lpa_maps_free_near(&m, 0x400000, 0x401000, 0x2000);
    CHECK(a >= 0x10000 && a + 0x2000 <= 0x400000);
    uint64_t b = lpa_maps_free_near(&m, 0x400000, 0x401000, 0x800000);
    CHECK(b >= 0x500000 + GiB && b + 0x800000 - 0x400000 <= 2 * GiB);
    /* a 1.5 GiB image: beyond reach once the heap's room is left */
    CHECK_EQ_INT(lpa_maps_free_near(&m, 0x400000, 0x401000, 3 * GiB / 2), 0);
}

TEST(free_near_a_library_uses_the_space_above_the_heap)
{
    /* Libraries packed together, nothing free between them: the only room
     * within reach of libexpat is the top of the gap above the heap. */
    struct lpa_map v[] = {
        mk(0x555555554000, 0x555555560000, "/usr/bin/app"),
        mk(0x555555600000, 0x555555700000, "[heap]"),
        mk(0x7f0000000000, 0x7f0000040000, "/usr/lib/libexpat.so.1"),
        mk(0x7f0000040000, 0x7f0000200000, "/usr/lib/libc.so.6"),
        mk(0x7ffffffde000, 0x7ffffffff000, "[stack]"),
    };
    struct lpa_maps m = {.v = v, .n = 5};
    uint64_t a = lpa_maps_free_near(&m, 0x7f0000000000, 0x7f0000040000, 0x10000);
    CHECK(a + 0x10000 <= 0x7f0000000000 && 0x7f0000040000 - a <= 2 * GiB);
    CHECK(a >= 0x555555700000 + GiB);
}

TEST(identify_reads_the_build_id_of_this_program)
{
    struct lpa_module mod = {0};
    uint64_t v, o;
    char err[512] = "";
    CHECK_EQ_INT(lpa_elf_identify("/proc/self/exe", &mod, &v, &o, err), 0);
    CHECK_EQ_INT(mod.build_id_len, 20);
    CHECK_EQ_INT(lpa_elf_identify("/etc/hostname", &mod, &v, &o, err), -1);
    CHECK(strstr(err, "/etc/hostname") != NULL);
}

TEST(modules_of_this_process_include_its_executable)
{
    struct lpa_maps m;
    struct lpa_module *mods;
    size_t n, mains = 0;
    char err[512];
    CHECK_EQ_INT(lpa_maps_read(getpid(), &m, err), 0);
    CHECK_EQ_INT(lpa_modules(getpid(), &m, &mods, &n, err), 0);
    for (size_t i = 0; i < n; i++)
        if (mods[i].is_main) {
            mains++;
            CHECK(mods[i].base <= (uint64_t)(uintptr_t)&lpa_modules);
            CHECK(mods[i].end > (uint64_t)(uintptr_t)&lpa_modules);
        }
    CHECK_EQ_INT(mains, 1);
    free(mods);
    lpa_maps_free(&m);
}

TEST(state_round_trip_through_proc_mem)
{
    char err[512] = "";
    int fd = memfd_create(LPS_NAME, MFD_CLOEXEC);
    CHECK(fd >= 0 && ftruncate(fd, LPS_AREA_SIZE) == 0);
    void *area = mmap(NULL, LPS_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(area != MAP_FAILED);
    int mem = lpa_mem_open(getpid(), err);
    CHECK(mem >= 0);

    struct lpa_state st;
    CHECK_EQ_INT(lpa_state_load(getpid(), mem, &st, err), 0);
    CHECK_EQ_INT(st.addr, (uint64_t)(uintptr_t)area);
    CHECK_EQ_INT(lpa_state_hdr(&st)->npatches, 0);

    struct lps_patch p = {.nfuncs = 1, .status = LPS_APPLIED, .seq = 1};
    memset(p.patch_id, 0xab, 16);
    struct lps_func f = {.name = "compute",
                         .sym_addr = 0x1000,
                         .new_addr = 0x2000,
                         .pad_addr = 0xff0,
                         .pad_len = 5,
                         .entry_addr = 0x1000};
    CHECK(lpa_state_append(&st, &p, &f, err) != NULL);
    CHECK_EQ_INT(lpa_state_store(mem, &st, err), 0);
    lpa_state_free(&st);

    CHECK_EQ_INT(lpa_state_load(getpid(), mem, &st, err), 0);
    CHECK_EQ_INT(lpa_state_hdr(&st)->npatches, 1);
    struct lps_patch *q = lpa_state_find_id(&st, "abab");
    CHECK(q != NULL);
    if (q)
        CHECK_STR(lpa_state_funcs(q)[0].name, "compute");
    lpa_state_free(&st);

    /* a flipped byte fails the checksum: nothing in it is trusted */
    ((uint8_t *)area)[sizeof(struct lps_header) + 40] ^= 1;
    CHECK_EQ_INT(lpa_state_load(getpid(), mem, &st, err), -1);
    CHECK(strstr(err, "checksum") != NULL);
    lpa_state_free(&st);
    close(mem);
    munmap(area, LPS_AREA_SIZE);
    close(fd);
}

/* The pause allocates nothing: lpa_safety_all works in the room that
 * lpa_safety_reserve made before it, and with more threads held than that
 * it refuses (a retry, after the release, reserves more) instead. */
TEST(safety_check_refuses_more_threads_than_reserved)
{
    struct lpa_safety *s = lpa_safety_new(getpid(), -1);
    CHECK(s != NULL);
    if (!s)
        return;
    struct lpa_thread t[3] = {{.tid = 1}, {.tid = 2}, {.tid = 3}};
    struct lpa_world w = {.pid = getpid(), .t = t, .n = 3, .cap = 3, .memfd = -1};
    struct lpa_range r = {.lo = 0x1000, .hi = 0x2000, .name = "f"};
    char why[512] = "";
    CHECK_EQ_INT(lpa_safety_all(s, &w, &r, 1, -1, why), 1);
    CHECK(strstr(why, "3 threads, room made for 0") != NULL);
    CHECK_EQ_INT(lpa_safety_reserve(s, 2, 1), 0);
    CHECK_EQ_INT(lpa_safety_all(s, &w, &r, 1, -1, why), 1);
    CHECK(strstr(why, "3 threads, room made for 2") != NULL);
    lpa_safety_free(s);
}

int main(void)
{
    RUN(free_near_takes_the_closest_gap_within_reach);
    RUN(free_near_avoids_heap_growth_and_unreachable_gaps);
    RUN(free_near_a_library_uses_the_space_above_the_heap);
    RUN(identify_reads_the_build_id_of_this_program);
    RUN(modules_of_this_process_include_its_executable);
    RUN(state_round_trip_through_proc_mem);
    RUN(safety_check_refuses_more_threads_than_reserved);
    return tap_done();
}
