__thread int depth;
int total;
__attribute__((noinline)) int enter(void) { total++; depth += 2; return depth; }
int main(void) { return enter() - 1; }
