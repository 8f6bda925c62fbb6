int seen;
int visit(int x) { seen = x; return 1; }
int main(int argc, char **argv) { (void)argv; return visit(argc); }
