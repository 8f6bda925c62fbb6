#include <stdio.h>
struct conn {
    int fd;
    unsigned open : 1;
    unsigned tls : 1;
    unsigned closing : 1;
};
static struct conn conns[2] = {{3, 1, 0, 0}, {4, 1, 1, 0}};
void lp_probe(void)
{
    for (int i = 0; i < 2; i++)
        printf("conn fd %d open %u tls %u closing %u\n", conns[i].fd, conns[i].open, conns[i].tls,
               conns[i].closing);
}
