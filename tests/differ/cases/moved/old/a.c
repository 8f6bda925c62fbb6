int limit = 4;
int check(int x) { return x < limit; }
