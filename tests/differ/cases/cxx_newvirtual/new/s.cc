#include <cstdio>
struct Shape {
    virtual int area() const { return 1; }
    virtual int area2() const { return 2; }
};
static Shape shape; // constant-initialised: its vptr is set at link time
static Shape *s = &shape;
extern "C" void lp_probe(void) { std::printf("area %d %d\n", s->area(), s->area2()); }
