int level = 3;
__attribute__((noinline)) int helper(int x) { return x + level; }
int api(int x) { return helper(x) * 3 + level; }
