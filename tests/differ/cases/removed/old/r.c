static int hits;
int seen;
int visit(int x) { hits++; seen = x; return hits; }
int main(int argc, char **argv) { (void)argv; return visit(argc); }
