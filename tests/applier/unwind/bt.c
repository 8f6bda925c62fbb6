/*
 * bt.c - target of tests/applier/unwind.bats: lp_work() (the patched
 * function; VERSION differs between the OLD and NEW builds) walks its own
 * stack with glibc's backtrace() and with libunwind, and writes the names
 * of the frames above it to the status file argv[1], once per loop.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <execinfo.h>
#ifdef WITH_LIBUNWIND
#include <libunwind.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *status_path;
static unsigned long seq;
static long spin;
static const char *trigger;

static void name_of(void *ip, char *buf, size_t len)
{
    Dl_info di;
    if (dladdr(ip, &di) && di.dli_sname)
        snprintf(buf, len, "%s", di.dli_sname);
    else
        snprintf(buf, len, "?");
}

__attribute__((noinline)) int lp_work(int depth)
{
    volatile char pad[64]; /* a real frame: no unwinding without CFI */
    memset((char *)pad, VERSION, sizeof pad);
    for (volatile long i = 0; i < spin; i++) /* time for a profiler's samples */
        ;
    void *ips[32];
    int n = trigger && access(trigger, F_OK) != 0 ? 0 : backtrace(ips, 32);
    char bt[512] = "", un[512] = "", nm[64];
    for (int i = 1; i < n; i++) { /* frame 0 is lp_work itself */
        name_of(ips[i], nm, sizeof nm);
        strncat(bt, nm, sizeof bt - strlen(bt) - 2);
        strcat(bt, ",");
    }
#ifdef WITH_LIBUNWIND
    unw_context_t ctx;
    unw_cursor_t c;
    unw_getcontext(&ctx);
    unw_init_local(&c, &ctx);
    int k = 0;
    while (unw_step(&c) > 0 && k++ < 32) {
        unw_word_t ip;
        unw_get_reg(&c, UNW_REG_IP, &ip);
        name_of((void *)(ip - 1), nm, sizeof nm);
        strncat(un, nm, sizeof un - strlen(un) - 2);
        strcat(un, ",");
    }
#endif
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", status_path);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "seq=%lu version=%d bt=%s unw=%s\n", ++seq, pad[depth & 63], bt, un);
        fclose(f);
        rename(tmp, status_path);
    }
    return n;
}

__attribute__((noinline)) int lp_caller(int d)
{
    int r = lp_work(d);
    __asm__ volatile("" ::: "memory"); /* no tail call: a frame of its own */
    return r + 1;
}

int main(int argc, char **argv)
{
    status_path = argc > 1 ? argv[1] : "/dev/null";
    spin = argc > 2 ? atol(argv[2]) : 0;
    trigger = argc > 3 ? argv[3] : NULL;
    for (;;) {
        lp_caller(1);
        usleep(20000);
    }
}
