/*
 * The HTTP layer's request side: a request as its fiber holds it, the response it builds, and
 * the fiber's half of the conversation with its connection (the messages are conn_int.h's).
 *
 * A request is built by its connection (the head copied into the request's arena and split
 * there, head.c) and handed to a fresh fiber actor pinned next to the connection, which runs the
 * handler (req.c) and owns the request from then on: its exit hook frees it, however the fiber
 * ends. The handler's response goes to the connection as output messages (resp.c), written in
 * order; reading the body is a request/reply with the connection, one piece in flight.
 */
#ifndef HTTP_REQ_INT_H
#define HTTP_REQ_INT_H

#include "conn_int.h"

/* A request's arena: its first block from the worker's pool, the rest from act_malloc. */
typedef struct http__arena_blk {
    struct http__arena_blk *next;
} http__arena_blk_t;
typedef struct http__arena {
    char *cur;
    char *end;
    http__arena_blk_t *extra; /* blocks beyond the first, freed with act_free */
} http__arena_t;

void *http__arena_alloc(http__arena_t *a, size_t size);

typedef struct http__rhdr http__rhdr_t; /* a response header added by the handler */
struct http__rhdr {
    http__rhdr_t *next;
    uint32_t name_len;
    uint32_t value_len;
    const char *name; /* in the request's arena, or the caller's (http_resp_header_checked) */
    const char *value;
};

enum { /* http_req_t.resp */
       HTTP__R_NONE,
       HTTP__R_STREAM, /* started; head not yet sent */
       HTTP__R_BODY,   /* head sent, body flowing */
       HTTP__R_DONE
};

struct http_req {
    http__arena_t arena;
    http_server_t *srv;
    http__worker_t *w;
    act_pid_t conn;
    uint32_t seq;
    /* request (http__req_fill) */
    uint8_t method;
    uint8_t version; /* 10 or 11 */
    bool keepalive;  /* by the client's wishes */
    bool expect_continue;
    bool chunked;
    const char *method_str;
    const char *target;
    const char *path;
    const char *query;
    const char *host;
    http_header_t *headers;
    uint32_t nheaders;
    uint32_t ntrailers;
    http_header_t *trailers;
    int64_t content_length; /* -1: chunked */
    http__peer_t peer;
    /* body, fiber side */
    bool body_eof;
    int body_err;
    /* response, fiber side */
    uint8_t resp;
    bool final_sent; /* the connection got the response's last piece: it expects no more */
    bool resp_chunked;
    bool resp_close;  /* close-delimited body */
    bool resp_nobody; /* HEAD, 1xx, 204, 304 */
    int status;
    int closed;         /* 0, or why the connection is gone (-EPIPE...) */
    int64_t resp_clen;  /* declared Content-Length or -1 */
    uint64_t resp_sent; /* body bytes sent */
    size_t unacked;     /* bytes sent since the last flush mark */
    http__rhdr_t *rhdrs, *rhdrs_tail;
    uint32_t nrhdrs;
    void (*on_free)(void *arg); /* http_req_on_free */
    void *on_free_arg;
};

/* req.c / resp.c: the fiber side. */
void http__req_fiber(void *arg);
/* Frees a request and its arena (its first block back to the worker's pool): the fiber's
 * exit hook, or the connection when no fiber got it. Its scheduler's thread only. */
void http__req_free(http_req_t *req);
/* Builds the response for status into a new OUT message (head only, or head and body). The
 * head says Content-Length: clen (>= 0), chunked (-1) or nothing (-2). */
http__out_t *http__out_head(http_req_t *req, int status, int64_t clen, const void *body,
                            size_t blen, uint16_t flags);
/* A complete small response from the server itself (errors, 500 after a crash). */
http__out_t *http__out_simple(http__worker_t *w, int status, bool head_only);
/* A new OUT message with room for len data bytes. */
http__out_t *http__out_alloc(size_t len, uint16_t flags);
/* Waits for the connection's next reply to req; NULL once the connection is gone
 * (req->closed then says why). */
http__reply_t *http__wait_reply(http_req_t *req);
/* After the handler returned: completes the response it left (204 if none). */
void http__resp_finish(http_req_t *req);
/* head.c: fills req from the arena copy h of a parsed head. Returns 0 or the status to answer. */
int http__req_fill(http_req_t *req, char *h, const http__head_t *hd, const http_limits_t *lim);

#endif
