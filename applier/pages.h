/*
 * pages.h - a small cache of whole pages of target memory, read through
 * /proc/PID/mem.  Valid while every thread is held and lpatch writes
 * nothing there (forget it after a thread moved or memory was written).
 * The unwinder, the single-step issuer and the emulator all read through
 * one of these; the storage is the caller's, so reading allocates nothing.
 */
#ifndef LPATCH_PAGES_H
#define LPATCH_PAGES_H

#include <stddef.h>
#include <stdint.h>

#define LPA_PAGE 4096u

struct lpa_pages {
    int memfd;
    unsigned n, next;          /* pages of room; the one replaced next */
    uint64_t *tag;             /* n: page address + 1; 0 empty */
    uint8_t (*page)[LPA_PAGE]; /* n pages */
};

/* A cache of n pages in the caller's storage, empty. */
void lpa_pages_init(struct lpa_pages *c, int memfd, unsigned n, uint64_t *tag,
                    uint8_t (*page)[LPA_PAGE]);
void lpa_pages_forget(struct lpa_pages *c);
/* Up to len bytes at addr into out: how many could be read (it stops at
 * the first page that cannot be read). */
size_t lpa_pages_peek(struct lpa_pages *c, uint64_t addr, void *out, size_t len);
/* All len bytes at addr, or -1. */
int lpa_pages_read(struct lpa_pages *c, uint64_t addr, void *out, size_t len);

#endif
