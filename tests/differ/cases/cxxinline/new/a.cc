#include "h.h"
Acc a1;
int use_a(int x) { return a1.add(x); }
