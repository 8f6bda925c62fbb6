#include <cstdio>
struct Point {
    int x, y, z;
    int sum() const;
};
__attribute__((noinline)) int Point::sum() const { return x + y + z; }
static Point p = {1, 2, 3};
extern "C" void lp_probe(void) { std::printf("sum %d\n", p.sum()); }
