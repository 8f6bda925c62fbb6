/*
 * test_runtime_shadow.c - the in-target hook runtime (runtime/hooks/):
 * the shadow variable store's semantics (get, alloc, get_or_alloc, free,
 * free_all, ctor and dtor), its memory (zero-filled, aligned, reused, a full
 * arena), the lazily mapped arena, the lock word the applier reads, eight
 * threads at once, and lp_veto.
 *
 * The runtime's sources are compiled into this test the ordinary way
 * (sanitizers on); tests/foundation/hooks_object.bats checks the
 * freestanding object lpdiff links.  Each test gives the store a fresh
 * arena through lp__hook_ctx, as lpatch does.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "livepatch-hooks.h"
#include "hooks/hooks_internal.h"
#include "tap.h"

static struct lp_shadow_head *head(void)
{
    return (struct lp_shadow_head *)(uintptr_t)lp__hook_ctx.shadow_arena;
}

static struct lph_store *store(void)
{
    return (struct lph_store *)((char *)head() + LPH_STORE_OFF);
}

/* A fresh zero arena of `size` bytes, installed the way lpatch does it. */
static void fresh_arena(uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(&lp__hook_ctx, 0, sizeof lp__hook_ctx);
    lp__hook_ctx.shadow_arena = (uint64_t)(uintptr_t)p;
    lp__hook_ctx.shadow_arena_size = size;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i])
            return 0;
    return 1;
}

/* Mappings in /proc/self/maps exactly `size` bytes long. */
static int mappings_of_size(uint64_t size)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && hi - lo == size)
            n++;
    }
    if (f)
        fclose(f);
    return n;
}

static int objs[64];

TEST(get_alloc_free_semantics)
{
    fresh_arena(1 << 20);
    CHECK(lp_shadow_get(&objs[0], 1) == NULL);
    unsigned char *a = lp_shadow_alloc(&objs[0], 1, 24, NULL, NULL);
    CHECK(a != NULL);
    CHECK(((uintptr_t)a & 15) == 0);
    CHECK(all_zero(a, 24));
    CHECK_EQ_INT(head()->nlive, 1);
    CHECK(lp_shadow_get(&objs[0], 1) == a);
    /* an existing (obj, id): alloc refuses, get_or_alloc returns it */
    CHECK(lp_shadow_alloc(&objs[0], 1, 24, NULL, NULL) == NULL);
    CHECK(lp_shadow_get_or_alloc(&objs[0], 1, 24, NULL, NULL) == a);
    CHECK_EQ_INT(head()->nlive, 1);
    /* the key is the pair: another id, another object */
    unsigned char *b = lp_shadow_get_or_alloc(&objs[0], 2, 8, NULL, NULL);
    unsigned char *c = lp_shadow_alloc(&objs[1], 1, 8, NULL, NULL);
    CHECK(b && c && b != a && c != a && b != c);
    CHECK_EQ_INT(head()->nlive, 3);
    memset(a, 0xa5, 24);
    CHECK(all_zero(b, 8) && all_zero(c, 8));
    lp_shadow_free(&objs[0], 1, NULL);
    CHECK(lp_shadow_get(&objs[0], 1) == NULL);
    CHECK(lp_shadow_get(&objs[0], 2) == b);
    CHECK_EQ_INT(head()->nlive, 2);
    lp_shadow_free(&objs[0], 1, NULL); /* nothing there: no effect */
    CHECK_EQ_INT(head()->nlive, 2);
    /* freed data is reused, zero-filled again */
    unsigned char *d = lp_shadow_alloc(&objs[2], 1, 24, NULL, NULL);
    CHECK(d == a);
    CHECK(d && all_zero(d, 24));
    /* size 0 and a large size are fine */
    CHECK(lp_shadow_alloc(&objs[3], 1, 0, NULL, NULL) != NULL);
    unsigned char *big = lp_shadow_alloc(&objs[4], 1, 100000, NULL, NULL);
    CHECK(big && ((uintptr_t)big & 15) == 0 && all_zero(big, 100000));
    CHECK_EQ_INT(head()->nlive, 5);
}

