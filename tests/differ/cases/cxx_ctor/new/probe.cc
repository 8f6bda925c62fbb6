#include <cstdio>
#include "obj.h"
// Objects made after the apply run the NEW constructor and destructor: both
// the complete-object (C1/D1) and the base-object (C2/D2) entries.
extern "C" void lp_probe(void)
{
    destroyed = 0;
    int v;
    {
        Widget w(1);
        Gadget g;
        v = w.v * 1000 + g.v;
    }
    std::printf("widget+gadget %d destroyed %d\n", v, destroyed);
}
