/*
 * shadow.c - the shadow variable store (lp_shadow_*), inside the target.
 *
 * One arena per process (lp__hook_ctx.shadow_arena: mapped by lpatch, or
 * here with a raw mmap when a NEW build runs directly) holds everything:
 * struct lp_shadow_head, then struct lph_store (hooks_internal.h), a hash
 * table of chains keyed by (object, id), and blocks handed out by a bump
 * pointer.  A block is a power of two bytes (LPH_NODE_HDR of header, then
 * the 16-byte aligned data); a freed block goes on its size class's free
 * list and the next allocation of that class takes it, so the bump pointer
 * only moves when no freed block fits.  Nothing ever calls malloc; a full
 * arena makes alloc return NULL.
 *
 * The lock is a spinlock whose word (head.lock) is the owner's thread
 * pointer, 0 when free: lpatch reads it to avoid borrowing a thread that
 * holds it.  ctor and dtor run with it held; a lp_shadow_* call from inside
 * them (or from a signal handler interrupting the owner) finds the word
 * equal to its own thread pointer and fails (NULL, or does nothing) rather
 * than deadlock.  head.nlive counts the attached shadows exactly.
 */
#include "livepatch-hooks.h"
#include "hooks_internal.h"

/* ---- The arena ---------------------------------------------------------- */

#define PROT_RW             3      /* PROT_READ | PROT_WRITE */
#define MAP_PRIV_ANON_NORES 0x4022 /* MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE */

