#include <stdio.h>
void greet(const char *who) { printf("hello, %s\n", who); }
void bye(void) { puts("bye"); }
int main(void) { greet("world"); bye(); return 0; }
