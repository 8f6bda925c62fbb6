int unused_helper(int x) { return x * 11; }
int counter_unused;
int api(int x) { return x + 1; }
int main(int argc, char **argv) { (void)argv; return api(argc); }
