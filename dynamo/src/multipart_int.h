/*
 * multipart/form-data bodies (RFC 7578 over RFC 2046), streamed: the body is read piece by
 * piece through a reader (the conn's dyn_conn_read_body, or a fuzzer's), never held whole.
 * Fields become params (their names nest as form keys: "user[avatar]", "photos[]"); file parts
 * go to temporary files, each exposed as an upload value (params.h).
 *
 * Temporary files are created with O_TMPFILE in the upload directory (no name on disk: nothing
 * is left behind even if the process is killed), or, where the filesystem lacks it or the
 * Dynamo asks for named uploads (a path other processes can open), with mkstemp and unlinked
 * when the request ends; mode 0600 either way. Every descriptor and name
 * is released by a cleanup of the request's arena, however the request ends.
 *
 * The parser is a push parser over a small state: the delimiter is searched with memchr for
 * its leading CR, and a delimiter split between two reads is remembered as the number of its
 * bytes matched so far (no bytes are held back: the delimiter's text is known), so each body
 * byte is looked at about once and a part's data goes straight from the read buffer to its
 * file.
 *
 * Thread contract: the request's fiber (or any one thread for a standalone arena).
 */
#ifndef DYN_MULTIPART_INT_H
#define DYN_MULTIPART_INT_H

#include "dynamo/params.h"
#include "dynamo/uri.h"

/* Limits of one body; every field set (no zero defaults here: fetch.c resolves them). */
typedef struct dyn__mp_limits {
    dyn_form_limits_t form;   /* field names (length, depth), field values (max_value_len),
                                 named parts (max_pairs), UTF-8 (any_bytes) */
    uint32_t max_parts;       /* parts, named or not: DYN_ELIMIT */
    uint32_t max_files;       /* file parts: DYN_ELIMIT */
    uint64_t max_file_size;   /* bytes of one file part: DYN_ELIMIT */
    uint64_t max_body;        /* bytes read in all: HTTP_ETOOLARGE */
    uint32_t max_header_size; /* bytes of one part's header block: DYN_ELIMIT */
    uint32_t max_headers;     /* header lines of one part: DYN_ELIMIT */
    const char *upload_dir;   /* where file parts go */
    bool named_uploads;       /* mkstemp names rather than O_TMPFILE */
} dyn__mp_limits_t;

/* An upload as the request holds it: the public part first (params.h hands out &pub). */
typedef struct dyn__upload {
    dyn_upload_t pub;
    struct dyn__upload *next; /* the request's uploads, newest first */
    char *tmp_path;           /* a mkstemp name to unlink at the end; NULL for O_TMPFILE */
} dyn__upload_t;

/* Reads up to cap bytes of body into buf: the byte count, 0 at the end, or an error. */
typedef ssize_t (*dyn__read_fn)(void *arg, void *buf, size_t cap);

/* Checks a boundary parameter (RFC 2046: 1 to 70 of its bchars, not ending in a space). */
bool dyn__mp_boundary_ok(const char *b, size_t len);

/* Reads a whole multipart body through rd and puts its fields and files into params (in
 * arena a, which also owns the temporary files). boundary is the Content-Type's parameter.
 * *uploads gets each file part pushed on its front. Returns 0, or:
 *   DYN_EBADENCODING  malformed (no boundary line, a bad part header, a truncated body, a
 *                     field that is not UTF-8): a 400
 *   DYN_ELIMIT        past one of lim's caps: a 413
 *   HTTP_ETOOLARGE    past lim->max_body (or the reader's own limit): a 413
 *   the reader's other errors (-ETIMEDOUT, HTTP_EBADBODY, -EPIPE)
 *   -errno            a temporary file could not be made or written (a server error)
 *   ACT_ENOMEM
 * err (may be NULL) gets a line saying what was wrong, for logs and error pages. */
int dyn__multipart_read(dyn_arena_t *a, const char *boundary, dyn__read_fn rd, void *rarg,
                        const dyn__mp_limits_t *lim, dyn_map_t *params, dyn__upload_t **uploads,
                        char *err, size_t errlen);

#endif
