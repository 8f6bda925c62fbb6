static int errors;
int disk_fail(void) { return ++errors; }
