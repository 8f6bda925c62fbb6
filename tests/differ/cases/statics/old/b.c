static int counter = 100;
int count_b(int x) { counter -= x; return counter; }
