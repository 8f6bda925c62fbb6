int counts(void) { static int count; return ++count; }
int twice(void) { static int count; { static int count; count += 2; } return count++; }
