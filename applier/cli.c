/*
 * cli.c - the helpers lpatch's command handlers share (cli.h): the one
 * error line on stderr, list growth that ends lpatch when memory runs out
 * (before it touched any process), loading a patch file.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lpatch: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

void *grow_list(void *p, size_t bytes)
{
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        exit(fail(LPA_USAGE, "out of memory"));
    return q;
}

int load_patch(const char *path, struct lp_patch **p)
{
    char err[LP_ERR_MAX];
    if (lp_patch_load(path, p, err) != 0)
        return fail(LPA_USAGE, "%s", err);
    return 0;
}
