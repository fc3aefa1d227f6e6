/*
 * Static assets: a plug serving the files of a directory (priv/static) under a path prefix
 * (/static), as Plug.Static and the README's "Static content is served from priv/static/
 * folder and from the /static route".
 *
 *     static const dyn_plug_spec_t web_plugs[] = {
 *         DYN_PLUG(dyn_plug_static, NULL),          // the Dynamo's static_route and root
 *         DYN_PLUG(dyn_plug_request_id, NULL),
 *         ...
 *     };
 *
 * Put it first: a request for an asset is answered before the other plugs run (a GET for
 * /static/app.css needs no request id, session or params). Requests it does not serve go on
 * through the pipeline untouched: methods other than GET and HEAD, paths outside the prefix,
 * and files that do not exist (the router then answers, usually 404).
 *
 * What a request for /static/css/app.css gets:
 * - the file priv/static/css/app.css, sent with sendfile(2) (small files are read and sent with
 *   the head in one write, and kept in memory per scheduler once they have not changed for a
 *   second: later requests cost one statx, and are served from memory only while the path
 *   still leads to that very file, same device, inode, size and times: see inline_max and
 *   cache_off), with its content type by extension (dyn_mime_type);
 * - caching: an ETag (from size and modification time) and Last-Modified; a matching
 *   If-None-Match, or an If-Modified-Since not older than the file when there is no
 *   If-None-Match, answers 304 without the body; If-Match and If-Unmodified-Since answer 412
 *   when they fail (RFC 9110 section 13.2.2's order). Cache-Control per environment (dev
 *   "no-cache": always revalidated; test and prod "public") or as configured; a query string
 *   starting with "vsn=" marks a versioned URL: no ETag, cached for a year (Plug's rule);
 * - ranges (GET only): one satisfiable range answers 206 with Content-Range; a set with no
 *   satisfiable range answers 416 with a Content-Range giving the file's size; a set of several
 * ranges is served whole (200: no multipart/byteranges); If-Range with a validator that does not
 *   match the file serves it whole;
 * - precompressed variants: when app.css.gz exists and the client accepts gzip (and asks for
 *   no range), the .gz file goes out with Content-Encoding: gzip and the original's content
 *   type; every response says Vary: Accept-Encoding while gzip is on;
 * - HEAD: the same headers, no body.
 *
 * Safety: no request reaches a file outside the root. Segments are checked after decoding
 * ("..", ".", "%2e%2e", "%2f" or "%5c" inside a segment, ':', NUL: 400), then the file is
 * opened relative to the root with openat2(RESOLVE_BENEATH), so no "..", symbolic link or
 * mount trick resolves outside it (a link that leaves the root is answered like a missing
 * file); without openat2 no symbolic link is followed at all. The file is opened first and
 * checked after (fstat on the open descriptor): only regular files are served, nothing can
 * swap the file between the check and the send, and a FIFO or device never blocks a request.
 *
 * Thread contract: a plug (plug.h); dyn_mime_type is pure (any thread).
 */
#ifndef DYN_STATIC_H
#define DYN_STATIC_H

#include "dynamo/plug.h"

/* An extra response header for every file served; lists end with {NULL, NULL}. */
typedef struct dyn_static_header {
    const char *name;
    const char *value;
} dyn_static_header_t;

/* A content type for a file name ("apple-app-site-association") or an extension with its dot
 * (".mjs"), checked before the built-in table; lists end with {NULL, NULL}. */
typedef struct dyn_static_type {
    const char *name;
    const char *type;
} dyn_static_type_t;

/* Options of dyn_plug_static (NULL: all defaults). */
typedef struct dyn_static_opts {
    const char *at;            /* the path prefix ["/static": the Dynamo's static_route] ("/" serves
                                  from the root of the site: combine with `only`) */
    const char *from;          /* the directory, absolute or relative to the working directory at
                                  start ["priv/static": the Dynamo's static_root] */
    const char *cache_control; /* [the Dynamo's static_cache_control, else dev "no-cache",
                                  test and prod "public"]; "" sends none */
    const char *cache_control_vsn;          /* for ?vsn= requests ["public, max-age=31536000,
                                               immutable"] */
    bool gzip_off;                          /* never serve the .gz variants */
    const char *index;                      /* served for a directory (its URL must end in '/': the
                                               plug redirects there first, 301) [NULL: none] */
    const char *const *only;                /* NULL-terminated: the first segments served (after the
                                               prefix), e.g. {"css", "js", "favicon.ico", NULL}; others
                                               pass through without touching the disk [NULL: all] */
    const char *const *only_matching;       /* NULL-terminated prefixes of the first segment, for
                                               digested names ("favicon" serves "favicon-3f2a.ico") */
    const dyn_static_header_t *headers;     /* extra headers on every file response */
    const dyn_static_type_t *content_types; /* overrides of the built-in table */
    size_t inline_max; /* files up to this size are read and sent with the head in one write
                          instead of with sendfile, and kept in memory [16384]; SIZE_MAX:
                          always sent so (then never kept) */
    bool cache_off;    /* never keep small files in memory (each request opens its file) */
} dyn_static_opts_t;

/* The static plug. Options: dyn_static_opts_t or NULL. init fails (the Dynamo does not
 * start) for a prefix that is not an absolute path; a root directory that does not exist yet
 * is only logged, and tried again by the requests under the prefix. */
DYN_API extern const dyn_plug_t dyn_plug_static;

/* The content type of a file by its extension ("text/css" for "app.css", any case), or
 * "application/octet-stream". */
DYN_API const char *dyn_mime_type(const char *path);

#endif
