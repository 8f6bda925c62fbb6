/* The functions the applier tests patch (in the program or in libcompute.so). */
#ifdef CHURN
/* Still x + 1, but after a loop of register-only work, so a thread is
 * usually inside compute's body when it is stopped. */
__attribute__((noinline)) int compute(int x)
{
    unsigned acc = (unsigned)x;
    for (int i = 0; i < 200; i++) {
        acc = acc * 33u + (unsigned)i;
        acc ^= acc >> 7;
        __asm__("" : "+r"(acc)); /* kept in a register, never folded */
    }
    return x + 1 + (acc == 0x12345678u && x < 0);
}
#else
__attribute__((noinline)) int compute(int x)
{
    return x + 1;
}
#endif

__attribute__((noinline)) int other(int x)
{
    return x + 7;
}
