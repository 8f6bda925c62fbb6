/*
 * lpdiff - compare two builds and write a live patch.
 *
 * main() only dispatches: the reader modes (--list, --units) live in list.c,
 * the differ in diff.c.
 */
#include <string.h>

#include "lpdiff.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--list") || !strcmp(argv[1], "--units")))
        return list_main(argc - 1, argv + 1);
    return diff_main(argc, argv);
}
