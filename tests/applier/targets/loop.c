/*
 * loop - N threads call compute() in a tight loop and check every result.
 *
 *   loop THREADS STATUSFILE
 *
 * compute(x) returns x + K for K in {1 (old), 1001, 2001, 3001 (patches)};
 * anything else is a torn or wrong call; other(x) returns x + 7 or x + 107.  Every 2 ms the main
 * thread writes "old=N new1=N new2=N new3=N bad=N calls=N" to STATUSFILE (atomically).
 *
 * -DSECCOMP_MMAP: once its threads run, every thread is put under a seccomp
 * filter that kills the process on mmap(2), which it no longer needs.
 * -DDECOY: adds decoy(), laid out like an instrumented function (a pad of
 * 16 NOPs, then the 2-byte NOP entry) but not made by the plugin: nothing
 * in the plugin's records names it.
 */
#include <pthread.h>
#ifdef SECCOMP_MMAP
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef EXTERN_COMPUTE /* the functions live in libcompute.so */
int compute(int x);
int other(int x);
#else
#include "compute.h"
#endif

#ifdef DECOY
__asm__(".text\n.p2align 4\n.fill 16, 1, 0x90\n.globl decoy\n.type decoy, @function\n"
        "decoy:\n.byte 0x66, 0x90\nret\n.size decoy, . - decoy\n");
#endif

#ifdef SECCOMP_MMAP
static void forbid_mmap(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
        perror("seccomp");
        exit(2);
    }
}
#endif

static unsigned long seen[4], bad, calls;

static void *worker(void *arg)
{
    (void)arg;
    unsigned long local[4] = {0}, lbad = 0;
    for (int x = 0;; x = (x + 1) & 0xffff) {
        int k = compute(x) - x, o = other(x) - x;
        int idx = k == 1 ? 0 : k == 1001 ? 1 : k == 2001 ? 2 : k == 3001 ? 3 : -1;
        if (idx < 0 || (o != 7 && o != 107))
            lbad++;
        else
            local[idx]++;
        if ((x & 1023) == 0) {
            for (int i = 0; i < 4; i++) {
                __atomic_fetch_add(&seen[i], local[i], __ATOMIC_RELAXED);
                local[i] = 0;
            }
            __atomic_fetch_add(&bad, lbad, __ATOMIC_RELAXED);
            __atomic_fetch_add(&calls, 1024, __ATOMIC_RELAXED);
            lbad = 0;
        }
    }
    return NULL;
}

static const char *status;

/* For a patch that calls strlen (an IFUNC in libc, imported by this
 * program through its GOT): strlen(one) == 1. */
const char one[] = "a";

static void *reporter(void *arg)
{
    char tmp[4096];
    (void)arg;
    snprintf(tmp, sizeof tmp, "%s.tmp", status);
    for (;;) {
        usleep(2000);
        FILE *f = fopen(tmp, "w");
        if (!f)
            continue;
        fprintf(f, "old=%lu new1=%lu new2=%lu new3=%lu bad=%lu calls=%lu\n",
                __atomic_load_n(&seen[0], __ATOMIC_RELAXED),
                __atomic_load_n(&seen[1], __ATOMIC_RELAXED),
                __atomic_load_n(&seen[2], __ATOMIC_RELAXED),
                __atomic_load_n(&seen[3], __ATOMIC_RELAXED),
                __atomic_load_n(&bad, __ATOMIC_RELAXED), __atomic_load_n(&calls, __ATOMIC_RELAXED));
        fclose(f);
        rename(tmp, status);
    }
    return NULL;
}

/* loop THREADS STATUSFILE [exit-main]: with exit-main the main thread
 * leaves (pthread_exit) and the process lives on in its other threads. */
int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1;
    status = argc > 2 ? argv[2] : "loop.status";
    if (strlen(status) > 4000) /* a real call: binds our strlen GOT slot */
        return 2;
    for (int i = 0; i < n; i++) {
        pthread_t t;
        pthread_create(&t, NULL, worker, NULL);
    }
#ifdef SECCOMP_MMAP
    forbid_mmap();
#endif
    if (argc > 3 && !strcmp(argv[3], "exit-main")) {
        pthread_t t;
        pthread_create(&t, NULL, reporter, NULL);
        pthread_exit(NULL);
    }
    reporter(NULL);
}
