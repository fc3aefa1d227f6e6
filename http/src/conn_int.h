/*
 * The HTTP layer's connection side: the server, its workers, connections, the messages between
 * their actors, the buffers and timeouts they use. The request side (a request, its fiber, the
 * response it builds) is req_int.h, on top of this.
 *
 * Actors of one server:
 *   listener (a fiber, the server's top) -- starts the connection supervisors and the workers,
 *     runs the stop (server.c);
 *   worker i (plain, pinned to scheduler i) -- accepts (its own SO_REUSEPORT socket, or worker
 *     0 for all), owns the scheduler's per-server state: timeout lists and their uv_timer, the
 *     buffer pools, the Date cache, the list of its connections, the epoll set of their sockets
 *     and the corked-output hook (listen.c);
 *   connection (plain, pinned to the scheduler whose loop polls its socket) -- reads, parses,
 *     writes, keeps the protocol state; a temporary child of its scheduler's connection
 *     supervisor (conn.c, on out.c and sock.c);
 *   request fiber (one per request, pinned next to its connection) -- runs the handler; owns
 *     the request, and frees it from its exit hook (req.c, resp.c).
 *
 * Threads. Everything a worker owns is touched only on its scheduler's thread: by the worker,
 * by the connections and fibers pinned there (whose turns never overlap), and by libuv
 * callbacks of that loop (which run between turns). So none of it needs a lock or an atomic;
 * only the server-wide counters are atomic. Fibers are pinned with their connection
 * (ACT_SCHED_SELF): no cross-thread wake-up on the request path, and the arena, pools and Date
 * cache of the worker are theirs to use.
 *
 * Layers, each calling only down: listen.c (the worker: accepting, the epoll set's events, the
 * corked-output hook) and server.c (the listener) drive conn.c; conn.c (the one driver of a
 * connection's state) uses out.c (its output queue) and sock.c (its socket); account.c (the
 * server's references and connection count) is a leaf under all of them.
 *
 * Ownership. A connection's block is allocated by the worker that accepts it (the actor's state
 * is not inline: the block exists before the actor, and a start that fails hands it back to the
 * worker through the supervisor's reply); the actor frees it in terminate. A request and its
 * arena are built by the connection and then belong to the request's fiber, which frees them
 * from its exit hook (act_fiber_on_exit) however it ends, a crash or a kill included; the
 * connection keeps the pointer only as a token to match messages, and copies what it needs of
 * the request (version, keep-alive...) at dispatch. Messages from the fiber carrying output
 * are kept by the connection (act_msg_keep) while queued and freed once written.
 */
#ifndef HTTP_CONN_INT_H
#define HTTP_CONN_INT_H

#include <assert.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <uv.h>

#include "actor/sup.h"
#include "http/http.h"
#include "parser_int.h"
#include "sock_int.h"

typedef struct http__worker http__worker_t;
typedef struct http__conn http__conn_t;

/* ---- messages ------------------------------------------------------------------------------ */

#define HTTP__M(n) (0x48540000u + (n)) /* 'H' 'T': far from applications' types */
enum {
    /* to a connection */
    HTTP__M_KICK = HTTP__M(1), /* from an event outside its turn: only a turn can end it */
    HTTP__M_TIMEOUT,           /* http__tick_t from its worker's timer */
    HTTP__M_STOP,              /* graceful stop: finish the request in flight, then close */
    HTTP__M_FORCE,             /* the stop deadline passed: close now */
    HTTP__M_KILL_FIBER,        /* a forced close's fiber did not exit in time */
    HTTP__M_OUT,               /* http__out_t: response bytes, a flush mark or a file range */
    HTTP__M_STARTED,           /* to the supervisor: a connection's init succeeded */
    HTTP__M_READ,              /* http__read_t: the fiber wants body bytes */
    HTTP__M_DONE,              /* http__reply_t: the fiber ended without its final output
                                  (status: its exit reason) */
    /* to a request fiber (all start with http__reply_t) */
    HTTP__M_BODY,   /* http__body_msg_t */
    HTTP__M_ACK,    /* http__reply_t: a flush mark or file range is written */
    HTTP__M_CLOSED, /* http__reply_t: the connection is gone (status says why) */
    /* to a worker */
    HTTP__M_ACCEPT,  /* from its listening socket's poll callback */
    HTTP__M_RESUME,  /* below max_connections again */
    HTTP__M_RETRY,   /* accept after running out of file descriptors */
    HTTP__M_WCLOSE,  /* stop 1: take what the backlog holds, close the listening socket */
    HTTP__M_WSTOP,   /* stop 2: tell the connections, exit once they are gone */
    HTTP__M_WFORCE,  /* deadline */
    HTTP__M_DRAINED, /* its last connection is gone */
    HTTP__M_DRAIN,   /* another worker is at a limit: close idle connections to make room */
    /* to the listener */
    HTTP__M_LSTOP,    /* http__stop_t */
    HTTP__M_WCLOSED,  /* a worker closed its listening socket */
    HTTP__M_DEADLINE, /* the stop's deadline */
};

