/* a comment that shifts every line */

int add(int a, int b) { return a + b; }
int main(int argc, char **argv) { (void)argv; return add(argc, 1); }
