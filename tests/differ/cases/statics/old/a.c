static int counter;
int count_a(int x) { counter += x; return counter; }