/* The arena, mapping one first if nobody gave one; NULL if that fails. */
static struct lp_shadow_head *arena(void)
{
    uint64_t a = __atomic_load_n(&lp__hook_ctx.shadow_arena, __ATOMIC_ACQUIRE);
    if (a)
        return (struct lp_shadow_head *)(uintptr_t)a;
    long p = lph_syscall6(LPH_SYS_MMAP, 0, (long)LP_SHADOW_ARENA_SIZE, PROT_RW, MAP_PRIV_ANON_NORES,
                          -1, 0);
    if (p < 0 && p > -4096)
        return NULL;
    /* Every thread that gets here writes the same size; the CAS below
     * publishes it with the address. */
    __atomic_store_n(&lp__hook_ctx.shadow_arena_size, LP_SHADOW_ARENA_SIZE, __ATOMIC_RELAXED);
    uint64_t expected = 0;
    if (__atomic_compare_exchange_n(&lp__hook_ctx.shadow_arena, &expected, (uint64_t)p, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return (struct lp_shadow_head *)(uintptr_t)p;
    lph_syscall6(LPH_SYS_MUNMAP, p, (long)LP_SHADOW_ARENA_SIZE, 0, 0, 0, 0);
    return (struct lp_shadow_head *)(uintptr_t)expected;
}

/* ---- The lock --------------------------------------------------------------- */

#define SPINS_BEFORE_YIELD 256

/* Take the lock: 0, or -1 when this thread holds it already. */
static int lock(struct lp_shadow_head *h)
{
    uint64_t me = lph_thread_pointer();
    unsigned spins = 0;
    LPH_ASSERT(me != 0);
    for (;;) {
        uint64_t cur = __atomic_load_n(&h->lock, __ATOMIC_RELAXED);
        if (cur == me)
            return -1;
        if (cur == 0 &&
            __atomic_compare_exchange_n(&h->lock, &cur, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return 0;
        if (++spins < SPINS_BEFORE_YIELD) {
            __builtin_ia32_pause();
        } else {
            lph_syscall6(LPH_SYS_SCHED_YIELD, 0, 0, 0, 0, 0, 0);
            spins = 0;
        }
    }
}

static void unlock(struct lp_shadow_head *h)
{
    LPH_ASSERT(h->lock == lph_thread_pointer());
    __atomic_store_n(&h->lock, 0, __ATOMIC_RELEASE);
}

/* ---- The store (all with the lock held) ------------------------------------ */

static struct lph_store *store_of(struct lp_shadow_head *h)
{
    return (struct lph_store *)((char *)h + LPH_STORE_OFF);
}

static void *at(struct lp_shadow_head *h, uint64_t off)
{
    return (char *)h + off;
}

static uint64_t round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* The store, initialised on first use; NULL if the arena cannot hold one or
 * holds a store of another layout. */
static struct lph_store *store(struct lp_shadow_head *h)
{
    struct lph_store *s = store_of(h);
    if (s->magic == LPH_STORE_MAGIC)
        return s;
    if (s->magic != 0)
        return NULL;
    uint64_t size = __atomic_load_n(&lp__hook_ctx.shadow_arena_size, __ATOMIC_RELAXED);
    if (size == 0)
        size = LP_SHADOW_ARENA_SIZE;
    if (size > (1ull << (LPH_NCLASS - 2)))
        size = 1ull << (LPH_NCLASS - 2); /* every class stays below LPH_NCLASS */
    uint64_t nb = 16;
    while (nb * 2 <= size / LPH_BUCKET_BYTES)
        nb *= 2;
    uint64_t buckets = round_up(LPH_STORE_OFF + sizeof *s, 64);
    uint64_t heap = round_up(buckets + nb * sizeof(uint64_t), 64);
    if (heap + (1ull << LPH_MIN_CLASS) > size)
        return NULL;
    s->size = size;
    s->nbuckets = nb;
    s->buckets = buckets;
    s->heap = heap;
    s->bump = heap;
    s->magic = LPH_STORE_MAGIC;
    return s;
}

static uint64_t *bucket(struct lp_shadow_head *h, struct lph_store *s, uint64_t obj, uint64_t id)
{
    uint64_t x = obj * 0x9e3779b97f4a7c15ull ^ (id + 0x632be59bd9b4e019ull) * 0xc2b2ae3d27d4eb4full;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return (uint64_t *)at(h, s->buckets) + (x & (s->nbuckets - 1));
}

/* The link (bucket slot or a node's next) that points at (obj, id)'s node,
 * or NULL. */
static uint64_t *find(struct lp_shadow_head *h, struct lph_store *s, uint64_t obj, uint64_t id)
{
    uint64_t *link = bucket(h, s, obj, id);
    while (*link) {
        struct lph_node *n = at(h, *link);
        if (n->obj == obj && n->id == id)
            return link;
        link = &n->next;
    }
    return NULL;
}

static void *data_of(struct lph_node *n)
{
    return (char *)n + LPH_NODE_HDR;
}

/* A block of class cls (free list first, else the bump pointer), or 0. */
static uint64_t take_block(struct lp_shadow_head *h, struct lph_store *s, unsigned cls)
{
    uint64_t off = s->free_[cls];
    if (off) {
        struct lph_node *n = at(h, off);
        s->free_[cls] = n->next;
        s->nfree--;
        return off;
    }
    uint64_t bytes = 1ull << cls;
    if (s->bump > s->size || s->size - s->bump < bytes)
        return 0;
    off = s->bump;
    s->bump += bytes;
    return off;
}

static void put_block(struct lp_shadow_head *h, struct lph_store *s, uint64_t off)
{
    struct lph_node *n = at(h, off);
    LPH_ASSERT(n->cls >= LPH_MIN_CLASS && n->cls < LPH_NCLASS);
    n->next = s->free_[n->cls];
    n->obj = 0;
    n->id = 0;
    s->free_[n->cls] = off;
    s->nfree++;
}

/* Zero the data: 8-byte stores in a loop gcc does not turn into memset
 * (-fno-tree-loop-distribute-patterns, runtime/rules.mk). */
static void zero(void *p, uint64_t bytes)
{
    volatile uint64_t *q = p;
    for (uint64_t i = 0; i < bytes / 8; i++)
        q[i] = 0;
}

static void *alloc_locked(struct lp_shadow_head *h, struct lph_store *s, uint64_t obj, uint64_t id,
                          size_t size, lp_shadow_ctor_t ctor, void *ctor_data)
{
    if (find(h, s, obj, id))
        return NULL;
    if (size > s->size)
        return NULL;
    unsigned cls = LPH_MIN_CLASS;
    while ((1ull << cls) < LPH_NODE_HDR + size)
        cls++;
    LPH_ASSERT(cls < LPH_NCLASS);
    uint64_t off = take_block(h, s, cls);
    if (!off)
        return NULL;
    struct lph_node *n = at(h, off);
    n->next = 0;
    n->obj = obj;
    n->id = id;
    n->cls = cls;
    void *data = data_of(n);
    zero(data, round_up(size, 16));
    if (ctor && ctor((void *)(uintptr_t)obj, data, ctor_data) != 0) {
        put_block(h, s, off);
        return NULL;
    }
    uint64_t *head = bucket(h, s, obj, id);
    n->next = *head;
    *head = off;
    h->nlive++;
    return data;
}

/* Detach the node *link points at, run dtor, and free its block. */
static void free_locked(struct lp_shadow_head *h, struct lph_store *s, uint64_t *link,
                        lp_shadow_dtor_t dtor)
{
    uint64_t off = *link;
    struct lph_node *n = at(h, off);
    *link = n->next;
    LPH_ASSERT(h->nlive > 0);
    h->nlive--;
    if (dtor)
        dtor((void *)(uintptr_t)n->obj, data_of(n));
    put_block(h, s, off);
}

/* ---- The API ----------------------------------------------------------------- */

/* Lock the store for one call: the head, or NULL (no arena, no store,
 * or this thread holds the lock already). */
static struct lp_shadow_head *enter(struct lph_store **s)
{
    struct lp_shadow_head *h = arena();
    if (!h || lock(h) != 0)
        return NULL;
    *s = store(h);
    if (!*s) {
        unlock(h);
        return NULL;
    }
    return h;
}

LPH_API void *lp_shadow_get(const void *obj, unsigned long id)
{
    struct lph_store *s;
    struct lp_shadow_head *h = enter(&s);
    if (!h)
        return NULL;
    uint64_t *link = find(h, s, (uint64_t)(uintptr_t)obj, id);
    void *data = link ? data_of(at(h, *link)) : NULL;
    unlock(h);
    return data;
}

LPH_API void *lp_shadow_alloc(const void *obj, unsigned long id, size_t size, lp_shadow_ctor_t ctor,
                              void *ctor_data)
{
    struct lph_store *s;
    struct lp_shadow_head *h = enter(&s);
    if (!h)
        return NULL;
    void *data = alloc_locked(h, s, (uint64_t)(uintptr_t)obj, id, size, ctor, ctor_data);
    unlock(h);
    return data;
}

LPH_API void *lp_shadow_get_or_alloc(const void *obj, unsigned long id, size_t size,
                                     lp_shadow_ctor_t ctor, void *ctor_data)
{
    struct lph_store *s;
    struct lp_shadow_head *h = enter(&s);
    if (!h)
        return NULL;
    uint64_t *link = find(h, s, (uint64_t)(uintptr_t)obj, id);
    void *data = link ? data_of(at(h, *link))
                      : alloc_locked(h, s, (uint64_t)(uintptr_t)obj, id, size, ctor, ctor_data);
    unlock(h);
    return data;
}

LPH_API void lp_shadow_free(const void *obj, unsigned long id, lp_shadow_dtor_t dtor)
{
    struct lph_store *s;
    struct lp_shadow_head *h = enter(&s);
    if (!h)
        return;
    uint64_t *link = find(h, s, (uint64_t)(uintptr_t)obj, id);
    if (link)
        free_locked(h, s, link, dtor);
    unlock(h);
}

LPH_API void lp_shadow_free_all(unsigned long id, lp_shadow_dtor_t dtor)
{
    struct lph_store *s;
    struct lp_shadow_head *h = enter(&s);
    if (!h)
        return;
    uint64_t *slots = at(h, s->buckets);
    for (uint64_t b = 0; b < s->nbuckets; b++) {
        uint64_t *link = &slots[b];
        while (*link) {
            struct lph_node *n = at(h, *link);
            if (n->id == id)
                free_locked(h, s, link, dtor);
            else
                link = &n->next;
        }
    }
    unlock(h);
}
