/* Placeholder: replaced by lpdiff (issues 3, 4). */
#include <stdio.h>
int main(void)
{
    fputs("lpdiff: not implemented yet\n", stderr);
    return 2;
}