typedef struct http__tick {
    act_msg_t hdr;
    uint16_t gen; /* the connection's timer generation when it fired */
} http__tick_t;

typedef struct http__stop {
    act_msg_t hdr;
    int64_t timeout_ms;
} http__stop_t;

/* Fiber -> connection: output. One struct for three things (flags): bytes of the response
 * (data[], possibly starting with the head), a flush mark (no data, HTTP__OUT_WAIT: ACK once
 * everything before it is written), and a file range (HTTP__OUT_FILE: sendfile, then ACK). The
 * connection queues it (kept) until written. */
enum {
    HTTP__OUT_HEAD = 1u << 0,    /* data starts with a response head ending at head_end + 2 */
    HTTP__OUT_FINAL = 1u << 1,   /* last output of the response */
    HTTP__OUT_CLOSE = 1u << 2,   /* close the connection after the response */
    HTTP__OUT_WAIT = 1u << 3,    /* ACK the fiber once written */
    HTTP__OUT_FILE = 1u << 4,    /* a file range, sent with sendfile */
    HTTP__OUT_HEADREQ = 1u << 5, /* the response to a HEAD request */
    HTTP__OUT_MORE = 1u << 6,    /* a file range of the response follows at once: its bytes may
                                    wait in the kernel to share packets with the file's */
};
typedef struct http__out http__out_t;
struct http__out {
    act_msg_t hdr;
    http__out_t *next; /* connection: output queue */
    http_req_t *req;   /* whose (token of the ACK) */
    int64_t foff;      /* file: next offset */
    uint64_t fleft;    /* file: bytes left */
    int ffd;           /* file: descriptor (the fiber's, borrowed until the ACK) */
    uint32_t len;      /* bytes in data */
    uint32_t head_end; /* HEAD: offset of the head's final CRLF (the Connection header goes
                          before it) */
    uint32_t sent;     /* connection: bytes written so far, the inserted header included */
    uint16_t flags;
    uint8_t ins_len; /* connection: length of ins */
    const char *ins; /* connection: the Connection header it inserts, or NULL */
    char data[];
};

/* Fiber -> connection: give me up to `max` body bytes. */
typedef struct http__read {
    act_msg_t hdr;
    http_req_t *req;
    uint32_t max;
} http__read_t;

/* Connection -> fiber: every reply starts with this; the fiber matches on type and req. */
typedef struct http__reply {
    act_msg_t hdr;
    http_req_t *req;
    int status; /* ACK/CLOSED: 0 or an error; BODY: bytes or an error */
} http__reply_t;

typedef struct http__body_msg {
    http__reply_t r;
    bool eof;      /* the body ended (trailers, if any, follow the data) */
    uint32_t len;  /* data bytes */
    uint32_t tlen; /* raw trailer section bytes after the data (validated field lines) */
    char data[];
} http__body_msg_t;

/* ---- buffers ------------------------------------------------------------------------------- */

/* A free list of equal blocks, for one worker (its scheduler's thread only). */
typedef struct http__pool {
    void **free; /* max entries, allocated on first put */
    uint32_t count;
    uint32_t max;
    size_t size;
} http__pool_t;

void http__pool_init(http__pool_t *p, size_t size, uint32_t max);
void http__pool_deinit(http__pool_t *p);
/* A block of p->size bytes, or NULL when memory runs out. */
void *http__pool_get(http__pool_t *p);
void http__pool_put(http__pool_t *p, void *block);

/* A connection's read buffer: the parser's state in front (it only matters while bytes of a
 * head are buffered, so it goes with the buffer), then the bytes. [start, end) is unconsumed
 * input; [start, parsed) the part of a head the parser has seen (parsed == start when no head
 * is being parsed). The invariant, checked after every step of a connection in debug and
 * sanitizer builds (HTTP__RBUF_CHECK), and on every consumption in all builds:
 *     start <= parsed <= end <= cap
 * Every offset and length computed on the buffer is an unsigned difference of two of these,
 * so it holds only as long as the invariant does. */
#define HTTP__RBUF_SIZE 16384
typedef struct http__rbuf {
    http__parser_t parser;
    uint32_t cap;
    uint32_t start;
    uint32_t parsed;
    uint32_t end;
    bool pooled;
    bool parsing; /* parser initialized for the message at start */
    char data[];
} http__rbuf_t;

