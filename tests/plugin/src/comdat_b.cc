#include "comdat.h"
int use_a(int k);
int main() { return use_a(1) + sum3(2, 3, 4) + twice(5) + Counter::next() == 28 ? 0 : 1; }
