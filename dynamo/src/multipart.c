/*
 * multipart/form-data, streamed (multipart_int.h).
 *
 * States, in body order:
 *
 *     PRE       the preamble, discarded, up to the first delimiter. The delimiter is
 *               CRLF "--" boundary; the first one may open the body without its CRLF, so the
 *               scan starts as if a CRLF had just been seen (match = 2).
 *     AFTER     past a delimiter: "--" closes the body (EPILOGUE), else optional spaces and
 *               CRLF open a part (HEADERS)
 *     HEADERS   the part's header block, gathered up to its empty line (max_header_size)
 *     BODY      the part's data up to the next delimiter, handed to the part as it comes
 *     EPILOGUE  done: whatever follows the close delimiter is not read
 *
 * The boundary cannot hold a CR (RFC 2046 bchars), so a delimiter can only start at a CR, and
 * a failed partial match never hides the start of another: on a mismatch the bytes matched so
 * far are data (they are the delimiter's own prefix, so they need not be kept) and the scan
 * goes on from the mismatching byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mime_int.h"
#include "multipart_int.h"

#include "dynamo/buf.h"

#define READ_SIZE 65536
#define STAGE_SIZE 65536
#define MAX_BOUNDARY 70

typedef enum { PRE, AFTER, AFTER_DASH, AFTER_CR, HEADERS, BODY, EPILOGUE } mp_state_t;
typedef enum { PART_SKIP, PART_FIELD, PART_FILE } part_kind_t;

typedef struct mp {
    dyn_arena_t *a;
    const dyn__mp_limits_t *lim;
    dyn_map_t *params;
    dyn__upload_t **uploads;
    char *err;
    size_t errlen;
    /* the scan */
    mp_state_t st;
    const char *delim; /* CRLF "--" boundary */
    size_t dlen;
    size_t match; /* bytes of delim matched at the end of the last piece */
    char *hbuf;   /* the header block */
    size_t hlen;
    unsigned hterm; /* bytes of CRLF CRLF matched */
    /* counts */
    uint32_t parts, files, named;
    /* the current part */
    part_kind_t kind;
    char *name;
    size_t name_len;
    char *namebuf; /* scratch for a part's name (max_key_len + 1, made on the first) */
    dyn_buf_t field;
    dyn__upload_t *up;
    char *stage; /* file data not written yet (STAGE_SIZE, made on the first file) */
    size_t staged;
} mp_t;

__attribute__((format(printf, 3, 4))) static int fail(mp_t *m, int rc, const char *fmt, ...)
{
    if (m->err && m->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->err, m->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

bool dyn__mp_boundary_ok(const char *b, size_t len)
{
    if (len < 1 || len > MAX_BOUNDARY || b[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)b[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c && strchr("'()+_,-./:=? ", c));
        if (!ok)
            return false;
    }
    return true;
}

/* ---- temporary files ------------------------------------------------------------------------ */

static void upload_cleanup(void *arg)
{
    dyn__upload_t *u = arg;
    if (u->pub.fd >= 0)
        close(u->pub.fd);
    if (u->tmp_path)
        unlink(u->tmp_path);
}

/* Opens the part's file and registers its cleanup. Returns 0 or -errno / ACT_ENOMEM. */
static int upload_open(mp_t *m, dyn__upload_t *u)
{
    const char *dir = m->lim->upload_dir;
    u->pub.fd = -1;
    int fd = m->lim->named_uploads ? -1 : open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (m->lim->named_uploads ||
        (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))) {
        /* Asked for, or no O_TMPFILE on that filesystem: a named file, unlinked when the
         * request ends. */
        char *path = dyn_arena_printf(m->a, "%s/dynamo-upload-XXXXXX", dir);
        if (!path)
            return ACT_ENOMEM;
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0)
            u->tmp_path = path;
    }
    if (fd < 0)
        return -errno;
    u->pub.fd = fd;
    if (dyn_arena_defer(m->a, upload_cleanup, u) != 0)
        return ACT_ENOMEM; /* the cleanup ran: nothing is left open */
    u->pub.path = u->tmp_path ? u->tmp_path : dyn_arena_printf(m->a, "/proc/self/fd/%d", fd);
    return u->pub.path ? 0 : ACT_ENOMEM;
}

