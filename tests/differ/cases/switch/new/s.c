#include <stdio.h>
#include <unistd.h>
/* A switch (jump table in .rodata.op) with a cold part (op.cold). */
__attribute__((noinline)) int op(int k, int a, int b)
{
    switch (k) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b * 10;
    case 3: return b ? a / b : 0;
    case 4: return a << b;
    case 5: return a >> b;
    case 6: return a ^ b;
    case 7: printf("seven\n"); return a | b;
    default: return -1;
    }
}
int main(void)
{
    for (int i = 0; i < 500; i++) {
        printf("%d\n", op(i % 9, 12, 3));
        fflush(stdout);
        usleep(10000);
    }
    return 0;
}
