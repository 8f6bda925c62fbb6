/*
 * thermo - a long-running program whose conversions live in libconv.so.
 *
 *   thermo [CELSIUS]    every 100 ms print "CELSIUS C = F F" (default 100)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "conv.h"

int main(int argc, char **argv)
{
    int celsius = argc > 1 ? atoi(argv[1]) : 100;
    const struct timespec tick = {.tv_nsec = 100 * 1000 * 1000};

    for (;;) {
        printf("%d C = %d F\n", celsius, celsius_to_fahrenheit(celsius));
        fflush(stdout);
        nanosleep(&tick, NULL);
    }
}