struct ctor_seen {
    int calls;
    void *obj, *data;
    int data_was_zero;
    int refuse;
};

static int ctor(void *obj, void *data, void *ctor_data)
{
    struct ctor_seen *s = ctor_data;
    s->calls++;
    s->obj = obj;
    s->data = data;
    s->data_was_zero = all_zero(data, 32);
    memset(data, 0x5a, 32);
    return s->refuse;
}

TEST(ctor_fills_or_refuses)
{
    fresh_arena(1 << 20);
    struct ctor_seen s = {0};
    unsigned char *a = lp_shadow_alloc(&objs[0], 7, 32, ctor, &s);
    CHECK(a != NULL);
    CHECK_EQ_INT(s.calls, 1);
    CHECK(s.obj == &objs[0] && s.data == a && s.data_was_zero);
    CHECK(a && a[0] == 0x5a && a[31] == 0x5a);
    /* get_or_alloc of an existing shadow runs no ctor */
    CHECK(lp_shadow_get_or_alloc(&objs[0], 7, 32, ctor, &s) == a);
    CHECK_EQ_INT(s.calls, 1);
    /* a refusing ctor: NULL, nothing attached, nlive unchanged */
    struct ctor_seen r = {.refuse = 1};
    CHECK(lp_shadow_alloc(&objs[1], 7, 32, ctor, &r) == NULL);
    CHECK(lp_shadow_get_or_alloc(&objs[1], 7, 32, ctor, &r) == NULL);
    CHECK_EQ_INT(r.calls, 2);
    CHECK(lp_shadow_get(&objs[1], 7) == NULL);
    CHECK_EQ_INT(head()->nlive, 1);
    /* the refused block (written by the ctor) comes back zeroed */
    struct ctor_seen t = {0};
    CHECK(lp_shadow_alloc(&objs[2], 7, 32, ctor, &t) != NULL);
    CHECK(t.data_was_zero);
}

static int dtor_calls;
static void *dtor_objs[64];

static void dtor(void *obj, void *data)
{
    (void)data;
    if (dtor_calls < 64)
        dtor_objs[dtor_calls] = obj;
    dtor_calls++;
}

TEST(dtor_once_per_freed_shadow)
{
    fresh_arena(1 << 20);
    for (int i = 0; i < 10; i++) {
        CHECK(lp_shadow_alloc(&objs[i], 1, 16, NULL, NULL) != NULL);
        CHECK(lp_shadow_alloc(&objs[i], 2, 16, NULL, NULL) != NULL);
    }
    CHECK_EQ_INT(head()->nlive, 20);
    dtor_calls = 0;
    lp_shadow_free(&objs[3], 1, dtor);
    CHECK_EQ_INT(dtor_calls, 1);
    CHECK(dtor_objs[0] == &objs[3]);
    lp_shadow_free(&objs[3], 1, dtor); /* gone: no second call */
    CHECK_EQ_INT(dtor_calls, 1);
    dtor_calls = 0;
    lp_shadow_free_all(1, dtor);
    CHECK_EQ_INT(dtor_calls, 9);
    int seen[10] = {0};
    for (int i = 0; i < 9 && i < dtor_calls; i++)
        for (int j = 0; j < 10; j++)
            if (dtor_objs[i] == &objs[j])
                seen[j]++;
    for (int j = 0; j < 10; j++)
        CHECK_EQ_INT(seen[j], j == 3 ? 0 : 1);
    CHECK_EQ_INT(head()->nlive, 10);
    for (int i = 0; i < 10; i++) {
        CHECK(lp_shadow_get(&objs[i], 1) == NULL);
        CHECK(lp_shadow_get(&objs[i], 2) != NULL);
    }
    lp_shadow_free_all(2, NULL);
    CHECK_EQ_INT(head()->nlive, 0);
    lp_shadow_free_all(2, dtor); /* none left */
    CHECK_EQ_INT(dtor_calls, 9);
}

