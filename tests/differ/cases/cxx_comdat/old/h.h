// Both a.cc and b.cc instantiate twice<int> and emit scale(): COMDAT groups
// in both objects, one copy of each linked.
template <typename T> __attribute__((noinline)) T twice(T x) { return x * 2; }
__attribute__((noinline)) inline int scale(int x) { return x + 5; }
int use_a(int);
int use_b(int);
