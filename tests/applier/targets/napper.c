/*
 * napper - a thread that sleeps INSIDE the function to be patched.
 *
 *   napper GATEFILE STATUSFILE
 *
 * nap(1) sleeps until GATEFILE exists; afterwards the thread calls nap(0),
 * which returns at once, and rests outside it.  STATUSFILE gets the last
 * value nap returned (1 old, 2 patched).
 */
#include <stdio.h>
#include <unistd.h>

static const char *gate;

__attribute__((noinline)) int nap(int gated)
{
    while (gated && access(gate, F_OK) != 0)
        usleep(1000);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    gate = argv[1];
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    for (;;) {
        int r = nap(access(gate, F_OK) != 0);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "nap=%d\n", r);
            fclose(f);
            rename(tmp, argv[2]);
        }
        usleep(2000);
    }
}
