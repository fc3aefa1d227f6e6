/*
 * The pure parts of the static plug (plug/static.c), apart so that tests and fuzzers drive
 * them directly: the path check, RFC 9110's conditional-request and range fields, dates,
 * Accept-Encoding, and the content-type table. None does I/O or allocates.
 */
#ifndef DYN_STATIC_INT_H
#define DYN_STATIC_INT_H

#include <time.h>

#include "dynamo/static.h"

/* ---- paths (static_path.c) ---------------------------------------------------------------- */

/* Joins decoded path segments into a path relative to the static root ("css/app.css"), NUL
 * terminated in buf (cap bytes). Returns its length, DYN__PATH_INVALID when a segment could
 * name something outside the root or is not a plain file name (".", "..", empty, or holding
 * '/', '\\', ':' or NUL: answered 400, as Plug.Static does), or DYN__PATH_TOOLONG when it does
 * not fit (never a file: the request goes on to the router). */
#define DYN__PATH_INVALID (-1)
#define DYN__PATH_TOOLONG (-2)
int dyn__static_path(const dyn_str_t *segs, size_t n, char *buf, size_t cap);

/* Opens rel (from dyn__static_path) beneath the directory root_fd for reading, never leaving
 * it: openat2 with RESOLVE_BENEATH where the kernel has it (symbolic links inside the root are
 * followed, any that leads out fails), else a walk of the components with O_NOFOLLOW (no
 * symbolic link at all). The file is opened non-blocking (a FIFO cannot hang the request);
 * the caller checks its type with fstat on the returned descriptor (no race between check
 * and use). Returns the descriptor or -errno (-EXDEV for an escape, -ELOOP for a link in the
 * fallback, -ENOENT...). */
int dyn__open_beneath(int root_fd, const char *rel);
/* Tests: use the O_NOFOLLOW walk even where openat2 exists. */
void dyn__static_force_walk(bool on);
/* Tests: cache files left alone min_age_s seconds [1] (0: at once), count cache hits. */
void dyn__static_cache_tune(int min_age_s, bool count);
uint64_t dyn__static_cache_hits(void);

/* ---- conditional requests, ranges, codings (cond.c) --------------------------------------- */

/* Parses an HTTP-date (RFC 9110 section 5.6.7): IMF-fixdate, the obsolete RFC 850 form (its
 * two-digit year read as the latest year that is not more than 50 years after now) and
 * asctime's. s is len bytes (no NUL needed). Returns true with *out in Unix seconds. */
bool dyn__http_date_parse(const char *s, size_t len, time_t now, time_t *out);
/* Formats t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into out (30 bytes with the
 * NUL). */
#define DYN__HTTP_DATE_LEN 29
void dyn__http_date_format(time_t t, char out[DYN__HTTP_DATE_LEN + 1]);

/* Evaluates an If-Match / If-None-Match list (RFC 9110 sections 13.1.1, 13.1.2) against our
 * entity tag etag (with its quotes, never weak): "*" matches, else each member is compared,
 * strongly (If-Match, If-Range) or weakly (If-None-Match). Returns DYN__ETAG_MATCH,
 * DYN__ETAG_NOMATCH, or DYN__ETAG_INVALID for a list that is not one (the field is then
 * ignored: If-None-Match gives no 304, If-Match fails). */
enum { DYN__ETAG_NOMATCH = 0, DYN__ETAG_MATCH = 1, DYN__ETAG_INVALID = -1 };
int dyn__etag_list_match(const char *list, const char *etag, bool weak);

/* A byte range, both ends included. */
typedef struct dyn__range {
    uint64_t first;
    uint64_t last;
} dyn__range_t;

/* Evaluates a Range field against a representation of `size` bytes (RFC 9110 section 14.2):
 * DYN__RANGE_ONE with *out for one satisfiable range; DYN__RANGE_UNSATISFIABLE (416) when no
 * range of the set is satisfiable; DYN__RANGE_IGNORE (send the whole representation, 200) for
 * a field that is not a valid bytes range set, a set of several ranges (multipart/byteranges
 * is not produced: the whole file costs a client little more and no one boundary parser), more
 * than DYN__RANGE_MAX ranges, or an empty representation. Positions past 2^64 saturate. */
enum { DYN__RANGE_IGNORE = 0, DYN__RANGE_ONE = 1, DYN__RANGE_UNSATISFIABLE = 2 };
#define DYN__RANGE_MAX 64
int dyn__range_parse(const char *field, uint64_t size, dyn__range_t *out);

/* True if an Accept-Encoding field accepts gzip (RFC 9110 section 12.5.3): "gzip" or "x-gzip"
 * with a non-zero weight, or "*" with a non-zero weight when gzip is not listed. NULL (no
 * field) is false: gzip is only sent to clients that ask for it. */
bool dyn__accepts_gzip(const char *field);

/* ---- content types (mime.c) --------------------------------------------------------------- */

/* The content type of a file name by its extension (case-insensitive), NULL if unknown. */
const char *dyn__mime_lookup(const char *name, size_t len);

#endif
