/* The functions the applier tests patch (in the program or in libcompute.so). */
__attribute__((noinline)) int compute(int x)
{
    return x + 1;
}

__attribute__((noinline)) int other(int x)
{
    return x + 7;
}
