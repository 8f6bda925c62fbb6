template <typename T> __attribute__((noinline)) T sum3(T a, T b, T c) { return a + b + c; }
__attribute__((noinline)) inline int twice(int x) { return 2 * x; }
struct Counter {
    __attribute__((noinline)) static int next() { static int n; return ++n; }
};
