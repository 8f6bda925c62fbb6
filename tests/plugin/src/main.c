/* main.c - a program around sample.c for the entry-layout tests. */
#include <stdio.h>

int uses_helper(int x);
const char *switch_case(int k);
int checks(int v);

__attribute__((patchable_function_entry(0, 0))) int opted_out(int v)
{
    return v * 2;
}

int excluded_by_arg(int v)
{
    return v * 3;
}

int main(int argc, char **argv)
{
    (void)argv;
    printf("%d %s %d %d %d\n", uses_helper(argc), switch_case(argc), checks(argc),
           opted_out(argc), excluded_by_arg(argc));
    return 0;
}
