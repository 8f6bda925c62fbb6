#include <stdio.h>
/* classify's switch is a jump table in .rodata.classify; new adds a
 * parameter to classify and changes its only caller, api. */
__attribute__((noinline)) static int classify(int x, int bias)
{
    switch (x) {
    case 0: return 10;
    case 1: return 21;
    case 2: return 32;
    case 3: return 43;
    case 4: return 54;
    case 5: return 65;
    case 6: return 76 + bias;
    default: return -1;
    }
}
int api(int x)
{
    return classify(x, x > 5) + 1;
}
int main(void)
{
    for (int i = 0; i < 8; i++)
        printf("%d\n", api(i));
    return 0;
}
