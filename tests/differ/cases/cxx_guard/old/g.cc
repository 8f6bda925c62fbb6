#include <cstdio>
struct Registry {
    int made;
    Registry();
};
static int inits;
// Not constant: its constructor runs once, at the first call, under a guard.
__attribute__((noinline)) Registry::Registry() : made(++inits * 100) {}
__attribute__((noinline)) int lookup(int k)
{
    static Registry reg;
    return reg.made + k;
}
extern "C" void lp_probe(void)
{
    int v = lookup(1);
    std::printf("lookup %d inits %d\n", v, inits);
}
