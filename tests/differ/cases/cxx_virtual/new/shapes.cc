#include "shape.h"
int Square::area() const { return side * side + 1000; }
int Circle::area() const { return 3 * r * r; }
Shape *make_shape(int k) { if (k) return new Square(k); return new Circle(2); }
