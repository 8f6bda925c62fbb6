#include <assert.h>
#include <stdio.h>
/* moved down */
int hot(int x)
{
    assert(x >= 0);
    return x * 2 + 1;
}
/* a comment line
   and another */
int fixed(int x)
{
    assert(x < 100000);
    return x + 2;
}
int main(void) { printf("%d %d\n", hot(3), fixed(4)); return 0; }
