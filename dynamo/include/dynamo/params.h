/*
 * Parameters: typed reads of the params map and uploaded files (Plug's conn.params and
 * Plug.Upload).
 *
 * After dyn_fetch(conn, DYN_FETCH_PARAMS) the params map (dyn_conn_params) holds, merged as
 * Plug merges them: the query string's parameters, the body's over them (a urlencoded form, a
 * multipart form's fields and files, a JSON document's members), and the path parameters the
 * router bound over both. Keys nest as forms write them ("user[name]", "tags[]", uri.h), and
 * every reader below takes such a path as its name:
 *
 *     conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
 *     const char *name = dyn_param(conn, "user[name]");          // NULL if absent
 *     int64_t page = 1;
 *     if (dyn_param_int(conn, "page", &page) == -EINVAL)
 *         dyn_raise(conn, 400, "page must be an integer");
 *     const dyn_upload_t *avatar = dyn_param_upload(conn, "user[avatar]");
 *     if (avatar)
 *         dyn_upload_save(avatar, dyn_sprintf(conn, "uploads/%s.png", name));
 *
 * dyn_param and dyn_param_value (conn.h) read strings and values; a number or boolean from
 * a JSON body reads through dyn_param as its JSON text ("42", "true"), a null, list or map as
 * NULL. Reading a parameter that is not a path parameter before the params fetch fails the
 * request with DYN_ENOTFETCHED (fetch.h).
 *
 * Uploads: each file part of a multipart body is streamed to a temporary file (mode 0600,
 * in the Dynamo's upload_dir) and appears in params as an upload value (a pointer value; only
 * dyn_param_upload and dyn_value_upload turn it into a dyn_upload_t, so a forged JSON object
 * never passes for one). The file is the request's: it is closed and removed when the request
 * ends, however it ends; dyn_upload_save keeps a copy.
 *
 * Thread contract: the request's fiber only.
 */
#ifndef DYN_PARAMS_H
#define DYN_PARAMS_H

#include "dynamo/conn.h"

/* An uploaded file (Plug.Upload). Strings live in the request's arena. */
typedef struct dyn_upload {
    const char *filename;     /* as the client named it: never a path to trust ("" if none) */
    const char *content_type; /* the part's Content-Type as sent, or NULL */
    const char *path;         /* opens the file while the request runs ("/proc/self/fd/N" for
                                 a file without a name on disk) */
    int fd;                   /* open for reading and writing; the request closes it */
    uint64_t size;            /* bytes */
} dyn_upload_t;

/* Parameter `name` as a 64-bit integer: a string of decimal digits with an optional sign (no
 * spaces, no other characters), a JSON integer, or a JSON number with an integral value.
 * Returns 0 (*out set), -ENOENT (absent or null), -EINVAL (not an integer), -ERANGE (past
 * int64_t). */
DYN_API int dyn_param_int(dyn_conn_t *conn, const char *name, int64_t *out);
/* The same for a finite number (strtod's syntax, whole string; or a JSON number). Returns 0,
 * -ENOENT, -EINVAL (not a number, or inf/nan), -ERANGE (overflows a double). */
DYN_API int dyn_param_float(dyn_conn_t *conn, const char *name, double *out);

/* The upload under `name` ("avatar", "photos[0]"), or NULL if absent or not an upload. */
DYN_API const dyn_upload_t *dyn_param_upload(dyn_conn_t *conn, const char *name);
/* The upload a value holds (an item of a list of uploads, say), or NULL. */
DYN_API const dyn_upload_t *dyn_value_upload(const dyn_conn_t *conn, const dyn_value_t *v);

/* Keeps the uploaded file at dest (a new file, mode 0600 before the umask: chmod it if
 * needed): a hard link when dest is on the same filesystem, else a copy. Returns 0, -EEXIST if
 * dest exists, or another -errno. */
DYN_API int dyn_upload_save(const dyn_upload_t *u, const char *dest);

#endif
