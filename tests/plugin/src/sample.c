/* sample.c - one function per feature the hash must see.  The tests edit
 * this file with sed; keep the marker comments on their lines. */
#include <assert.h>
#include <stdio.h>

int counter_global;
int other_global;

static inline int helper(int x)
{
    return x * 3 + 1; /* HELPER */
}

int uses_helper(int x)
{
    return helper(x) + 2;
}

int also_helper(int x)
{
    return helper(x) - 2;
}

const char *greeting(void)
{
    return "hello, world"; /* STRING */
}

int int_const(int x)
{
    return x * 41 + 7; /* INTCONST */
}

double float_const(double d)
{
    return d * 1.25; /* FLOATCONST */
}

const char *switch_case(int k)
{
    switch (k) {
    case 0: return "zero";
    case 1: return "one";
    case 2: return "two";
    case 3: return "three"; /* CASE */
    case 4: return "four";
    default: return "many";
    }
}

__attribute__((noinline)) void callee_a(void) { puts("a"); }
__attribute__((noinline)) void callee_b(void) { puts("b"); }

void calls_callee(void)
{
    callee_a(); /* CALLEE */
}

int reads_global(void)
{
    return counter_global; /* GLOBAL */
}

int counts(void)
{
    static int count;
    return ++count;
}

unsigned long with_asm(unsigned long v)
{
    __asm__ volatile("rol $1, %0" : "+r"(v)); /* ASM */
    return v;
}

int checks(int v)
{
    assert(v != 42);
    return v + 1;
}

int untouched(int v)
{
    return v ^ 0x5a5a;
}
