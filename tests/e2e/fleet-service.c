/*
 * fleet-service - a stand-in for the service on one host of the fleet that
 * tests/e2e/ansible.bats rolls a patch out to.
 *
 *   fleet-service STATUSFILE
 *
 * Every millisecond it calls compute(x), which returns x + 1 in this build
 * and x + 1001 once the test's patch is applied, and counts which answered;
 * every 2 ms it writes "old=N new=N bad=N" to STATUSFILE (atomically, by
 * rename).  It sleeps between calls, so that the three hosts' services leave
 * the CPUs to ansible (the applier's loop target spins).
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int compute(int x)
{
    return x + 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fleet-service STATUSFILE\n");
        return 2;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    unsigned long old = 0, patched = 0, bad = 0;
    for (volatile int x = 0;; x = (x + 1) & 0xffff) {
        int k = compute(x) - x;
        if (k == 1)
            old++;
        else if (k == 1001)
            patched++;
        else
            bad++;
        if ((x & 1) == 0) {
            FILE *f = fopen(tmp, "w");
            if (f) {
                fprintf(f, "old=%lu new=%lu bad=%lu\n", old, patched, bad);
                fclose(f);
                rename(tmp, argv[1]);
            }
        }
        usleep(1000);
    }
}
