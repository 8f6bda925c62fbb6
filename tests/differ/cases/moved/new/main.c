int limit = 4;
int check(int x);
int check(int x) { return x <= limit; }
int main(int argc, char **argv) { (void)argv; return check(argc); }
