__thread int nesting_limit = 5;
__thread int depth;
int enter(void) { return depth < nesting_limit ? ++depth : depth; }
int main(void) { return enter() - 1; }
