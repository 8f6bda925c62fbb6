__thread int depth;
int total;
__attribute__((noinline)) int enter(void) { total++; return ++depth; }
int main(void) { return enter() - 1; }
