#include <cstdio>
struct Point {
    int x, y;
    int sum() const;
};
__attribute__((noinline)) int Point::sum() const { return x + y; }
static Point p = {1, 2};
extern "C" void lp_probe(void) { std::printf("sum %d\n", p.sum()); }
