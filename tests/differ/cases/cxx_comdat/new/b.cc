#include <cstdio>
#include "h.h"
__attribute__((noinline)) int use_b(int x) { return twice<int>(x) * scale(x); }
extern "C" void lp_probe(void) { std::printf("a %d b %d\n", use_a(3), use_b(4)); }
