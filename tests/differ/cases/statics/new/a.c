static int counter;
int count_a(int x) { counter += 2 * x; return counter; }
