__thread int depth;
int enter(void) { return ++depth; }
int main(void) { return enter() - 1; }
