static inline int clamp(int x) { return x > 100 ? 100 : x; }
int scale(int x) { return clamp(x * 3); }
int unrelated(int x) { return x + 1; }
int main(int argc, char **argv) { (void)argv; return scale(argc) + unrelated(argc); }
