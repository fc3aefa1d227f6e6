/*
 * The conn's layout and its adapters (the I/O under a conn, as Plug's adapters).
 *
 * A conn lives in its request's arena. The request side points into memory that lives as long
 * (the HTTP layer's request, or the test conn's arena). Path segments are split and decoded
 * once, on first use (the router's), into one array: script_name is segs[0..seg_off), path_info
 * segs[seg_off..nsegs). Response headers are an array in the arena, names lowercased; nothing
 * goes to the adapter until the response is sent.
 */
#ifndef DYN_CONN_INT_H
#define DYN_CONN_INT_H

#include "dynamo/buf.h"
#include "dynamo/conn.h"
#include "dynamo/router.h"

#include "inst_int.h"

/* What a conn's I/O does. Each returns 0 or an error the conn turns into its own behaviour
 * (a gone client is not a failure of the route). Headers, status and body come from the conn. */
typedef struct dyn__adapter {
    const char *name;
    int (*send)(dyn_conn_t *c, const void *body, size_t len);      /* whole response */
    int (*start)(dyn_conn_t *c);                                   /* streamed: the head */
    int (*write)(dyn_conn_t *c, const void *data, size_t len);     /* a piece */
    int (*end)(dyn_conn_t *c);                                     /* streamed: the end */
    int (*sendfile)(dyn_conn_t *c, int fd, off_t off, size_t len); /* whole, from a file */
    ssize_t (*read)(dyn_conn_t *c, void *buf, size_t cap);         /* request body */
    int (*peer)(const dyn_conn_t *c, struct sockaddr_storage *addr, socklen_t *len);
} dyn__adapter_t;

/* What the pipeline is running, for the gentle exception and the exception page. The text is
 * built only when something fails. */
typedef enum dyn__step_kind {
    DYN__STEP_NONE = 0,
    DYN__STEP_PLUG,
    DYN__STEP_PREPARE,       /* router-level prepare hook: route = the hook's entry */
    DYN__STEP_FINALIZE,      /* router-level finalize hook */
    DYN__STEP_ROUTE,         /* the route */
    DYN__STEP_ROUTE_PREPARE, /* a route's own hook: hook set */
    DYN__STEP_ROUTE_FINALIZE,
    DYN__STEP_GUARD,
    DYN__STEP_BEFORE_SEND,
    DYN__STEP_FINISH, /* sending what the route set */
    DYN__STEP_ERROR_PAGE,
} dyn__step_kind_t;

typedef struct dyn__step {
    dyn__step_kind_t kind;
    const dyn_plug_spec_t *plug;
    const dyn_router_t *router;
    const dyn_route_t *entry; /* a route, forward or router-level hook */
    const dyn_hook_t *hook;   /* a route's own hook */
} dyn__step_t;

typedef struct dyn__before_send {
    struct dyn__before_send *next;
    dyn_before_send_fn fn;
    void *arg;
} dyn__before_send_t;

struct dyn_conn {
    const dyn__adapter_t *ad;
    void *io; /* the adapter's: http_req_t *, or the test state */
    dyn_arena_t *arena;
    dyn__inst_t *inst;
    const dyn_routes_t *routes; /* the endpoint's compiled routes this request runs on */
    struct dyn__code *code;     /* the web module version it holds (reloading), or NULL */
    /* request */
    uint8_t method;
    uint8_t orig_method;
    uint8_t version;
    bool segs_done;
    const char *method_str;
    const char *orig_method_str;
    const char *path;
    const char *query;
    const char *host_hdr; /* as sent, port included */
    const http_header_t *headers;
    size_t nheaders;
    dyn_str_t *segs;
    uint32_t nsegs;
    uint32_t seg_off;
    int segs_status;  /* 0, or 400/414 when the path cannot be split */
    const char *host; /* parsed lazily */
    uint16_t port;
    bool host_done;
    const char *peer_text;
    dyn_map_t *params; /* created on first binding */
    dyn_map_t *assigns;
    dyn_map_t *priv;
    const char *glob_joined; /* the named glob's segments joined, for dyn_param */
    const char *glob_name;
    const char *body; /* dyn_conn_body's copy */
    size_t body_len;
    bool body_done;
    /* lazily fetched request data (fetch.c, cookie.c) */
    uint8_t fetched;          /* the DYN_FETCH_* parts done */
    uint16_t raised;          /* dyn_raise's status while its failure unwinds (exception.c) */
    struct dyn__fetch *fetch; /* what the fetches made; NULL until one needs it */
    /* response */
    uint8_t state;
    bool halted;
    int status;
    http_header_t *rh; /* rh_inline until more are needed */
    uint32_t nrh, caprh;
    http_header_t rh_inline[4];
    const void *resp_body;
    size_t resp_len;
    dyn__before_send_t *before_send;
    const char *request_id;
    /* routing and failures */
    const dyn_router_t *router; /* the innermost router that matched */
    const dyn_route_t *route;   /* its route */
    int error_status;           /* 404/405 decided by a router, rendered by the pipeline */
    uint32_t allow;
    dyn__step_t step;
    dyn_failure_t *failure;
    act_failure_t *raw_failure;
};

