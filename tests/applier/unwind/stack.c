/*
 * stack.c - target of tests/applier/unwind.bats for lpatch's own stack
 * check: lp_outer() keeps an address inside lp_other() in its frame (as
 * stale data, not a return address) while lp_inner() sleeps below it.
 * OUTER_K and OTHER_K differ between builds: v1 -> v2 replaces lp_outer,
 * v2 -> v3 replaces lp_other.  Applying v2 -> v3 while the thread sleeps
 * under the patched lp_outer is safe; only a walk that unwinds through the
 * patch image (its CFI) can tell, a raw scan of the stack cannot.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static const char *status_path;
static unsigned long seq;

__attribute__((noinline)) int lp_other(int x)
{
    return x + OTHER_K;
}

__attribute__((noinline)) void lp_inner(int outer)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", status_path);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "seq=%lu outer=%d other=%d\n", ++seq, outer, lp_other(0));
        fclose(f);
        rename(tmp, status_path);
    }
    usleep(200000);
}

__attribute__((noinline)) int lp_outer(void)
{
    volatile uintptr_t stale[4];
    for (int i = 0; i < 4; i++)
        stale[i] = (uintptr_t)lp_other + 5; /* inside lp_other, after its entry */
    lp_inner(OUTER_K);
    return (int)(stale[0] & 1);
}

int main(int argc, char **argv)
{
    status_path = argc > 1 ? argv[1] : "/dev/null";
    for (;;)
        lp_outer();
}
