/*
 * Plugs: the steps of the endpoint's pipeline, as Plug's {init, call} modules.
 *
 * A plug is a const table the author declares statically; a Dynamo lists the plugs its
 * endpoint runs, in order, before its router (dyn_dynamo_t.plugs):
 *
 *     static const dyn_plug_spec_t plugs[] = {
 *         DYN_PLUG(dyn_plug_request_id, NULL),
 *         DYN_PLUG(dyn_plug_logger, NULL),
 *         DYN_PLUG(dyn_plug_method_override, NULL),
 *         DYN_PLUG(dyn_plug_head, NULL),
 *         DYN_PLUG(my_plug, &my_opts),
 *     };
 *
 * `init` runs once when the Dynamo starts (Plug runs it at compile time) and turns the options
 * into the state every `call` gets; `call` runs once per request in the request's fiber and
 * returns the conn (NULL is the gentle exception: a 500 naming the plug). A halted conn
 * (dyn_halt) skips the plugs after it and the router; its response is sent. User plugs and the
 * built-in ones are alike.
 *
 * Thread contract: init and deinit run in the Dynamo's own actor at start and stop; call runs
 * concurrently in any number of request fibers, so the state it reads must not change.
 */
#ifndef DYN_PLUG_H
#define DYN_PLUG_H

#include "dynamo/conn.h"

typedef struct dyn_plug {
    const char *name;
    /* Builds the state `call` gets from the options (may be NULL). Return 0, or an error: the
     * Dynamo then fails to start (DYN_EBADPLUG, reported with the plug's name). NULL: the
     * state is the options pointer itself. */
    int (*init)(const void *opts, void **state);
    /* Handles one request: returns the conn (halted or not). Required. */
    dyn_conn_t *(*call)(dyn_conn_t *conn, void *state);
    /* Releases init's state when the Dynamo stops. May be NULL. */
    void (*deinit)(void *state);
} dyn_plug_t;

/* One step of a pipeline: a plug and its options (borrowed for the Dynamo's life). */
typedef struct dyn_plug_spec {
    const dyn_plug_t *plug;
    const void *opts;
} dyn_plug_spec_t;
#define DYN_PLUG(plug_, opts_)                                                                     \
    {                                                                                              \
        .plug = &(plug_), .opts = (opts_)                                                          \
    }

/* The Dynamo whose plugs are being initialized, inside a plug's init (NULL anywhere else): a
 * plug reads the Dynamo's settings there once (its secret, static route and root,
 * environment) instead of on every request. The thread that runs init only. */
DYN_API const dyn_dynamo_t *dyn_plug_dynamo(void);

/* ---- built-in plugs (one per file under dynamo/src/plug/) --------------------------------- */

/* Request id (Plug.RequestId): keeps a valid incoming id (20 to 200 characters of
 * [A-Za-z0-9+/=_.-]) or makes a new random one (20 characters), stores it in the conn
 * (dyn_conn_request_id) and sets it on the response. Options: dyn_request_id_opts_t or NULL. */
typedef struct dyn_request_id_opts {
    const char *header; /* request and response header ["x-request-id"] */
} dyn_request_id_opts_t;
DYN_API extern const dyn_plug_t dyn_plug_request_id;

/* Logger (Plug.Logger): one line per request, written when the response goes out, through
 * the runtime's report sink (act_report_set silences or redirects it): method, path, status,
 * duration and request id. dev: `GET /users/42 -> 200 in 312us [request_id]`; prod and test:
 * logfmt, `level=info method=GET path=/users/42 status=200 duration_us=312
 * request_id=... dynamo=web`. Options: dyn_logger_opts_t or NULL. */
typedef enum dyn_log_level {
    DYN_LOG_DEFAULT = 0, /* by environment: dev debug, test warn, prod info */
    DYN_LOG_DEBUG,
    DYN_LOG_INFO,
    DYN_LOG_WARN,
    DYN_LOG_ERROR,
    DYN_LOG_NONE,
} dyn_log_level_t;
typedef enum dyn_log_format {
    DYN_LOG_FORMAT_DEFAULT = 0, /* by environment: dev text, test and prod logfmt */
    DYN_LOG_FORMAT_TEXT,
    DYN_LOG_FORMAT_LOGFMT,
} dyn_log_format_t;
typedef struct dyn_logger_opts {
    dyn_log_level_t level;   /* request lines are at info: they show at level info or below
                                [the Dynamo's log_level] */
    dyn_log_format_t format; /* [by environment] */
} dyn_logger_opts_t;
DYN_API extern const dyn_plug_t dyn_plug_logger;

/* Head (Plug.Head): a HEAD request goes through the rest of the pipeline as a GET, and its
 * response goes out without the body (headers, Content-Length included, as for the GET). */
DYN_API extern const dyn_plug_t dyn_plug_head;

/* Method override (Plug.MethodOverride): a POST whose urlencoded form body has `_method` set
 * to PUT, PATCH or DELETE (any case) continues as that method (the original stays readable:
 * dyn_conn_original_method). The body is read (up to max_body bytes: 413 past it, 400 for a
 * bad encoding) and kept for later plugs (dyn_conn_body). Options: dyn_method_override_opts_t
 * or NULL. */
typedef struct dyn_method_override_opts {
    size_t max_body; /* [1 MiB] largest form body read to look for _method */
} dyn_method_override_opts_t;
DYN_API extern const dyn_plug_t dyn_plug_method_override;

#endif
