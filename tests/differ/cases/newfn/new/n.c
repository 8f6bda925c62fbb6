__attribute__((noinline)) int checked(int x) { return x < 0 ? 0 : x; }
int compute(int x) { return checked(x) * 7; }
int main(int argc, char **argv) { (void)argv; return compute(argc); }
