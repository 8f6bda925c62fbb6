/* Live case: usage() prints every 7th line of a 60-line help text held in
 * a large automatic array.  GCC copies it from an initializer template (in
 * writable .data under PIC, with no symbol).  NEW adds a line. */
#include <stdio.h>

void usage(unsigned step)
{
    const char *help[] = {
        "  --opt00     option number 0",
        "  --opt01     option number 1",
        "  --opt02     option number 2",
        "  --opt03     option number 3",
        "  --opt04     option number 4",
        "  --opt05     option number 5",
        "  --opt06     option number 6",
        "  --opt07     option number 7",
        "  --opt08     option number 8",
        "  --opt09     option number 9",
        "  --opt10     option number 10",
        "  --opt11     option number 11",
        "  --opt12     option number 12",
        "  --opt13     option number 13",
        "  --opt14     option number 14",
        "  --opt15     option number 15",
        "  --opt16     option number 16",
        "  --opt17     option number 17",
        "  --opt18     option number 18",
        "  --opt19     option number 19",
        "  --opt20     option number 20",
        "  --opt21     option number 21",
        "  --opt22     option number 22",
        "  --opt23     option number 23",
        "  --opt24     option number 24",
        "  --opt25     option number 25",
        "  --opt26     option number 26",
        "  --opt27     option number 27",
        "  --opt28     option number 28",
        "  --opt29     option number 29",
        "  --opt30     option number 30",
        "  --opt31     option number 31",
        "  --opt32     option number 32",
        "  --opt33     option number 33",
        "  --opt34     option number 34",
        "  --opt35     option number 35",
        "  --opt36     option number 36",
        "  --opt37     option number 37",
        "  --opt38     option number 38",
        "  --opt39     option number 39",
        "  --opt40     option number 40",
        "  --opt41     option number 41",
        "  --opt42     option number 42",
        "  --opt43     option number 43",
        "  --opt44     option number 44",
        "  --opt45     option number 45",
        "  --opt46     option number 46",
        "  --opt47     option number 47",
        "  --opt48     option number 48",
        "  --opt49     option number 49",
        "  --opt50     option number 50",
        "  --opt51     option number 51",
        "  --opt52     option number 52",
        "  --opt53     option number 53",
        "  --opt54     option number 54",
        "  --opt55     option number 55",
        "  --opt56     option number 56",
        "  --opt57     option number 57",
        "  --opt58     option number 58",
        "  --opt59     option number 59",
    };
    for (unsigned i = 0; i < sizeof help / sizeof help[0]; i += step)
        puts(help[i]);
    printf("%zu lines\n", sizeof help / sizeof help[0]);
}

unsigned volatile help_step = 7;

void lp_probe(void)
{
    usage(help_step);
    fflush(stdout);
}
