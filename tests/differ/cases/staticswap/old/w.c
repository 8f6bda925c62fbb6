__attribute__((noinline)) int first(void) { static int count; return ++count; }
__attribute__((noinline)) int second(void) { static int count = 100; return --count; }
int main(void) { return first() + second(); }
