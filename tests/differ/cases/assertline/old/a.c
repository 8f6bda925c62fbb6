#include <assert.h>
#include <stdio.h>
int hot(int x)
{
    assert(x >= 0);
    return x * 2 + 1;
}
int fixed(int x)
{
    assert(x < 100000);
    return x + 1;
}
int main(void) { printf("%d %d\n", hot(3), fixed(4)); return 0; }
