/*
 * The CSRF plug and its tokens (csrf.h, Plug.CSRFProtection).
 *
 * The session holds the token as base64url text (32 random bytes, 43 characters); a masked
 * copy is base64url of mask (32 random bytes) followed by token XOR mask (86 characters).
 * Checking decodes exactly that length, unmasks, and compares all 32 bytes with CRYPTO_memcmp:
 * the time taken says nothing about how much of a guess was right.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "../conn_int.h"
#include "dynamo/crypto.h"
#include "dynamo/csrf.h"
#include "dynamo/fetch.h"
#include "dynamo/session.h"

#define TOKEN_BYTES 32
#define TOKEN_TEXT DYN_BASE64URL_LEN(TOKEN_BYTES)
#define MASKED_TEXT DYN_BASE64URL_LEN(2 * TOKEN_BYTES)
#define OPTS_KEY "dynamo.csrf"
#define SKIP_KEY "dynamo.csrf_skip"

static const dyn_csrf_opts_t defaults = {.session_key = "_csrf_token"};

static const char *session_key(const dyn_conn_t *conn)
{
    const dyn_value_t *v = dyn_conn_private(conn, OPTS_KEY);
    const dyn_csrf_opts_t *o = v && v->type == DYN_V_PTR ? v->p : &defaults;
    return o->session_key ? o->session_key : defaults.session_key;
}

/* The session's token (raw bytes) if it holds a well-formed one. */
static bool session_token(dyn_conn_t *conn, uint8_t out[TOKEN_BYTES])
{
    const char *t = dyn_session_get_str(conn, session_key(conn));
    return t && strlen(t) == TOKEN_TEXT && dyn_base64url_decode(out, t, TOKEN_TEXT) == TOKEN_BYTES;
}

const char *dyn_csrf_token(dyn_conn_t *conn)
{
    uint8_t token[TOKEN_BYTES], buf[2 * TOKEN_BYTES];
    if (!session_token(conn, token)) {
        char text[TOKEN_TEXT + 1];
        if (dyn_random_bytes(token, TOKEN_BYTES) != 0)
            dyn__conn_fail(conn, -EIO, "no random bytes for a CSRF token");
        dyn_base64url_encode(text, token, TOKEN_BYTES);
        conn = dyn_session_put_str(conn, session_key(conn), text);
    }
    if (dyn_random_bytes(buf, TOKEN_BYTES) != 0)
        dyn__conn_fail(conn, -EIO, "no random bytes for a CSRF mask");
    for (size_t i = 0; i < TOKEN_BYTES; i++)
        buf[TOKEN_BYTES + i] = token[i] ^ buf[i];
    char *out = dyn_alloc(conn, MASKED_TEXT + 1);
    dyn_base64url_encode(out, buf, sizeof buf);
    return out;
}

const char *dyn_csrf_input(dyn_conn_t *conn)
{
    /* base64url needs no HTML escaping */
    return dyn_sprintf(conn, "<input type=\"hidden\" name=\"_csrf_token\" value=\"%s\">",
                       dyn_csrf_token(conn));
}

dyn_conn_t *dyn_csrf_delete_token(dyn_conn_t *conn)
{
    return dyn_session_delete(conn, session_key(conn));
}

bool dyn_csrf_valid(dyn_conn_t *conn, const char *masked)
{
    uint8_t token[TOKEN_BYTES], buf[2 * TOKEN_BYTES + 3];
    if (!masked || strlen(masked) != MASKED_TEXT || !session_token(conn, token) ||
        dyn_base64url_decode(buf, masked, MASKED_TEXT) != 2 * TOKEN_BYTES)
        return false;
    for (size_t i = 0; i < TOKEN_BYTES; i++)
        buf[TOKEN_BYTES + i] ^= buf[i];
    return dyn_secure_compare(buf + TOKEN_BYTES, token, TOKEN_BYTES);
}

dyn_conn_t *dyn_csrf_skip(dyn_conn_t *conn)
{
    return dyn_put_private(conn, SKIP_KEY, dyn_vbool(true));
}

/* ---- the plug ----------------------------------------------------------------------------- */

static bool skipped(const dyn_conn_t *conn)
{
    return dyn_value_bool(dyn_conn_private(conn, SKIP_KEY), false);
}

static bool js_type(const char *ct)
{
    return ct && (strncasecmp(ct, "text/javascript", 15) == 0 ||
                  strncasecmp(ct, "application/javascript", 22) == 0);
}

/* Before send, for GETs: refuses JavaScript to requests that were not made by a script. */
static dyn_conn_t *no_cross_origin_js(dyn_conn_t *conn, void *arg)
{
    (void)arg;
    if (js_type(dyn_get_resp_header(conn, "content-type")) && !skipped(conn)) {
        const char *xhr = dyn_conn_req_header(conn, "x-requested-with");
        if (!xhr || strcmp(xhr, "XMLHttpRequest") != 0)
            dyn_raise(conn, 403,
                      "security: an embedded <script> tag on another site asked for JavaScript "
                      "this route serves (answer it to script requests only, or turn "
                      "allow_cross_origin_js on for it)");
    }
    return conn;
}

static dyn_conn_t *call(dyn_conn_t *conn, void *arg)
{
    const dyn_csrf_opts_t *o = arg ? arg : &defaults;
    dyn_arena_t *a = dyn_conn_arena(conn);
    if (arg)
        conn = dyn_put_private(conn, OPTS_KEY, dyn_vptr(a, (void *)o, NULL));
    http_method_t m = dyn_conn_method(conn);
    if (m == HTTP_METHOD_GET || m == HTTP_METHOD_HEAD || m == HTTP_METHOD_OPTIONS) {
        if (m == HTTP_METHOD_GET && !o->allow_cross_origin_js)
            conn = dyn_register_before_send(conn, no_cross_origin_js, NULL);
        return conn;
    }
    if (skipped(conn))
        return conn;
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    const char *sent = dyn_conn_req_header(conn, "x-csrf-token");
    if (!sent) {
        conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
        sent = dyn_param(conn, "_csrf_token");
    }
    if (dyn_csrf_valid(conn, sent))
        return conn;
    if (o->clear_session)
        return dyn_session_clear(dyn_session_ignore(conn));
    dyn_raise(conn, 403,
              "invalid CSRF (Cross Site Request Forgery) token: make sure the session cookie "
              "is sent and the session loaded, and that the request has a valid _csrf_token "
              "form field or x-csrf-token header");
}

const dyn_plug_t dyn_plug_csrf = {
    .name = "csrf",
    .call = call,
};
