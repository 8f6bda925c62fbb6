/*
 * blocker - the main thread blocks in read() inside compute()'s caller.
 *
 *   blocker FIFO STATUSFILE
 *
 * Each byte read from FIFO makes it call compute(41) and write
 * "r=N reads=N" to STATUSFILE; a read that fails (EINTR from a botched
 * remote syscall) writes "error=..." and exits 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compute.h"

static void put(const char *path, const char *line)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fputs(line, f);
        fclose(f);
        rename(tmp, path);
    }
}

__attribute__((noinline)) int wait_and_compute(int fd)
{
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0)
        return -errno;
    return compute(41);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int fd = open(argv[1], O_RDWR); /* RDWR: never sees EOF */
    if (fd < 0)
        return 2;
    char line[128];
    put(argv[2], "ready\n");
    for (int reads = 1;; reads++) {
        int r = wait_and_compute(fd);
        if (r < 0) {
            snprintf(line, sizeof line, "error=%s\n", strerror(-r));
            put(argv[2], line);
            return 3;
        }
        snprintf(line, sizeof line, "r=%d reads=%d\n", r, reads);
        put(argv[2], line);
    }
}