/* What a ctor sees of the lock, and what a nested call does. */
static uint64_t lock_in_ctor, tp_in_ctor;
static void *nested_get;

static int lock_ctor(void *obj, void *data, void *ctor_data)
{
    (void)data;
    (void)ctor_data;
    lock_in_ctor = __atomic_load_n(&head()->lock, __ATOMIC_RELAXED);
    tp_in_ctor = (uint64_t)(uintptr_t)pthread_self(); /* glibc: the thread pointer */
    nested_get = lp_shadow_get(obj, 1);               /* must not deadlock */
    return 0;
}

TEST(lock_word_is_the_owner_thread_pointer)
{
    fresh_arena(1 << 20);
    CHECK(lp_shadow_alloc(&objs[0], 1, 8, NULL, NULL) != NULL);
    CHECK_EQ_INT(head()->lock, 0);
    CHECK(lp_shadow_alloc(&objs[1], 5, 8, lock_ctor, NULL) != NULL);
    CHECK(lock_in_ctor != 0);
    CHECK(lock_in_ctor == tp_in_ctor);
    CHECK(lock_in_ctor == lph_thread_pointer());
    CHECK(nested_get == NULL); /* refused rather than deadlocked */
    CHECK_EQ_INT(head()->lock, 0);
    CHECK(lp_shadow_get(&objs[0], 1) != NULL); /* and the store still works */
}

TEST(freed_memory_is_reused_and_the_arena_stays_bounded)
{
    fresh_arena(4 << 20);
    enum { SLOTS = 64 };
    int live[SLOTS] = {0};
    uint64_t seed = 12345;
    for (int op = 0; op < 200000; op++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((seed >> 33) % SLOTS);
        if (live[k]) {
            lp_shadow_free(&objs[k], 9, NULL);
            live[k] = 0;
        } else {
            size_t size = (seed >> 20) % 200; /* blocks of 64, 128 or 256 bytes */
            unsigned char *p = lp_shadow_alloc(&objs[k], 9, size, NULL, NULL);
            CHECK(p != NULL);
            if (p && !all_zero(p, size))
                CHECK(!"reused data zero-filled");
            if (p)
                memset(p, 0xee, size);
            live[k] = 1;
        }
    }
    int n = 0;
    for (int k = 0; k < SLOTS; k++)
        n += live[k];
    CHECK_EQ_INT(head()->nlive, n);
    /* at most SLOTS blocks of each of the three classes ever handed out */
    uint64_t used = store()->bump - store()->heap;
    printf("# bump pointer moved %llu bytes over 200000 operations\n", (unsigned long long)used);
    CHECK(used <= SLOTS * (64 + 128 + 256));
    CHECK(used > 0);
}

TEST(a_full_store_returns_null)
{
    fresh_arena(64 << 10); /* honoured: writing past it would fault */
    int n = 0;
    static int many[4096];
    while (n < 4096 && lp_shadow_alloc(&many[n], 1, 32, NULL, NULL))
        n++;
    printf("# a 64 KiB arena held %d shadows of 32 bytes\n", n);
    CHECK(n > 100 && n < 1024);
    CHECK_EQ_INT(head()->nlive, n);
    CHECK(lp_shadow_get_or_alloc(&many[n], 1, 32, NULL, NULL) == NULL);
    CHECK(lp_shadow_get(&many[0], 1) != NULL); /* the others are intact */
    lp_shadow_free(&many[0], 1, NULL);
    CHECK(lp_shadow_alloc(&many[n], 1, 32, NULL, NULL) != NULL); /* its block again */
    CHECK(lp_shadow_alloc(&many[n + 1], 1, 32, NULL, NULL) == NULL);
    CHECK(lp_shadow_alloc(&objs[0], 2, 1 << 20, NULL, NULL) == NULL); /* larger than the arena */
    CHECK(lp_shadow_alloc(&objs[0], 2, (size_t)-1, NULL, NULL) == NULL);
    CHECK_EQ_INT(head()->nlive, n);
    /* an arena too small for a store and one block holds nothing */
    fresh_arena(4096);
    lp__hook_ctx.shadow_arena_size = 600;
    CHECK(lp_shadow_alloc(&objs[0], 1, 8, NULL, NULL) == NULL);
    CHECK(lp_shadow_get(&objs[0], 1) == NULL);
    CHECK_EQ_INT(head()->nlive, 0);
    CHECK_EQ_INT(head()->lock, 0);
}

