static int errors;
int net_fail(void) { return ++errors; }
