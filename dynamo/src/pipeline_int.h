/* The error side of the pipeline: error pages and the exception handler (exception.c), the
 * request log (log.c), symbolized backtraces (backtrace.c). */
#ifndef DYN_PIPELINE_INT_H
#define DYN_PIPELINE_INT_H

#include "conn_int.h"

/* Renders the page for an error status decided by the framework (404, 405, 400, 414): the
 * Dynamo's custom page if any (a custom page that fails is replaced by the default), else the
 * default (in dev, 404 lists the routes). Leaves the response SET. Request fiber, inside the
 * pipeline's catch. */
void dyn__error_page(dyn_conn_t *c, int status);

/* Handles a failure caught by the pipeline: records it in the conn, logs it, and answers with
 * the exception page (dev), the custom 500 page or the plain one, unless the response already
 * went out. Returns 0, or the reason to fail the exchange with when a streamed response had
 * started (the client must see it cut, not complete). */
int dyn__exception(dyn_conn_t *c, const act_failure_t *f);

/* The status of a failure made by dyn_raise (a client error, answered with that status's
 * page and logged at info), or 0 for a crash. */
int dyn__raised_status(const dyn_conn_t *c, const act_failure_t *f);

/* Writes a log line through the runtime's report sink if level passes the Dynamo's. */
__attribute__((format(printf, 3, 4))) void dyn__log(const dyn__inst_t *in, dyn_log_level_t level,
                                                    const char *fmt, ...);
bool dyn__log_on(const dyn__inst_t *in, dyn_log_level_t level);
/* Appends s as a logfmt value: bare if it is a plain token, else quoted with '"' and '\'
 * escaped and control bytes as \xNN. */
void dyn__log_value(dyn_buf_t *b, const char *s);
/* Appends s with control bytes as \xNN (the text format: readable, still one line). */
void dyn__log_text(dyn_buf_t *b, const char *s);

/* One frame of a backtrace, symbolized. Strings are in the given arena. */
typedef struct dyn__frame {
    void *addr;
    const char *function; /* "show_user", or "??" */
    const char *file;     /* source file, or NULL */
    int line;
    const char *module; /* the binary or library's file name */
} dyn__frame_t;

/* Symbolizes n frames (return addresses) with libdw: function names (static ones included,
 * from the symbol table) and source lines (from DWARF, when built with -g). Serialized by a
 * lock; the first call reads the process's modules. Returns the frames filled. */
size_t dyn__backtrace(dyn_arena_t *a, void *const *addrs, size_t n, dyn__frame_t *out);

#endif