/* rbuf.c. A pooled buffer (HTTP__RBUF_SIZE bytes), or NULL when memory runs out. */
http__rbuf_t *http__rbuf_get(http__worker_t *w);
/* Gives rb back (to the pool, or to act_free if it grew). */
void http__rbuf_put(http__worker_t *w, http__rbuf_t *rb);
/* A copy of rb in a new buffer of `total` bytes (rb given back), or NULL (rb kept). */
http__rbuf_t *http__rbuf_grow(http__worker_t *w, http__rbuf_t *rb, size_t total);
/* Consumes n bytes at start: n <= end - start, checked in every build (an offset past end
 * would make every later length wrap); parsed follows start. */
void http__rbuf_consume(http__rbuf_t *rb, size_t n);
/* Drops every buffered byte. */
void http__rbuf_discard(http__rbuf_t *rb);
/* Moves the unconsumed bytes to the front: start becomes 0. */
void http__rbuf_compact(http__rbuf_t *rb);
/* Stops the process (file and line) if rb breaks the invariant above. */
void http__rbuf_check(const http__rbuf_t *rb, const char *file, int line);
#ifdef NDEBUG
#define HTTP__RBUF_CHECK(rb) ((void)0)
#else
#define HTTP__RBUF_CHECK(rb) http__rbuf_check((rb), __FILE__, __LINE__)
#endif

/* The first block of a request's arena comes from its worker's pool. */
#define HTTP__ARENA_BLOCK 4096

/* ---- timeouts ------------------------------------------------------------------------------ */

/* Each kind has one fixed duration per server, so a list of connections in arming order is
 * sorted by deadline: arming is an append, expiry pops from the front, one uv_timer per worker
 * aims at the earliest head. */
enum {
    HTTP__T_NONE = 0,
    HTTP__T_HEAD,   /* header_timeout: a request head (or the first one) is due */
    HTTP__T_IDLE,   /* idle_timeout: keep-alive between requests */
    HTTP__T_BODY,   /* body_timeout: the fiber waits for body bytes */
    HTTP__T_WRITE,  /* write_timeout: output blocked */
    HTTP__T_LINGER, /* lingering close: waiting for the client's EOF */
    HTTP__T_COUNT,
};
#define HTTP__LINGER_MS 2000

typedef struct http__tlist {
    http__conn_t *head;
    http__conn_t *tail;
    int64_t ms;
    uint32_t n; /* connections on the list */
} http__tlist_t;

/* Arms c's timer of `kind` (HTTP__T_NONE disarms); a connection has at most one. */
void http__timer_arm(http__conn_t *c, int kind);
int http__timers_init(http__worker_t *w);

/* ---- server and workers -------------------------------------------------------------------- */

struct http__worker {
    /* Written by other schedulers' workers (HTTP_ACCEPT_SINGLE): connections started for
     * this worker whose init has not run yet. */
    _Alignas(64) _Atomic uint32_t incoming;
    _Alignas(64) http_server_t *srv;
    unsigned index; /* its scheduler */
    /* Stored by the spawner and by the worker itself (same value, either may come first);
     * relaxed: the reader learnt of the worker through the runtime's own publication. */
    _Atomic act_pid_t pid;
    /* Its connections' dynamic supervisor, pinned to its scheduler (set before the workers
     * start, so they see it): a connection starts with no hop to another scheduler. */
    _Atomic act_pid_t conn_sup;
    int lfd;   /* listening socket, or -1 */
    int spare; /* a descriptor kept in reserve (/dev/null) to accept and refuse at EMFILE */
    uv_poll_t lpoll;
    int efd;         /* the epoll set of its connections (edge-triggered), or -1 */
    uv_poll_t epoll; /* watches efd on the loop */
    uv_timer_t timer;
    uv_prepare_t flush; /* the corked-output hook */
    uv_idle_t spin;     /* active while corks are kept: the loop must turn again */
    int64_t timer_at;   /* deadline the timer is armed for, or -1 */
    unsigned handles;   /* initialized handles not yet closed */
    bool accepting;     /* lpoll active */
    bool accept_pending;
    bool paused_full; /* at max_connections */
    bool paused_fds;  /* out of descriptors: retrying */
    bool starved;     /* out of descriptors at the last try, with nothing idle here */
    bool stopping;
    bool closed;       /* its handles are closing: no timer, no hook */
    bool spinning;     /* spin is active */
    uint32_t hook_gen; /* loop turns seen by the flush hook */
    http__tlist_t tl[HTTP__T_COUNT];
    http__conn_t *conns; /* list of its connections */
    uint32_t nconns;
    unsigned rr;           /* HTTP_ACCEPT_SINGLE: next worker to deal to */
    http__conn_t **corked; /* connections with output held for the flush hook */
    uint32_t ncorked;
    uint32_t capcorked;
    http__pool_t rbufs;
    http__pool_t arenas;
    int64_t date_sec;
    uint64_t date_next; /* uv_now() at which the second may change */
    char date[32];      /* "Sun, 06 Nov 1994 08:49:37 GMT" */
};

