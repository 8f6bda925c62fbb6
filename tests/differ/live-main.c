/*
 * Driver for live differ cases: a case that names its work lp_probe()
 * instead of main() is linked with this file.  `prog once` runs the probe
 * and exits (what OLD and NEW print); `prog loop` runs it once for every line
 * read on stdin and ends each answer with a line "--", so a test can apply a
 * patch to the running OLD process and see its output switch to NEW's.
 */
#include <stdio.h>
#include <string.h>

void lp_probe(void);

int main(int argc, char **argv)
{
    char line[256];

    if (argc > 1 && strcmp(argv[1], "loop") == 0) {
        puts("ready");
        fflush(stdout);
        while (fgets(line, sizeof line, stdin)) {
            lp_probe();
            puts("--");
            fflush(stdout);
        }
        return 0;
    }
    lp_probe();
    return 0;
}
