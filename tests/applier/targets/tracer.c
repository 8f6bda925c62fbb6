/* tracer PID - hold PID's main thread under ptrace (so lpatch cannot). */
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2 || ptrace(PTRACE_SEIZE, atoi(argv[1]), 0, 0) != 0)
        return 1;
    for (;;)
        pause();
}
