/*
 * JSON: responses encoded from values (the seed's "built-in JSON encoding", Phoenix's json/2)
 * and JSON text decoded into values (what the params fetch does with a JSON body).
 *
 *     dyn_map_t *user = dyn_map_new(dyn_conn_arena(conn));
 *     dyn_map_put(user, "name", dyn_vstr("José"));
 *     dyn_map_put(user, "admin", dyn_vbool(false));
 *     return dyn_json(conn, 200, dyn_vmap(user));        // {"name":"José","admin":false}
 *
 * The encoder is hand-written over dyn_buf_t: on the request path it writes the value's bytes
 * once, without building a second tree: 3.5x fewer instructions than jansson's json_dumpb of
 * a prebuilt tree, 4.8x counting the conversion a value would need (tests/bench/fetch_bench
 * --parse, an API response of 20 users). The decoder is jansson's, converted into values in an
 * arena after a linear pre-scan that enforces the depth and size caps before jansson recurses
 * (a request fiber's stack is small).
 *
 * Thread contract: dyn_json on the request's fiber; the others are pure (their arena's or
 * buffer's thread).
 */
#ifndef DYN_JSON_H
#define DYN_JSON_H

#include "dynamo/buf.h"
#include "dynamo/conn.h"

/* Sets the response to value as JSON with status and content-type "application/json;
 * charset=utf-8" (sent when the route returns, as dyn_resp). Fails the request (ACT_EBADARG,
 * a 500 naming the place: "$.scores[2] is NaN") for a value JSON cannot hold (see
 * dyn_json_encode). Returns conn. */
DYN_API dyn_conn_t *dyn_json(dyn_conn_t *conn, int status, dyn_value_t value);

/* Appends v as JSON text (RFC 8259) to b: maps become objects (keys in insertion order),
 * lists arrays, strings strings, integers numbers, floats numbers in their shortest form that
 * reads back to the same double (with ".0" when integral, so they read back as floats),
 * booleans and null themselves. Strings are escaped as RFC 8259 requires ('"', '\' and
 * control characters) plus U+2028 and U+2029 (so the text is also a JavaScript literal);
 * bytes that are not UTF-8 are replaced, each maximal invalid sequence by one U+FFFD, so the
 * output is always valid UTF-8. Returns 0; ACT_EBADARG for what JSON cannot hold: a NaN or
 * infinite float, a pointer, nesting deeper than 256 levels (a map that holds itself), with
 * err (may be NULL) naming the place ("$.user.scores[2]: NaN is not JSON"); ACT_ENOMEM if the
 * buffer ran out of memory. On an error b holds a partial text. */
DYN_API int dyn_json_encode(dyn_buf_t *b, const dyn_value_t *v, char *err, size_t errlen);

/* Caps of a decode; 0 means the default. */
typedef struct dyn_json_limits {
    uint32_t max_depth; /* [32] nesting of arrays and objects (128 at most, whatever is
                           asked: the stack of a request's fiber is small): DYN_ELIMIT */
    uint32_t max_items; /* [100,000] values in the document: DYN_ELIMIT */
} dyn_json_limits_t;

/* Decodes JSON text s[0..len) (any value at the top) into *out, with its lists, maps and
 * strings in arena a: objects become maps (for a duplicate key the last value wins), arrays
 * lists, strings NUL-terminated strings, integers DYN_V_INT, other numbers floats. Returns 0,
 * DYN_EBADENCODING (not JSON, not UTF-8, a string or key holding \u0000, an integer past
 * int64_t), DYN_ELIMIT (past lim's caps), or ACT_ENOMEM; err (may be NULL) gets a line saying
 * what and where. lim may be NULL. */
DYN_API int dyn_json_decode(dyn_arena_t *a, const char *s, size_t len, const dyn_json_limits_t *lim,
                            dyn_value_t *out, char *err, size_t errlen);

#endif
