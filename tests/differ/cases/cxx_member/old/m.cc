#include <cstdio>
struct Counter {
    int n;
    int step(int k);
};
int Counter::step(int k) { n += k; return n; }
static Counter c;
extern "C" void lp_probe(void) { c.n = 0; std::printf("step %d\n", c.step(3)); }
