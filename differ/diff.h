/*
 * diff.h - the differ proper: compare OLD and NEW builds, refuse what cannot
 * be applied live, write the patch and the report.
 */
#ifndef DIFFER_DIFF_H
#define DIFFER_DIFF_H

/* Exit codes of lpdiff (documented in --help and docs/differ.md). */
enum lpdiff_exit {
    LPDIFF_PATCH_WRITTEN = 0,
    LPDIFF_NO_CHANGE = 1,
    LPDIFF_REFUSED = 3,
    LPDIFF_USAGE = 2, /* usage or input error */
};

/* `lpdiff [options] --old DIR --new DIR --module PATH -o OUT` */
int lpdiff_diff_main(int argc, char **argv);

#endif /* DIFFER_DIFF_H */
