#include <cstdio>
#include "obj.h"
int destroyed;
Widget::Widget(int x) : v(x + 1) {}
Widget::~Widget() { destroyed += 1; }
Gadget::Gadget() : Widget(10) {}
