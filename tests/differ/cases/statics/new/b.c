static int counter = 100;
int count_b(int x) { counter -= 3 * x; return counter; }
