// comdat_a.cc / comdat_b.cc: the same inline function, template and
// function-scope static emitted in two objects (COMDAT groups).
#include "comdat.h"
int use_a(int k) { return sum3(k, 1, 2) + twice(k) + Counter::next(); }