/* ---- The lazily mapped arena ---------------------------------------------- */

#define LAZY_THREADS 8
static pthread_barrier_t lazy_barrier;

static void *lazy_thread(void *arg)
{
    pthread_barrier_wait(&lazy_barrier);
    return lp_shadow_alloc(arg, 3, 16, NULL, NULL);
}

TEST(without_an_arena_one_is_mapped_once)
{
    memset(&lp__hook_ctx, 0, sizeof lp__hook_ctx);
    int before = mappings_of_size(LP_SHADOW_ARENA_SIZE);
    pthread_t t[LAZY_THREADS];
    pthread_barrier_init(&lazy_barrier, NULL, LAZY_THREADS);
    for (int i = 0; i < LAZY_THREADS; i++)
        pthread_create(&t[i], NULL, lazy_thread, &objs[i]);
    int ok = 0;
    for (int i = 0; i < LAZY_THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok += r != NULL;
    }
    pthread_barrier_destroy(&lazy_barrier);
    CHECK_EQ_INT(ok, LAZY_THREADS);
    CHECK(lp__hook_ctx.shadow_arena != 0);
    CHECK_EQ_INT(lp__hook_ctx.shadow_arena_size, LP_SHADOW_ARENA_SIZE);
    CHECK_EQ_INT(head()->nlive, LAZY_THREADS);
    /* the racing threads' other mappings were unmapped */
    CHECK_EQ_INT(mappings_of_size(LP_SHADOW_ARENA_SIZE), before + 1);
    for (int i = 0; i < LAZY_THREADS; i++)
        CHECK(lp_shadow_get(&objs[i], 3) != NULL);
}

/* ---- Eight threads at once ---------------------------------------------------- */

#define NTHREADS   8
#define OWN_KEYS   48
#define SHARED_ID  1000
#define SHARED_N   32
#define OPS_THREAD 100000

struct own {
    uint64_t thread, key, gen;
};

static int shared_objs[SHARED_N];
static int shadow_corrupt, shadow_bad_result;
static long shadow_own_live[NTHREADS];
static pthread_barrier_t race_barrier;

/* Shared shadows: their ctor writes a signature of their object; the dtor
 * (run with the lock held, so the data cannot change under it) checks it. */
static int shared_ctor(void *obj, void *data, void *ctor_data)
{
    (void)ctor_data;
    uint64_t *d = data;
    d[0] = (uint64_t)(uintptr_t)obj ^ 0x5aa5;
    d[1] = ~d[0];
    return 0;
}

static void shared_dtor(void *obj, void *data)
{
    uint64_t *d = data;
    if (d[0] != ((uint64_t)(uintptr_t)obj ^ 0x5aa5) || d[1] != ~d[0])
        __atomic_fetch_add(&shadow_corrupt, 1, __ATOMIC_RELAXED);
}