struct http_server {
    _Atomic int refs;
    http_config_t cfg; /* defaults filled in; strings point to our copies */
    http_limits_t lim;
    uint16_t port;
    unsigned nworkers;
    http_accept_mode_t mode;
    _Atomic act_pid_t listener; /* stored like http__worker_t.pid */
    size_t server_name_len;
    http__worker_t *workers; /* nworkers, cache-line aligned */
    unsigned live_workers;   /* listener's count */
    unsigned closed_workers; /* listener's count of WCLOSED */
    bool stopping;           /* listener's */
    int64_t stop_timeout;    /* listener's */
    /* Written by every scheduler. */
    _Alignas(64) _Atomic uint32_t nconns;
    _Atomic uint64_t accepted;
    _Atomic uint64_t requests;
    _Atomic uint64_t rejected;
    _Atomic uint64_t crashes;
    _Atomic uint32_t pauses;
};

#define HTTP__PID(p) atomic_load_explicit(&(p), memory_order_relaxed)

/* account.c: what the server counts, for every file above it. Any thread. */
void http__server_ref(http_server_t *srv);
/* Drops a reference; the last frees the server. */
void http__server_unref(http_server_t *srv);
/* Takes a connection slot (false at max_connections). */
bool http__server_conn_reserve(http_server_t *srv);
/* A connection's socket closed: gives its slot back, and has the workers resume accepting
 * when the count falls below the limit. */
void http__server_conn_gone(http_server_t *srv);

/* listen.c: sockets and the worker actor. */
int http__listen_open(http_server_t *srv, int *fds, unsigned n);
extern const act_behaviour_t http__worker_behaviour;

/* date.c: the Date header value of w's scheduler, refreshed once a second. */
const char *http__date(http__worker_t *w);

/* ---- connections --------------------------------------------------------------------------- */

/* The peer's address, compact. */
typedef struct http__peer {
    uint16_t family; /* AF_INET, AF_INET6 or 0 */
    uint16_t port;   /* network order */
    uint8_t addr[16];
} http__peer_t;

enum {                  /* connection phases */
       HTTP__PH_HEAD,   /* waiting for (the rest of) a request head */
       HTTP__PH_RUN,    /* a request's fiber runs */
       HTTP__PH_SKIP,   /* discarding the unread body of a finished request */
       HTTP__PH_CLOSING /* no more requests: output drains, then linger and close */
};

struct http__conn {
    http__worker_t *w;
    act_pid_t pid;
    act_pid_t fiber; /* the request's fiber, or ACT_PID_NONE */
    http_req_t *req; /* the request in flight (the fiber's: a token, never dereferenced once the
                        fiber runs), or NULL */
    http__conn_t *lprev, *lnext; /* worker's list */
    http__conn_t *tprev, *tnext; /* timeout list */
    uint32_t deadline;           /* uv_now() ms, truncated: compared wrap-safe (timer.c) */
    uint32_t nreq;               /* requests started */
    uint32_t flags;
    uint32_t want;     /* body bytes the fiber asked for, 0 if not waiting */
    http__sock_t s;    /* its socket */
    uint16_t tgen;     /* timer generation: a stale timeout message is recognized */
    uint16_t cork_gen; /* the flush hook's turn when it last corked (wrap-safe) */
    uint32_t oq_bytes; /* queued output, bounded by the fiber's back-pressure */
    http__rbuf_t *rbuf;
    http__body_t body; /* framing of the current request's body */
    http__out_t *oq_head, *oq_tail;
    http__peer_t peer;
    uint8_t phase;
    uint8_t tkind;
};
/* An idle keep-alive connection is this block and its actor: keep it in mimalloc's 160-byte
 * size class (measured per connection with the idle benchmark of scripts/bench-http.sh). */
static_assert(sizeof(http__conn_t) <= 160, "http__conn_t grew past 160 bytes");

