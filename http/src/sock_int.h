/*
 * A connection's socket: what touches the descriptor, and nothing else. The connection (conn.c)
 * and its output queue (out.c) sit on it as h2o's lib/http1.c sits on h2o_socket_t: they never
 * call epoll, read, sendmsg, sendfile, shutdown or close themselves. TLS will plug in here.
 *
 * Registration is edge-triggered on the worker's epoll set (one per worker, watched by its
 * loop): an event comes when new bytes arrive or the socket turns writable, not while bytes
 * wait. So the socket remembers that unread bytes may be left (HTTP__S_RD_READY) when its
 * reader stops with a full buffer, and a short read means drained (the next byte brings a new
 * edge), as nginx assumes: no read is spent on EAGAIN per request. After the peer's half-close
 * (EPOLLRDHUP, an edge that comes once) reading goes on to the EOF.
 *
 * Results are returned, never acted on: the connection decides what a failure means. Socket
 * I/O goes through syscall(2): glibc's read/sendmsg wrappers are cancellation points and pay
 * for it on every call (measured: 8% of the server's user time); our scheduler threads are
 * never cancelled. The socket's thread only (its worker's scheduler).
 */
#ifndef HTTP_SOCK_INT_H
#define HTTP_SOCK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct http__sock {
    int fd; /* -1 once closed */
    uint8_t flags;
} http__sock_t;

/* http__sock_t.flags */
enum {
    HTTP__S_RD_READY = 1u << 0, /* unread bytes may wait */
    HTTP__S_RDHUP = 1u << 1,    /* the peer shut its side: read on to the EOF */
    HTTP__S_EOF = 1u << 2,      /* a read returned 0 */
    HTTP__S_ERR = 1u << 3,      /* the socket failed (or memory for it ran out) */
    HTTP__S_WANT_OUT = 1u << 4, /* EPOLLOUT is in the registration */
    HTTP__S_WRITABLE = 1u << 5, /* an EPOLLOUT edge came since the last write */
    HTTP__S_SHUT = 1u << 6,     /* our side is shut for writing */
    HTTP__S_CLOSED = 1u << 7,
};

/* Takes fd (nonblocking) and registers it on the epoll set efd; an event's data is s (its
 * owner embeds it: ACT_CONTAINER_OF). Returns 0 or -errno (fd is then still the caller's). */
int http__sock_open(http__sock_t *s, int fd, int efd);
/* Records an epoll event's bits in s->flags (readable, writable, half-closed, failed). */
void http__sock_event(http__sock_t *s, uint32_t events);
/* True while a read may get something: RD_READY and not at EOF, failed or closed. */
bool http__sock_readable(const http__sock_t *s);
/* Reads up to n bytes: the count, or 0 with the flags saying why (drained: RD_READY off; EOF;
 * ERR). */
size_t http__sock_read(http__sock_t *s, void *buf, size_t n);
/* Writes iov: the bytes written (maybe fewer), -EAGAIN (full), or -errno (failed: ERR set).
 * more: the next write follows at once (a response head before its file), so the kernel may
 * hold a partial packet for it (MSG_MORE, a cork for one call, as nginx's tcp_nopush around
 * sendfile); that next write must come at once, or the bytes wait 200 ms for the kernel's
 * timer. */
ssize_t http__sock_writev(http__sock_t *s, const struct iovec *iov, int n, bool more);
/* Sends up to n bytes of file ffd from *off (advanced): as http__sock_writev; 0 means the file
 * ended early. */
ssize_t http__sock_sendfile(http__sock_t *s, int ffd, int64_t *off, size_t n);
/* Asks for EPOLLOUT edges (on) or stops (off). */
void http__sock_want_write(http__sock_t *s, int efd, bool on);
/* Shuts the write side (the first step of a lingering close: the client sees the end of the
 * responses and may close; we read on until it does). */
void http__sock_shutdown(http__sock_t *s);
/* Closes the descriptor (which takes it out of the epoll set: an event of it already fetched
 * in the batch being handled finds HTTP__S_CLOSED). */
void http__sock_close(http__sock_t *s);

#endif
