#include "h.h"
__attribute__((noinline)) int use_a(int x) { return twice(x) + scale(x); }
