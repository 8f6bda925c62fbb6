/* Anonymous writable state: a counter in .data under an assembler-local
 * label (no symbol), which count() increments.  C itself never makes such
 * a thing (GCC names even compound literals), but assembly does.  NEW
 * changes count(); the patched code would need the running counter, which
 * nothing identifies: lpdiff must refuse. */
#include <stdio.h>

__asm__(".pushsection .data\n"
        "\t.balign 8\n"
        ".Lcounter:\n"
        "\t.quad 0\n"
        "\t.popsection\n");

long count(void)
{
    long n;
    __asm__ volatile("incq .Lcounter(%%rip)\n\tmovq .Lcounter(%%rip), %0" : "=r"(n));
    return n * 10;
}

void lp_probe(void)
{
    printf("count %ld\n", count());
    fflush(stdout);
}
