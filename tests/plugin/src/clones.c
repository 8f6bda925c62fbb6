/* clones.c - IPA constant propagation makes scale.constprop.0. */
__attribute__((noinline)) static int scale(int a, int k)
{
    for (int i = 0; i < k; i++)
        a = a * 3 + i;
    return a;
}
int user1(int x) { return scale(x, 4) + 1; }
int user2(int x) { return scale(x, 4) - 1; }
