#include <stdio.h>
void greet(const char *who) { printf("hello, %s\n", who); fflush(stdout); }
void bye(void) { puts("bye"); }
int main(void) { greet("world"); bye(); return 0; }
