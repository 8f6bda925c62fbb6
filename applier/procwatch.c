/*
 * procwatch.c - the process-event connector (procwatch.h): a netlink
 * socket of the NETLINK_CONNECTOR family bound to the CN_IDX_PROC group,
 * told PROC_CN_MCAST_LISTEN, then read for proc_event records.  The kernel
 * sends PROC_EVENT_EXEC from inside execve(), once the new image is mapped
 * and before the process runs a single instruction of it, but it does not
 * wait for any listener: by the time lpatchd reads the event the process
 * is already running its loader (docs/lpatchd.md, "The window").
 */
#include "procwatch.h"
#include "proc.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One netlink message carrying one connector message: the listen request
 * (an enum proc_cn_mcast_op) or an event (a struct proc_event). */
#define LPW_BUF 4096

static int send_op(int fd, enum proc_cn_mcast_op op)
{
    char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof op)] __attribute__((aligned(8)));
    memset(buf, 0, sizeof buf);
    struct nlmsghdr *nl = (struct nlmsghdr *)buf;
    struct cn_msg *cn = NLMSG_DATA(nl);
    nl->nlmsg_len = NLMSG_LENGTH(sizeof *cn + sizeof op);
    nl->nlmsg_type = NLMSG_DONE;
    nl->nlmsg_pid = 0;
    cn->id.idx = CN_IDX_PROC;
    cn->id.val = CN_VAL_PROC;
    cn->len = sizeof op;
    memcpy(cn->data, &op, sizeof op);
    return send(fd, buf, nl->nlmsg_len, 0) == (ssize_t)nl->nlmsg_len ? 0 : -1;
}

int lpw_open(char *err)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (fd < 0)
        return lpa_err(err, "process events: no netlink connector socket: %s", strerror(errno));
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        lpa_err(err, "process events: cannot bind the connector socket: %s%s", strerror(errno),
                errno == EPERM ? " (needs CAP_NET_ADMIN)" : "");
        close(fd);
        return -1;
    }
    /* A bigger receive buffer: a burst of forks must not drop an exec. */
    int sz = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    if (send_op(fd, PROC_CN_MCAST_LISTEN) != 0) {
        lpa_err(err, "process events: cannot subscribe: %s%s", strerror(errno),
                errno == EPERM ? " (needs CAP_NET_ADMIN)" : "");
        close(fd);
        return -1;
    }
    return fd;
}

void lpw_close(int fd)
{
    if (fd < 0)
        return;
    send_op(fd, PROC_CN_MCAST_IGNORE);
    close(fd);
}

static int decode(const struct proc_event *pe, struct lpw_event *ev)
{
    switch (pe->what) {
    case PROC_EVENT_EXEC:
        *ev = (struct lpw_event){LPW_EXEC, pe->event_data.exec.process_tgid, 0, pe->timestamp_ns};
        return 1;
    case PROC_EVENT_FORK:
        if (pe->event_data.fork.child_pid != pe->event_data.fork.child_tgid)
            return 0; /* a new thread, not a process */
        *ev = (struct lpw_event){LPW_FORK, pe->event_data.fork.child_tgid,
                                 pe->event_data.fork.parent_tgid, pe->timestamp_ns};
        return 1;
    case PROC_EVENT_EXIT:
        if (pe->event_data.exit.process_pid != pe->event_data.exit.process_tgid)
            return 0;
        *ev = (struct lpw_event){LPW_EXIT, pe->event_data.exit.process_tgid, 0, pe->timestamp_ns};
        return 1;
    default:
        return 0;
    }
}

int lpw_read(int fd, struct lpw_event *ev, size_t max, size_t *n, char *err)
{
    char buf[LPW_BUF] __attribute__((aligned(8)));
    *n = 0;
    while (*n < max) {
        ssize_t len = recv(fd, buf, sizeof buf, 0);
        if (len < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            if (errno == ENOBUFS)
                return 1;
            return lpa_err(err, "process events: %s", strerror(errno));
        }
        for (struct nlmsghdr *nl = (struct nlmsghdr *)buf; NLMSG_OK(nl, (size_t)len);
             nl = NLMSG_NEXT(nl, len)) {
            if (nl->nlmsg_type == NLMSG_ERROR || nl->nlmsg_type == NLMSG_NOOP)
                continue;
            const struct cn_msg *cn = NLMSG_DATA(nl);
            if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC ||
                cn->len < sizeof(struct proc_event))
                continue;
            struct proc_event pe; /* cn->data is only 4-byte aligned */
            memcpy(&pe, cn->data, sizeof pe);
            if (*n < max && decode(&pe, &ev[*n]))
                (*n)++;
        }
    }
    return 0;
}
