static int table[16];
__attribute__((noinline)) static void fill_table(void)
{
    for (int i = 0; i < 16; i++)
        table[i] = i * i;
}
__attribute__((constructor)) static void setup(void) { fill_table(); }
int lookup(int i) { return table[i & 15]; }
int main(int argc, char **argv) { (void)argv; return lookup(argc); }
