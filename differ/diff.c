/* Placeholder: the differ issue (4) implements the differ here. */
#include <stdio.h>
#include "diff.h"
int lpdiff_diff_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("lpdiff: not implemented yet\n", stderr);
    return LPDIFF_USAGE;
}
