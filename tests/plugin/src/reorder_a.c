static int twice(int x) { return 2 * x; }
int first(int x) { return twice(x) + 1; }
int second(int x) { return x - 1; }
const char *third(void) { return "third"; }