/* http__conn_t.flags */
enum {
    HTTP__C_KICKED = 1u << 0,   /* a KICK is queued */
    HTTP__C_STOPPING = 1u << 1, /* graceful stop: this response is the last */
    HTTP__C_HEAD_SENT = 1u << 2,
    HTTP__C_RESP_DONE = 1u << 3, /* the fiber's final output arrived */
    HTTP__C_FIBER_EXITED = 1u << 4,
    HTTP__C_CLOSE_AFTER = 1u << 5, /* close after this response */
    HTTP__C_CONTINUE_SENT = 1u << 6,
    HTTP__C_BLOCKED = 1u << 7,       /* output got EAGAIN: waiting for writable */
    HTTP__C_CORKED = 1u << 8,        /* on the worker's corked list */
    HTTP__C_BODY_ERR = 1u << 9,      /* the body failed (limit, framing, timeout) */
    HTTP__C_LINGER = 1u << 10,       /* write side shut, discarding input until EOF */
    HTTP__C_ACCEPTED_NEW = 1u << 11, /* no byte received yet on this connection */
    HTTP__C_FORCED = 1u << 12,
    HTTP__C_TERMINATED = 1u << 13,
    HTTP__C_TLINKED = 1u << 14,  /* on a timeout list (timer.c) */
    HTTP__C_INIT_RAN = 1u << 15, /* init has run (the block is the actor's from then on) */
    HTTP__C_INIT_OK = 1u << 16,
    HTTP__C_SHUTDOWN = 1u << 17, /* exit with ACT_SHUTDOWN (the supervisor asked) */
    HTTP__C_ERRCLOSE = 1u << 18, /* closing after an answer to bad input: linger */
    /* Copied from the request at dispatch. */
    HTTP__C_R_HTTP10 = 1u << 24,
    HTTP__C_R_KEEPALIVE = 1u << 25,
    HTTP__C_R_EXPECT = 1u << 26,
    HTTP__C_R_HEAD = 1u << 27,
};

/* conn.c, for the worker (listen.c). Worker's turn or its loop's callbacks (never inside the
 * connection's own turn). */
/* Starts the connection actor for socket fd (nonblocking, now owned by the callee) on
 * `target`'s scheduler, under `from` (the accepting worker). Returns 0, or an error: the
 * caller then still owns fd. */
int http__conn_start(http__worker_t *from, http__worker_t *target, int fd,
                     const struct sockaddr *peer, socklen_t peer_len);
/* A socket's epoll event (s: the event's data). */
void http__conn_io(http__sock_t *s, uint32_t events);
/* The corked-output hook, once per loop turn of w: flushes the connections whose batch of
 * pipelined responses stopped growing. Returns true while corks are kept (the loop must turn
 * again soon rather than block). */
bool http__conns_flush_corked(http__worker_t *w);
/* Sends every connection of w a message of `type` (HTTP__M_STOP, HTTP__M_FORCE). */
void http__conns_signal(http__worker_t *w, uint32_t type);
/* Closes some of w's idle connections, the longest idle first: keep-alive connections waiting
 * for a request and new ones that have sent nothing; an eighth of those waiting, 1 to 32, as
 * nginx does. Returns how many. */
unsigned http__conns_drain(http__worker_t *w);
/* The connection supervisor's child start function (cs->extra: the connection's block). */
int http__conn_child_start(const act_child_start_t *cs, act_pid_t *out);
/* A start the supervisor could not do: close the socket, free the block. */
void http__conn_start_failed(http__worker_t *w, void *extra, int status);

/* Replies to the request's fiber (dropped once it has exited). */
static inline void http__conn_reply(http__conn_t *c, http_req_t *req, uint32_t type, int status)
{
    if (c->fiber == ACT_PID_NONE || (c->flags & HTTP__C_FIBER_EXITED))
        return;
    http__reply_t *r = act_msg_new(http__reply_t, type);
    r->req = req;
    r->status = status;
    act_send(c->fiber, &r->hdr);
}

/* out.c: the output queue, below conn.c. */
enum {
    HTTP__OUT_EMPTY = 0,   /* everything queued is written */
    HTTP__OUT_BLOCKED = 1, /* the socket is full: wait for it to be writable */
};
void http__out_enqueue(http__conn_t *c, http__out_t *o); /* takes o */
/* Writes the queue until it is empty or the socket is full: HTTP__OUT_EMPTY, HTTP__OUT_BLOCKED
 * or -errno (the socket failed; the queue stays for http__out_drop). A flush mark or a file
 * range written is ACKed to the fiber; a file that fails marks the response broken
 * (HTTP__C_CLOSE_AFTER). */
int http__out_write(http__conn_t *c);
void http__out_drop(http__conn_t *c); /* frees the queue (socket closed) */

#endif
