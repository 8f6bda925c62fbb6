#include <cstdio>
#include "shape.h"
// Made before the patch: its vptr points at the OLD vtable all along.
static Shape *early = make_shape(4);
extern "C" void lp_probe(void)
{
    Shape *late = make_shape(5), *round = make_shape(0);
    std::printf("early %d late %d circle %d\n", early->area(), late->area(), round->area());
    delete late;
    delete round;
}