static void *race_thread(void *arg)
{
    uint64_t me = (uint64_t)(uintptr_t)arg;
    static int own_objs[NTHREADS][OWN_KEYS];
    uint64_t gen[OWN_KEYS] = {0};
    int live[OWN_KEYS] = {0};
    uint64_t seed = 0x9e3779b9 * (me + 1);
    pthread_barrier_wait(&race_barrier);
    for (int op = 0; op < OPS_THREAD; op++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(seed >> 33);
        int k = (int)(r % OWN_KEYS);
        void *obj = &own_objs[me][k];
        switch ((r >> 8) % 8) {
        case 0:
        case 1: { /* own key: alloc iff absent */
            struct own *o = lp_shadow_alloc(obj, me + 1, sizeof *o + (r >> 12) % 100, NULL, NULL);
            if ((o != NULL) == live[k]) {
                __atomic_fetch_add(&shadow_bad_result, 1, __ATOMIC_RELAXED);
            } else if (o) {
                *o = (struct own){me, (uint64_t)k, ++gen[k]};
                live[k] = 1;
            }
            break;
        }
        case 2:
        case 3: { /* own key: present iff live, with this thread's data */
            struct own *o = lp_shadow_get(obj, me + 1);
            if ((o != NULL) != live[k] ||
                (o && (o->thread != me || o->key != (uint64_t)k || o->gen != gen[k])))
                __atomic_fetch_add(&shadow_bad_result, 1, __ATOMIC_RELAXED);
            break;
        }
        case 4:
            lp_shadow_free(obj, me + 1, NULL);
            live[k] = 0;
            break;
        case 5:
        case 6: /* a shared key, also freed by the others */
            if (!lp_shadow_get_or_alloc(&shared_objs[r % SHARED_N], SHARED_ID, 16, shared_ctor,
                                        NULL))
                __atomic_fetch_add(&shadow_bad_result, 1, __ATOMIC_RELAXED);
            break;
        default:
            if (me == 0 && (r & 0x300) == 0)
                lp_shadow_free_all(SHARED_ID, shared_dtor); /* races the get_or_allocs */
            else
                lp_shadow_free(&shared_objs[r % SHARED_N], SHARED_ID, shared_dtor);
            break;
        }
    }
    long n = 0;
    for (int k = 0; k < OWN_KEYS; k++)
        n += live[k];
    shadow_own_live[me] = n;
    return NULL;
}

TEST(eight_threads_keep_every_invariant)
{
    fresh_arena(16 << 20);
    pthread_t t[NTHREADS];
    pthread_barrier_init(&race_barrier, NULL, NTHREADS);
    for (uint64_t i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, race_thread, (void *)(uintptr_t)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&race_barrier);
    CHECK_EQ_INT(shadow_bad_result, 0);
    CHECK_EQ_INT(head()->lock, 0);
    lp_shadow_free_all(SHARED_ID, shared_dtor);
    CHECK_EQ_INT(shadow_corrupt, 0);
    long own = 0;
    for (int i = 0; i < NTHREADS; i++)
        own += shadow_own_live[i];
    CHECK_EQ_INT(head()->nlive, own);
    printf("# %d operations on %d threads; %ld shadows left, bump moved %llu bytes\n",
           NTHREADS * OPS_THREAD, NTHREADS, own,
           (unsigned long long)(store()->bump - store()->heap));
    for (int i = 0; i < NTHREADS; i++)
        lp_shadow_free_all((unsigned long)i + 1, NULL);
    CHECK_EQ_INT(head()->nlive, 0);
}

TEST(veto_records_its_message)
{
    memset(&lp__hook_ctx, 0, sizeof lp__hook_ctx);
    static const char msg[] = "busy, retry";
    CHECK_EQ_INT(lp_veto(msg), -1);
    CHECK(lp__hook_ctx.veto_msg == (uint64_t)(uintptr_t)msg);
    CHECK_STR((const char *)(uintptr_t)lp__hook_ctx.veto_msg, "busy, retry");
}

int main(void)
{
    RUN(get_alloc_free_semantics);
    RUN(ctor_fills_or_refuses);
    RUN(dtor_once_per_freed_shadow);
    RUN(lock_word_is_the_owner_thread_pointer);
    RUN(freed_memory_is_reused_and_the_arena_stays_bounded);
    RUN(a_full_store_returns_null);
    RUN(without_an_arena_one_is_mapped_once);
    RUN(eight_threads_keep_every_invariant);
    RUN(veto_records_its_message);
    return tap_done();
}
