#include <stdio.h>
struct conn {
    int fd;
    unsigned open : 1;
    unsigned tls : 1;
};
static struct conn conns[2] = {{3, 1, 0}, {4, 1, 1}};
void lp_probe(void)
{
    for (int i = 0; i < 2; i++)
        printf("conn fd %d open %u tls %u\n", conns[i].fd, conns[i].open, conns[i].tls);
}
