/*
 * pages.c - the page cache over target memory (pages.h): a handful of
 * whole pages, replaced round-robin, each read with one pread of
 * /proc/PID/mem.  A page that cannot be read whole (the end of a mapping
 * nearby is not a reason: mappings are whole pages) is read byte-exact
 * instead, up to where the memory ends.
 */
#include "pages.h"

#include <assert.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void lpa_pages_init(struct lpa_pages *c, int memfd, unsigned n, uint64_t *tag,
                    uint8_t (*page)[LPA_PAGE])
{
    assert(n > 0 && tag && page);
    *c = (struct lpa_pages){.memfd = memfd, .n = n, .tag = tag, .page = page};
    lpa_pages_forget(c);
}

void lpa_pages_forget(struct lpa_pages *c)
{
    memset(c->tag, 0, c->n * sizeof *c->tag);
    c->next = 0;
}

/* The cached page holding addr, read now if needed; NULL if unreadable. */
static const uint8_t *page_of(struct lpa_pages *c, uint64_t addr)
{
    uint64_t pa = addr & ~(uint64_t)(LPA_PAGE - 1);
    for (unsigned i = 0; i < c->n; i++)
        if (c->tag[i] == pa + 1)
            return c->page[i];
    unsigned i = c->next++ % c->n;
    c->tag[i] = 0;
    if (pread(c->memfd, c->page[i], LPA_PAGE, (off_t)pa) != (ssize_t)LPA_PAGE)
        return NULL;
    c->tag[i] = pa + 1;
    return c->page[i];
}

size_t lpa_pages_peek(struct lpa_pages *c, uint64_t addr, void *out, size_t len)
{
    size_t done = 0;
    while (done < len) {
        uint64_t a = addr + done;
        size_t off = (size_t)(a & (LPA_PAGE - 1)), take = LPA_PAGE - off;
        if (take > len - done)
            take = len - done;
        const uint8_t *p = page_of(c, a);
        if (!p) { /* not a whole readable page: what there is, directly */
            ssize_t r = pread(c->memfd, (uint8_t *)out + done, take, (off_t)a);
            return done + (r > 0 ? (size_t)r : 0);
        }
        memcpy((uint8_t *)out + done, p + off, take);
        done += take;
    }
    return done;
}

int lpa_pages_read(struct lpa_pages *c, uint64_t addr, void *out, size_t len)
{
    return lpa_pages_peek(c, addr, out, len) == len ? 0 : -1;
}
