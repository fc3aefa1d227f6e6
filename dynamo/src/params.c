/*
 * Typed reads of params and uploads (params.h); the fallbacks of dyn_param and
 * dyn_param_value (conn.c) for names that are not a top-level key: the not-fetched failure and
 * nested keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_int.h"
#include "fetch_int.h"
#include "multipart_int.h"

#include "dynamo/json.h"
#include "dynamo/params.h"
#include "dynamo/uri.h"

const dyn_value_t *dyn__param_missing(dyn_conn_t *c, const char *name)
{
    /* Path parameters are there without a fetch; anything else needs the query at least. */
    if (ACT_UNLIKELY(!(c->fetched & DYN_FETCH_QUERY)))
        dyn__fetch_require(c, DYN_FETCH_PARAMS, "param \"%.100s\"", name);
    if (!c->params || !strchr(name, '['))
        return NULL;
    return dyn_params_get(c->params, name);
}

const char *dyn__param_text(dyn_conn_t *c, const dyn_value_t *v)
{
    if (v->type == DYN_V_BOOL)
        return v->b ? "true" : "false";
    if (v->type != DYN_V_INT && v->type != DYN_V_FLOAT)
        return NULL;
    dyn_buf_t b; /* the number's JSON text: it came from JSON */
    dyn_buf_init(&b, c->arena, 32);
    if (dyn_json_encode(&b, v, NULL, 0) != 0)
        dyn__conn_fail(c, ACT_ENOMEM, "out of memory");
    return b.data;
}

/* Parses a whole decimal integer with an optional sign. */
static int parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return -EINVAL;
    uint64_t v = 0;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool over = false;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*p - '0');
        if (v > (lim - d) / 10)
            over = true; /* keep checking the syntax: "99999999999999999999x" is -EINVAL */
        else
            v = v * 10 + d;
    }
    if (over)
        return -ERANGE;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int dyn_param_int(dyn_conn_t *c, const char *name, int64_t *out)
{
    const dyn_value_t *v = dyn_param_value(c, name);
    if (!v || v->type == DYN_V_NULL)
        return -ENOENT;
    switch (v->type) {
    case DYN_V_INT:
        *out = v->i;
        return 0;
    case DYN_V_FLOAT:
        /* -2^63 and 2^63 are exact doubles: the range check needs no rounding. */
        if (!isfinite(v->f) || v->f != trunc(v->f))
            return -EINVAL;
        if (v->f < -9223372036854775808.0 || v->f >= 9223372036854775808.0)
            return -ERANGE;
        *out = (int64_t)v->f;
        return 0;
    case DYN_V_STR:
        return parse_int(v->s.ptr, out);
    default:
        return -EINVAL;
    }
}

int dyn_param_float(dyn_conn_t *c, const char *name, double *out)
{
    const dyn_value_t *v = dyn_param_value(c, name);
    if (!v || v->type == DYN_V_NULL)
        return -ENOENT;
    if (v->type == DYN_V_INT || v->type == DYN_V_FLOAT) {
        *out = v->type == DYN_V_INT ? (double)v->i : v->f;
        return 0;
    }
    if (v->type != DYN_V_STR || !v->s.len || v->s.ptr[0] == ' ' || v->s.ptr[0] == '\t' ||
        v->s.ptr[0] == '\n')
        return -EINVAL;
    char *end;
    errno = 0;
    double d = strtod(v->s.ptr, &end);
    if (*end || end == v->s.ptr || isnan(d))
        return -EINVAL;
    if (isinf(d))
        return errno == ERANGE ? -ERANGE : -EINVAL; /* "inf" is not a number here */
    *out = d;
    return 0;
}

const dyn_upload_t *dyn_value_upload(const dyn_conn_t *c, const dyn_value_t *v)
{
    if (!v || v->type != DYN_V_PTR || !c->fetch)
        return NULL;
    /* Only this request's own uploads: a pointer value from elsewhere is not one. */
    for (const dyn__upload_t *u = c->fetch->uploads; u; u = u->next)
        if (v->p == u)
            return &u->pub;
    return NULL;
}

const dyn_upload_t *dyn_param_upload(dyn_conn_t *c, const char *name)
{
    return dyn_value_upload(c, dyn_param_value(c, name));
}

static int copy_file(int in, int out)
{
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(in, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        off += n;
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return -errno;
            w += k;
        }
    }
}

int dyn_upload_save(const dyn_upload_t *u, const char *dest)
{
    /* path is a name or /proc/self/fd/N; linking through the latter needs AT_SYMLINK_FOLLOW
     * and gives an O_TMPFILE file its first name. */
    if (linkat(AT_FDCWD, u->path, AT_FDCWD, dest, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno == EEXIST)
        return -EEXIST;
    int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0)
        return -errno;
    int rc = copy_file(u->fd, out);
    if (close(out) != 0 && rc == 0)
        rc = -errno;
    if (rc)
        unlink(dest);
    return rc;
}