static int write_all(mp_t *m, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(m->up->pub.fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return fail(m, -errno, "writing the upload of part \"%s\": %s", m->name,
                        strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the staged bytes of the current file part. */
static int upload_flush(mp_t *m)
{
    int rc = write_all(m, m->stage, m->staged);
    m->staged = 0;
    return rc;
}

/* File data is staged and written STAGE_SIZE bytes at a time: the body arrives in pieces of
 * the connection's read buffer (16 KiB, less from a slow client), and a write(2) per piece
 * costs the kernel more than the copy into the stage costs us (a 1 MiB upload: 16 writes
 * instead of 65, a quarter less system time in fetch_bench --parse). */
static int upload_write(mp_t *m, const char *p, size_t n)
{
    dyn__upload_t *u = m->up;
    if (n > m->lim->max_file_size - u->pub.size)
        return fail(m, DYN_ELIMIT, "file part \"%s\" larger than %llu bytes", m->name,
                    (unsigned long long)m->lim->max_file_size);
    u->pub.size += n;
    if (!m->stage && !(m->stage = dyn_arena_alloc(m->a, STAGE_SIZE)))
        return ACT_ENOMEM;
    while (n) {
        size_t k = STAGE_SIZE - m->staged < n ? STAGE_SIZE - m->staged : n;
        memcpy(m->stage + m->staged, p, k);
        m->staged += k;
        p += k;
        n -= k;
        if (m->staged == STAGE_SIZE) {
            int rc = upload_flush(m);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- parts ------------------------------------------------------------------------------------
 */

/* The filename of a Content-Disposition: filename*=utf-8''%-encoded (RFC 8187) over filename.
 * Returns its length, -1 if none, or an error. */
static ssize_t disposition_filename(mp_t *m, const char *params, char *out, size_t cap)
{
    ssize_t n = dyn__mime_param(params, "filename*", out, cap);
    if (n >= 0) {
        static const char utf8[] = "utf-8''";
        if (n < (ssize_t)sizeof utf8 - 1 || strncasecmp(out, utf8, sizeof utf8 - 1) != 0)
            return fail(m, DYN_EBADENCODING, "filename* of a part is not utf-8''...");
        size_t raw = (size_t)n - (sizeof utf8 - 1);
        memmove(out, out + sizeof utf8 - 1, raw);
        ssize_t d = dyn_percent_decode(out, out, raw, 0);
        if (d < 0 || !dyn_utf8_valid(out, (size_t)d))
            return fail(m, DYN_EBADENCODING, "filename* of a part is not UTF-8");
        out[d] = '\0';
        return d;
    }
    if (n == -1)
        n = dyn__mime_param(params, "filename", out, cap);
    if (n == DYN_ELIMIT)
        return fail(m, DYN_ELIMIT, "a filename longer than %zu bytes", cap - 1);
    if (n == DYN_EBADENCODING)
        return fail(m, DYN_EBADENCODING, "a malformed Content-Disposition");
    return n;
}

/* Parses the header block hbuf[0..hlen) (lines ending in CRLF, the last one included) and
 * starts the part. */
static int part_begin(mp_t *m)
{
    const dyn__mp_limits_t *lim = m->lim;
    if (++m->parts > lim->max_parts)
        return fail(m, DYN_ELIMIT, "more than %u parts", lim->max_parts);
    const char *disp = NULL, *ctype = NULL;
    uint32_t lines = 0;
    char *p = m->hbuf, *end = m->hbuf + m->hlen;
    while (p < end) {
        char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol || eol + 1 >= end || eol[1] != '\n')
            return fail(m, DYN_EBADENCODING, "a part header line without CRLF");
        *eol = '\0';
        if (eol == p) /* the empty line ending the block */
            break;
        if (++lines > lim->max_headers)
            return fail(m, DYN_ELIMIT, "a part with more than %u header lines", lim->max_headers);
        if (memchr(p, '\n', (size_t)(eol - p)) || *p == ' ' || *p == '\t')
            return fail(m, DYN_EBADENCODING, "a malformed part header line");
        char *colon = strchr(p, ':');
        if (!colon || colon == p)
            return fail(m, DYN_EBADENCODING, "a part header line without a name");
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t nl = (size_t)(colon - p);
        if (!disp && dyn__ieq(p, nl, "content-disposition"))
            disp = v;
        else if (!ctype && dyn__ieq(p, nl, "content-type"))
            ctype = v;
        p = eol + 2;
    }
    m->kind = PART_SKIP;
    m->up = NULL;
    /* Parts without a name are dropped, as Plug drops them. */
    const char *semi = disp ? strchr(disp, ';') : NULL;
    if (!semi)
        return 0;
    /* Names are read into one scratch buffer of the largest allowed length, then copied at
     * their own size: a thousand short names must not cost a thousand long ones. */
    size_t cap = lim->form.max_key_len + 1;
    if (!m->namebuf && !(m->namebuf = dyn_arena_alloc(m->a, cap)))
        return ACT_ENOMEM;
    ssize_t nlen = dyn__mime_param(semi, "name", m->namebuf, cap);
    if (nlen == DYN_ELIMIT)
        return fail(m, DYN_ELIMIT, "a part name longer than %u bytes", lim->form.max_key_len);
    if (nlen == DYN_EBADENCODING)
        return fail(m, nlen, "a malformed Content-Disposition");
    if (nlen < 0)
        return 0;
    if (!lim->form.any_bytes && !dyn_utf8_valid(m->namebuf, (size_t)nlen))
        return fail(m, DYN_EBADENCODING, "a part name that is not UTF-8");
    if (!(m->name = dyn_arena_strndup(m->a, m->namebuf, (size_t)nlen)))
        return ACT_ENOMEM;
    m->name_len = (size_t)nlen;
    char fbuf[1024];
    ssize_t flen = disposition_filename(m, semi, fbuf, sizeof fbuf);
    if (flen < -1)
        return (int)flen;
    if (flen == 0)
        return 0; /* an empty file input: Plug skips it */
    if (flen > 0 && !lim->form.any_bytes && !dyn_utf8_valid(fbuf, (size_t)flen))
        return fail(m, DYN_EBADENCODING, "a filename that is not UTF-8");
    if (++m->named > lim->form.max_pairs)
        return fail(m, DYN_ELIMIT, "more than %u named parts", lim->form.max_pairs);
    if (flen < 0) {
        m->kind = PART_FIELD;
        dyn_buf_init(&m->field, m->a, 256);
        return 0;
    }
    if (++m->files > lim->max_files)
        return fail(m, DYN_ELIMIT, "more than %u file parts", lim->max_files);
    dyn__upload_t *u = dyn_arena_calloc(m->a, 1, sizeof *u);
    if (!u)
        return ACT_ENOMEM;
    u->pub.filename = dyn_arena_strndup(m->a, fbuf, (size_t)flen);
    u->pub.content_type = ctype ? dyn_arena_strndup(m->a, ctype, strlen(ctype)) : NULL;
    if (!u->pub.filename || (ctype && !u->pub.content_type))
        return ACT_ENOMEM;
    int rc = upload_open(m, u);
    if (rc)
        return rc == ACT_ENOMEM ? rc
                                : fail(m, rc, "cannot create a temporary file in %s: %s",
                                       lim->upload_dir, strerror(-rc));
    u->next = *m->uploads;
    *m->uploads = u;
    m->up = u;
    m->kind = PART_FILE;
    return 0;
}

static int part_data(mp_t *m, const char *p, size_t n)
{
    if (!n)
        return 0;
    switch (m->kind) {
    case PART_SKIP:
        return 0;
    case PART_FILE:
        return upload_write(m, p, n);
    case PART_FIELD:
        if (n > m->lim->form.max_value_len - m->field.len)
            return fail(m, DYN_ELIMIT, "field \"%s\" longer than %u bytes", m->name,
                        m->lim->form.max_value_len);
        dyn_buf_put(&m->field, p, n);
        return m->field.failed ? ACT_ENOMEM : 0;
    }
    return 0;
}

static int part_end(mp_t *m)
{
    dyn_value_t v;
    switch (m->kind) {
    case PART_SKIP:
        return 0;
    case PART_FILE: {
        int rc = upload_flush(m);
        if (rc)
            return rc;
        v = (dyn_value_t){.type = DYN_V_PTR, .p = m->up};
        break;
    }
    case PART_FIELD: {
        if (m->field.failed)
            return ACT_ENOMEM;
        const char *s = m->field.data ? m->field.data : "";
        if (!m->lim->form.any_bytes &&
            (memchr(s, '\0', m->field.len) || !dyn_utf8_valid(s, m->field.len)))
            return fail(m, DYN_EBADENCODING, "field \"%s\" is not UTF-8 text", m->name);
        v = dyn_vstrn(s, m->field.len);
        break;
    }
    default:
        return 0;
    }
    int rc = dyn_params_put(m->params, m->name, m->name_len, v, &m->lim->form);
    if (rc == DYN_ELIMIT)
        return fail(m, rc, "part name \"%s\" nested deeper than %u levels", m->name,
                    m->lim->form.max_depth);
    return rc;
}

/* ---- the scan ------------------------------------------------------------------------------- */

/* Hands p[0..n) to the current part (BODY) or drops it (PRE). */
static int emit(mp_t *m, const char *p, size_t n)
{
    return m->st == BODY ? part_data(m, p, n) : 0;
}

/* Scans p[0..n) for the delimiter. Returns 0 with *used = n when all of it was data (a
 * partial delimiter at its end is remembered), 1 with *used past the delimiter when one ended
 * there, or an error. */
static int scan(mp_t *m, const char *p, size_t n, size_t *used)
{
    size_t i = 0;
    int rc;
    if (m->match) {
        while (i < n && m->match < m->dlen && p[i] == m->delim[m->match]) {
            i++;
            m->match++;
        }
        if (m->match == m->dlen) {
            m->match = 0;
            *used = i;
            return 1;
        }
        if (i == n) {
            *used = n;
            return 0;
        }
        /* Not a delimiter after all: what matched (the delimiter's own prefix, part of it
         * held from the last piece) was data; the scan goes on at the mismatching byte. */
        if ((rc = emit(m, m->delim, m->match)))
            return rc;
        m->match = 0;
    }
    size_t start = i;
    while (i < n) {
        const char *cr = memchr(p + i, '\r', n - i);
        if (!cr)
            break;
        size_t k = (size_t)(cr - p), j = 0;
        while (k + j < n && j < m->dlen && p[k + j] == m->delim[j])
            j++;
        if (j == m->dlen || k + j == n) {
            if ((rc = emit(m, p + start, k - start)))
                return rc;
            if (j == m->dlen) {
                *used = k + j;
                return 1;
            }
            m->match = j;
            *used = n;
            return 0;
        }
        i = k + 1;
    }
    if ((rc = emit(m, p + start, n - start)))
        return rc;
    *used = n;
    return 0;
}

static int feed(mp_t *m, const char *p, size_t n)
{
    int rc;
    while (n) {
        size_t used = 1;
        switch (m->st) {
        case PRE:
        case BODY: {
            rc = scan(m, p, n, &used);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                if (m->st == BODY && (rc = part_end(m)))
                    return rc;
                m->st = AFTER;
            }
            break;
        }
        case AFTER:
            if (*p == '-')
                m->st = AFTER_DASH;
            else if (*p == '\r')
                m->st = AFTER_CR;
            else if (*p != ' ' && *p != '\t')
                return fail(m, DYN_EBADENCODING, "a malformed boundary line");
            break;
        case AFTER_DASH:
            if (*p != '-')
                return fail(m, DYN_EBADENCODING, "a malformed close boundary");
            m->st = EPILOGUE;
            return 0;
        case AFTER_CR:
            if (*p != '\n')
                return fail(m, DYN_EBADENCODING, "a boundary line without CRLF");
            m->st = HEADERS;
            m->hlen = 0;
            m->hterm = 2; /* the boundary line's CRLF: an empty first line ends the block */
            break;
        case HEADERS: {
            /* Copy up to the end of the block (or of the piece), watching for CRLF CRLF. */
            static const char term[] = "\r\n\r\n";
            used = 0;
            while (used < n && m->hterm < 4) {
                char c = p[used++];
                if (m->hlen == m->lim->max_header_size)
                    return fail(m, DYN_ELIMIT, "a part header block larger than %u bytes",
                                m->lim->max_header_size);
                m->hbuf[m->hlen++] = c;
                m->hterm = c == term[m->hterm] ? m->hterm + 1 : c == '\r';
            }
            if (m->hterm == 4) {
                if ((rc = part_begin(m)))
                    return rc;
                m->st = BODY;
            }
            break;
        }
        case EPILOGUE:
            return 0;
        }
        p += used;
        n -= used;
    }
    return 0;
}

int dyn__multipart_read(dyn_arena_t *a, const char *boundary, dyn__read_fn rd, void *rarg,
                        const dyn__mp_limits_t *lim, dyn_map_t *params, dyn__upload_t **uploads,
                        char *err, size_t errlen)
{
    mp_t m = {.a = a,
              .lim = lim,
              .params = params,
              .uploads = uploads,
              .err = err,
              .errlen = errlen,
              .st = PRE,
              .match = 2};
    size_t blen = strlen(boundary);
    if (!dyn__mp_boundary_ok(boundary, blen))
        return fail(&m, DYN_EBADENCODING, "an invalid multipart boundary");
    char *delim = dyn_arena_printf(a, "\r\n--%s", boundary);
    m.hbuf = dyn_arena_alloc(a, lim->max_header_size ? lim->max_header_size : 1);
    char *buf = dyn_arena_alloc(a, READ_SIZE);
    if (!delim || !m.hbuf || !buf)
        return ACT_ENOMEM;
    m.delim = delim;
    m.dlen = blen + 4;
    uint64_t total = 0;
    while (m.st != EPILOGUE) {
        ssize_t n = rd(rarg, buf, READ_SIZE);
        if (n < 0)
            return n == HTTP_ETOOLARGE ? fail(&m, (int)n, "a body larger than allowed") : (int)n;
        if (n == 0)
            return fail(&m, DYN_EBADENCODING, "the body ended before its close boundary");
        total += (uint64_t)n;
        if (total > lim->max_body)
            return fail(&m, HTTP_ETOOLARGE, "a body larger than %llu bytes",
                        (unsigned long long)lim->max_body);
        int rc = feed(&m, buf, (size_t)n);
        if (rc)
            return rc;
    }
    return 0;
}
