/*
 * lpdiff.h - lpdiff's commands and exit codes: the differ proper (compare OLD
 * and NEW builds, refuse what cannot be applied live, write the patch and the
 * report) and the record listings.
 */
#ifndef DIFFER_LPDIFF_H
#define DIFFER_LPDIFF_H

/* Exit codes of lpdiff (documented in --help and docs/differ.md). */
enum lpdiff_exit {
    LPDIFF_PATCH_WRITTEN = 0,
    LPDIFF_NO_CHANGE = 1,
    LPDIFF_REFUSED = 3,
    LPDIFF_USAGE = 2, /* usage or input error */
};

/* `lpdiff [options] --old DIR --new DIR --module PATH -o OUT` */
int diff_main(int argc, char **argv);

/* `lpdiff --list FILE...` and `lpdiff --units FILE...` (argv[0] is the option). */
int list_main(int argc, char **argv);

#endif /* DIFFER_LPDIFF_H */
