/* Live case, built at -O0: string literals go to plain .rodata (not
 * mergeable), one after the other.  NEW adds a string in greet(), which
 * shifts the offset of every later string, banner()'s and those of the
 * table `names` included; banner() and names are unchanged: banner() must
 * stay out of the patch, and names is no changed initial value. */
#include <stdio.h>

void greet(void)
{
    puts("hello");
}

const char *names[] = {"alpha", "beta"};

void banner(void)
{
    puts("== banner ==");
    puts("version 1.0");
    puts(names[1]);
}

void lp_probe(void)
{
    greet();
    banner();
    fflush(stdout);
}
