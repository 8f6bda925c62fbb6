#include <stdio.h>
struct perm {
    unsigned read : 16;
    unsigned write : 16;
};
static struct perm perms[2] = {{1, 0}, {1, 1}};
void lp_probe(void)
{
    for (int i = 0; i < 2; i++)
        printf("perm read %u write %u\n", perms[i].read, perms[i].write);
}
