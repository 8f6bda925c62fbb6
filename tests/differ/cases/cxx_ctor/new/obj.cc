#include <cstdio>
#include "obj.h"
int destroyed;
Widget::Widget(int x) : v(x + 100) {}
Widget::~Widget() { destroyed += 7; }
Gadget::Gadget() : Widget(10) {}
