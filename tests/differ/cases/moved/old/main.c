int check(int x);
int main(int argc, char **argv) { (void)argv; return check(argc); }
