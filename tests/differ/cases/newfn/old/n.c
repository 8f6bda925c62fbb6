int compute(int x) { return x * 7; }
int main(int argc, char **argv) { (void)argv; return compute(argc); }
