const char *third(void) { return "third"; }
int second(int x) { return x - 1; }
static int twice(int x) { return 2 * x; }
int first(int x) { return twice(x) + 1; }
