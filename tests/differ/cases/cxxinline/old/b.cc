#include "h.h"
Acc b1;
int use_b(int x) { return b1.add(x) + 1; }
int use_a(int);
int main() { return use_a(1) + use_b(2); }
