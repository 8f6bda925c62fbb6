/* Placeholder: the plugin issue (3) implements the reader here. */
#include <stdio.h>
#include "meta.h"
int lpdiff_list_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("lpdiff: --list not implemented yet\n", stderr);
    return 2;
}
