#include <cstdio>
struct Shape {
    virtual int area() const { return 1; }
};
static Shape shape; // constant-initialised: its vptr is set at link time
static Shape *s = &shape;
extern "C" void lp_probe(void) { std::printf("area %d\n", s->area()); }
