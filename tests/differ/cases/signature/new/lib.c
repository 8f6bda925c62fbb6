__attribute__((noinline)) long area(long w, long h) { return w * h; }
