int net_fail(void);
int disk_fail(void);
int main(void) { return net_fail() + disk_fail(); }
