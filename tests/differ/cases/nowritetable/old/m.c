#include <stdio.h>
#include <string.h>
/* Not const, but nothing ever writes it: a patch may replace it. */
static char *allowed[] = {"GET", "PUT", "DELETE", "TRACE", NULL};
static const char *const probes[] = {"GET", "DELETE", "TRACE", "POST"};

__attribute__((noinline)) static int is_allowed(const char *m)
{
    for (char **p = allowed; *p; p++)
        if (!strcmp(*p, m))
            return 1;
    return 0;
}

void lp_probe(void)
{
    for (int i = 0; i < 4; i++)
        printf("%s %s\n", probes[i], is_allowed(probes[i]) ? "allowed" : "denied");
    printf("first %s of %zu\n", allowed[0], sizeof(allowed) / sizeof(allowed[0]) - 1);
}