/* Builds an empty conn in arena a for inst over adapter ad (request fields are the caller's to
 * fill). NULL if memory runs out. */
dyn_conn_t *dyn__conn_new(dyn_arena_t *a, dyn__inst_t *inst, const dyn__adapter_t *ad, void *io);

/* Splits the path into segments once. Returns 0 or the status to answer (400, 414). */
int dyn__conn_segments(dyn_conn_t *c);

/* Binds a route's parameters from path_info (segments relative to seg_off) into params. */
void dyn__conn_bind(dyn_conn_t *c, const struct dyn__rroute *r);

/* A guard's tentative binding, undone when the guard rejects its route: the entries it added
 * go, and the ones it replaced in place (a query or body param of the same name, fetched before
 * routing) get their values back, so path parameters win only for the route that matched. */
typedef struct dyn__binding {
    size_t n; /* params entries before the binding */
    const char *glob_name, *glob_joined;
    uint32_t nsaved;
    struct dyn__saved {
        dyn_str_t key;
        dyn_value_t val;
    } * saved; /* the replaced entries' values (arena), only when there were some */
} dyn__binding_t;

/* Binds r's parameters as dyn__conn_bind, recording in b what dyn__conn_unbind restores. */
void dyn__conn_bind_try(dyn_conn_t *c, const struct dyn__rroute *r, dyn__binding_t *b);
void dyn__conn_unbind(dyn_conn_t *c, const dyn__binding_t *b);

/* The length of a header value that is free of control characters but HTAB (RFC 9110 5.5),
 * else SIZE_MAX. */
size_t dyn__field_value_len(const char *v);

/* Sets a response header the framework vouches for: lname lowercase and a token, value free of
 * control characters but HTAB (dyn__field_value_len), both living as long as the request
 * (nothing is copied or checked, here or by the HTTP layer). Replaces headers of that name. */
void dyn__resp_header_trusted(dyn_conn_t *c, const char *lname, uint32_t nl, const char *value,
                              uint32_t vl);
/* The same, but appended: headers of that name stay (set-cookie). */
void dyn__resp_header_add_trusted(dyn_conn_t *c, const char *lname, uint32_t nl, const char *value,
                                  uint32_t vl);

/* Sends what the conn holds (state SET), running the before-send callbacks. */
void dyn__conn_send_set(dyn_conn_t *c);
/* Ends a streamed response. */
void dyn__conn_end_stream(dyn_conn_t *c);

/* Clears the response for an error page: status, headers (the request id stays), body,
 * state; before-send callbacks stay. */
void dyn__conn_reset_resp(dyn_conn_t *c);

/* Fails the request with ACT_ENOMEM ("out of memory"); never returns. */
__attribute__((noreturn)) void dyn__conn_oom(dyn_conn_t *c);

/* Fails the request with reason and a text naming the current step; never returns. */
__attribute__((noreturn, format(printf, 3, 4))) void dyn__conn_fail(dyn_conn_t *c, int reason,
                                                                    const char *fmt, ...);

/* The current step described ("route GET /users/:id (show_user) in application_router"). */
const char *dyn__step_text(dyn_conn_t *c, const dyn__step_t *s);

#endif
