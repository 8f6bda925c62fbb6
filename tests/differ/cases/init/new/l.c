int limit = 20;
int over(int x) { return x > limit; }
int main(int argc, char **argv) { (void)argv; return over(argc); }
