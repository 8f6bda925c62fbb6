/*
 * killafter - run a command and SIGKILL it after a random delay.
 *
 *   killafter MAX_US SEED CMD [ARGS...]
 *
 * Waits a delay drawn uniformly from [0, MAX_US) microseconds (seeded by
 * SEED, so a trial can be repeated), then SIGKILLs CMD unless it already
 * exited.  Prints one line: "killed US" or "exit CODE US" (US: the delay),
 * and exits 0; 2 on bad usage.  CMD's stdout goes to /dev/null.  Used by
 * tests/applier/killed.bats and bench/killed.bench.sh to kill lpatch at
 * random moments of an apply or a revert.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: killafter MAX_US SEED CMD [ARGS...]\n");
        return 2;
    }
    long max_us = atol(argv[1]);
    unsigned seed = (unsigned)strtoul(argv[2], NULL, 10);
    long us = max_us > 0 ? (long)(rand_r(&seed) % max_us) : 0;
    pid_t pid = fork();
    if (pid < 0) {
        perror("killafter: fork");
        return 2;
    }
    if (pid == 0) { /* its stdout is not ours: the one line above is */
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        execvp(argv[3], argv + 3);
        perror("killafter: exec");
        _exit(127);
    }
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
        printf("exit %d %ld\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), us);
        return 0;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        printf("killed %ld\n", us);
    else
        printf("exit %d %ld\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), us);
    return 0;
}
