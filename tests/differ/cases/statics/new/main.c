#include <stdio.h>
int count_a(int x);
int count_b(int x);
int main(void) { printf("%d %d\n", count_a(1), count_b(2)); return 0; }
