/* A connection's socket (sock_int.h): epoll registration, reads, writes, sendfile, shutdown. */
#include "sock_int.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EP_BASE (EPOLLIN | EPOLLRDHUP | EPOLLET)

/* The event's data is the socket itself: its owner finds itself from it (container_of). */
static int ep_ctl(http__sock_t *s, int efd, int op, uint32_t events)
{
    struct epoll_event e = {.events = events, .data.ptr = s};
    return efd >= 0 && epoll_ctl(efd, op, s->fd, &e) == 0 ? 0 : -errno;
}

int http__sock_open(http__sock_t *s, int fd, int efd)
{
    s->fd = fd;
    s->flags = 0;
    if (efd < 0)
        return -EBADF;
    /* Registering reports bytes that came before it: the first event may be on its way. */
    return ep_ctl(s, efd, EPOLL_CTL_ADD, EP_BASE);
}

void http__sock_event(http__sock_t *s, uint32_t events)
{
    if (events & EPOLLERR)
        s->flags |= HTTP__S_ERR;
    if (events & EPOLLOUT)
        s->flags |= HTTP__S_WRITABLE;
    if (events & (EPOLLRDHUP | EPOLLHUP))
        s->flags |= HTTP__S_RDHUP; /* that edge comes once: the EOF must be read now */
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
        s->flags |= HTTP__S_RD_READY;
}

bool http__sock_readable(const http__sock_t *s)
{
    return (s->flags & (HTTP__S_RD_READY | HTTP__S_EOF | HTTP__S_ERR | HTTP__S_CLOSED)) ==
           HTTP__S_RD_READY;
}

size_t http__sock_read(http__sock_t *s, void *buf, size_t n)
{
    for (;;) {
        ssize_t got = syscall(SYS_read, s->fd, buf, n);
        if (got > 0) {
            if ((size_t)got < n && !(s->flags & HTTP__S_RDHUP))
                s->flags &= (uint8_t)~HTTP__S_RD_READY; /* drained */
            return (size_t)got;
        }
        if (got < 0 && errno == EINTR)
            continue;
        s->flags &= (uint8_t)~HTTP__S_RD_READY;
        if (got == 0)
            s->flags |= HTTP__S_EOF;
        else if (errno != EAGAIN)
            s->flags |= HTTP__S_ERR;
        return 0;
    }
}

ssize_t http__sock_writev(http__sock_t *s, const struct iovec *iov, int n, bool more)
{
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
    for (;;) {
        s->flags &= (uint8_t)~HTTP__S_WRITABLE;
        ssize_t w = syscall(SYS_sendmsg, s->fd, &mh, flags);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            s->flags |= HTTP__S_ERR;
        return -errno;
    }
}

ssize_t http__sock_sendfile(http__sock_t *s, int ffd, int64_t *off, size_t n)
{
    for (;;) {
        s->flags &= (uint8_t)~HTTP__S_WRITABLE;
        off_t o = (off_t)*off;
        ssize_t w = sendfile(s->fd, ffd, &o, n);
        if (w >= 0) {
            *off = o;
            return w;
        }
        if (errno == EINTR)
            continue;
        /* Only the socket's own failures mark it: a file that fails is the response's
         * problem, not the connection's. */
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
            s->flags |= HTTP__S_ERR;
        return -errno;
    }
}

void http__sock_want_write(http__sock_t *s, int efd, bool on)
{
    if (!on == !(s->flags & HTTP__S_WANT_OUT) || (s->flags & HTTP__S_CLOSED))
        return;
    s->flags ^= HTTP__S_WANT_OUT;
    ep_ctl(s, efd, EPOLL_CTL_MOD, EP_BASE | (on ? EPOLLOUT : 0u));
}

void http__sock_shutdown(http__sock_t *s)
{
    if (!(s->flags & (HTTP__S_SHUT | HTTP__S_CLOSED))) {
        s->flags |= HTTP__S_SHUT;
        shutdown(s->fd, SHUT_WR);
    }
}

void http__sock_close(http__sock_t *s)
{
    if (s->flags & HTTP__S_CLOSED)
        return;
    s->flags |= HTTP__S_CLOSED;
    close(s->fd);
    s->fd = -1;
}
