/*
 * proc.h - what lpatch learns about a process from /proc: its mappings, its
 * threads, the modules it maps (by GNU build-id), and its memory.
 */
#ifndef LPATCH_PROC_H
#define LPATCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "liblivepatch.h"

#define LPA_BUILD_ID_MAX LP_BUILD_ID_MAX /* one definition: lpatch_format.h */

struct lpa_map {
    uint64_t start, end, offset;
    char perms[5]; /* "r-xp" */
    char *path;    /* "" for anonymous (into lpa_maps.text) */
};

struct lpa_maps {
    struct lpa_map *v;
    size_t n;
    char *text; /* the file read; every path points into it */
};

int lpa_maps_read(pid_t pid, struct lpa_maps *m, char *err);
void lpa_maps_free(struct lpa_maps *m);
/* The mapping holding addr, or NULL. */
const struct lpa_map *lpa_maps_find(const struct lpa_maps *m, uint64_t addr);
/* A free page-aligned gap of `size` bytes whose every byte is within
 * +-2 GiB (minus slack) of [lo, hi); 0 if none. */
uint64_t lpa_maps_free_near(const struct lpa_maps *m, uint64_t lo, uint64_t hi, uint64_t size);

/* A module (executable or shared object) as mapped in a process. */
struct lpa_module {
    char path[4096];     /* as /proc/PID/maps names it */
    char open_path[128]; /* /proc/PID/map_files/... to read the very same file */
    uint64_t base;       /* lowest mapping address */
    uint64_t end;        /* end of the highest mapping of the file */
    uint64_t load_bias;  /* runtime address - link-time address */
    uint8_t build_id[LPA_BUILD_ID_MAX];
    uint32_t build_id_len;
    int is_exec; /* ET_EXEC (non-PIE) */
    int is_main; /* the process's executable */
    /* PT_TLS of the module, if any */
    uint64_t tls_memsz, tls_align, tls_vaddr;
    int has_tls;
};

/* Every distinct file mapping with a build-id; *n modules in *out (malloc). */
int lpa_modules(pid_t pid, const struct lpa_maps *m, struct lpa_module **out, size_t *n, char *err);

/* pid, or a live thread of it when its main thread has exited: the /proc
 * entry to read its memory and mappings through. */
pid_t lpa_live_tid(pid_t pid);
/* 1 if process `pid` is gone: no such process, or no thread of it left
 * running (zombie, dead, exiting, or SIGKILL pending). */
int lpa_process_gone(pid_t pid);

/* A process id in 1..0x3fffffff; -1 if s is not one. */
int lpa_parse_pid(const char *s, pid_t *pid);
/* fn(pid, ctx) for every process but lpatch itself, until fn returns nonzero. */
void lpa_each_process(int (*fn)(pid_t pid, void *ctx), void *ctx);

/* Thread ids of a process (malloc'd); -1 with errno if the process is gone. */
int lpa_tids(pid_t pid, pid_t **tids, size_t *n);

/* -1 (err says which thread) when a thread of pid runs under seccomp
 * (/proc/PID/task/TID/status "Seccomp:" 1 strict or 2 filter): a filter may
 * kill the process for the remote mmap, mprotect or munmap lpatch injects,
 * and the kernel does not tell ptrace which calls it allows.  0 otherwise. */
int lpa_seccomp_check(pid_t pid, char *err);

/* Whole-range reads and writes of the process memory via /proc/PID/mem. */
int lpa_mem_open(pid_t pid, char *err); /* fd, or -1 */
int lpa_mem_read(int fd, uint64_t addr, void *buf, size_t len);
int lpa_mem_write(int fd, uint64_t addr, const void *buf, size_t len);

/* One error line into err (LP_ERR_MAX bytes); returns -1.  lpatch's only
 * formatter of error lines (runtime/ has its own, lp_fail, internal to it;
 * cli.c's fail() prints one to stderr). */
int lpa_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Process name (comm) for messages. */
void lpa_comm(pid_t pid, char *buf, size_t len);

#endif
