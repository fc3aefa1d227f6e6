/* The cookie parser and the Set-Cookie writer behind cookie.h, I/O-free for tests and the
 * fuzzer (tests/fuzz/cookie_fuzz.c). */
#ifndef DYN_COOKIE_INT_H
#define DYN_COOKIE_INT_H

#include <time.h>

#include "dynamo/buf.h"
#include "dynamo/cookie.h"

/* Parses one Cookie header value into `into` (name -> string value, in its arena): pairs
 * split on ';', names and values trimmed of spaces and tabs, pairs without '=' or with an
 * empty name, a name that is not a token, or a value holding control characters are skipped,
 * as is a pair larger than max_size bytes; names already in `into` keep their first value;
 * parsing stops once `into` holds max_cookies entries. Returns 0 or ACT_ENOMEM. */
int dyn__cookies_parse(dyn_map_t *into, const char *header, size_t len, uint32_t max_cookies,
                       uint32_t max_size);

/* Writes the Set-Cookie value for name=value with opts (NULL: the defaults) into b, now being
 * the current time (for Expires from Max-Age). Returns 0, or DYN_EBADHEADER with err naming
 * the bad part (a name that is not a token, a value with bytes a cookie cannot hold, a path or
 * domain with a control character or ';'). */
int dyn__cookie_format(dyn_buf_t *b, const char *name, const char *value,
                       const dyn_cookie_opts_t *opts, time_t now, char *err, size_t errlen);

/* dyn__cookie_format for a value the framework made, base64url text (and '.'), which cannot
 * hold a byte a cookie refuses: the value is not scanned again (a session's is a few hundred
 * bytes, written on every request that changes it). The name and opts are checked. */
int dyn__cookie_format_trusted(dyn_buf_t *b, const char *name, const char *value,
                               const dyn_cookie_opts_t *opts, time_t now, char *err, size_t errlen);

/* dyn_put_resp_cookie for such a value (sessions, signed and encrypted cookies). */
dyn_conn_t *dyn__put_resp_cookie_trusted(dyn_conn_t *conn, const char *name, const char *value,
                                         const dyn_cookie_opts_t *opts);

#endif
