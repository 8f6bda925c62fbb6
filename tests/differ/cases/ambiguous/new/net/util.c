static int errors;
int net_fail(void) { return errors += 2; }
