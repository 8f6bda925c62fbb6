/*
 * procwatch.h - new processes, as the kernel's process-event connector
 * (NETLINK_CONNECTOR, CN_IDX_PROC: linux/cn_proc.h) reports them to lpatchd.
 * Subscribing needs CAP_NET_ADMIN; without it, or on a kernel without the
 * connector, lpatchd polls /proc instead (lpatchd.c).  Nothing here touches
 * a process.
 */
#ifndef LPATCH_PROCWATCH_H
#define LPATCH_PROCWATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum lpw_kind { LPW_EXEC, LPW_FORK, LPW_EXIT };

struct lpw_event {
    enum lpw_kind kind;
    pid_t pid;   /* the process (thread group): for FORK, the child */
    pid_t ppid;  /* FORK: the parent process */
    uint64_t ns; /* when, CLOCK_MONOTONIC (the kernel's stamp) */
};

/* A non-blocking socket subscribed to process events: its fd, or -1 with
 * one line into err (LP_ERR_MAX bytes) saying why. */
int lpw_open(char *err);
/* Subscription off, socket closed. */
void lpw_close(int fd);
/* Read what is pending: up to max events into ev, *n of them.  Returns 0;
 * 1 when the kernel dropped events (ENOBUFS: rescan every process); -1
 * with err when the socket failed. */
int lpw_read(int fd, struct lpw_event *ev, size_t max, size_t *n, char *err);

#endif
