/* Live case, built at -O0: string literals go to plain .rodata (not
 * mergeable), one after the other.  NEW adds a string in greet(), which
 * shifts the offset of every later string, banner()'s included; banner()
 * itself is unchanged and must stay out of the patch. */
#include <stdio.h>

void greet(void)
{
    puts("hello");
}

void banner(void)
{
    puts("== banner ==");
    puts("version 1.0");
}

void lp_probe(void)
{
    greet();
    banner();
    fflush(stdout);
}
