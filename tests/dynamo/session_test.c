/*
 * Sessions: the value encoding against hostile bytes, both stores through the plug over
 * several requests (a cookie jar carried from response to request), tampering, rotation,
 * renew/drop/ignore, limits, the store server's expiry, and signed and encrypted cookies.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dyn_util.h"
#include "dynamo/fetch.h"
#include "dynamo/session.h"
#include "session_int.h"

/* ---- the encoding ------------------------------------------------------------------------- */

static dyn_arena_t *arena;

static void codec_init(void)
{
    arena = dyn_arena_new();
}

static void codec_fini(void)
{
    dyn_arena_free(arena);
}

TestSuite(session_codec, .init = codec_init, .fini = codec_fini, .timeout = TMO(30));

static dyn_buf_t encode(const dyn_map_t *m)
{
    dyn_buf_t b;
    dyn_buf_init(&b, arena, 64);
    cr_assert_eq(dyn__term_encode(&b, m, NULL), 0);
    return b;
}

Test(session_codec, every_value_type_round_trips_in_order)
{
    dyn_map_t *m = dyn_map_new(arena);
    dyn_list_t *l = dyn_list_new(arena, 0);
    dyn_list_push(l, dyn_vint(1));
    dyn_list_push(l, dyn_vstr("two"));
    dyn_list_push(l, dyn_vnull());
    dyn_map_t *inner = dyn_map_new(arena);
    dyn_map_put(inner, "deep", dyn_vbool(false));
    dyn_map_put(m, "zeta", dyn_vint(INT64_MIN));
    dyn_map_put(m, "alpha", dyn_vint(INT64_MAX));
    dyn_map_put(m, "neg", dyn_vint(-1));
    dyn_map_put(m, "t", dyn_vbool(true));
    dyn_map_put(m, "pi", dyn_vfloat(3.25));
    dyn_map_put(m, "negzero", dyn_vfloat(-0.0));
    dyn_map_put(m, "inf", dyn_vfloat(INFINITY));
    dyn_map_put(m, "bin", dyn_vstrn("a\0b", 3));
    dyn_map_put(m, "", dyn_vstr("empty key"));
    dyn_map_put(m, "list", dyn_vlist(l));
    dyn_map_put(m, "map", dyn_vmap(inner));
    dyn_buf_t b = encode(m);
    dyn_map_t *back;
    cr_assert_eq(dyn__term_decode(arena, b.data, b.len, NULL, &back), 0);
    dyn_value_t vm = dyn_vmap(m), vb = dyn_vmap(back);
    cr_assert(dyn_value_equal(&vm, &vb));
    dyn_str_t k;
    const dyn_value_t *v;
    dyn_map_at(back, 0, &k, &v);
    cr_assert_str_eq(k.ptr, "zeta", "order kept");
    cr_assert(signbit(dyn_map_get(back, "negzero")->f));
    cr_assert_eq(dyn_map_get(back, "bin")->s.len, 3);
    /* NaN is kept too (not equal to itself, so checked apart) */
    dyn_map_t *n = dyn_map_new(arena);
    dyn_map_put(n, "nan", dyn_vfloat(NAN));
    b = encode(n);
    cr_assert_eq(dyn__term_decode(arena, b.data, b.len, NULL, &back), 0);
    cr_assert(isnan(dyn_map_get(back, "nan")->f));
}

Test(session_codec, pointers_cannot_be_encoded_and_are_named)
{
    dyn_map_t *m = dyn_map_new(arena);
    dyn_map_t *user = dyn_map_new(arena);
    static int x;
    dyn_map_put(user, "avatar", dyn_vptr(arena, &x, NULL));
    dyn_map_put(m, "user", dyn_vmap(user));
    dyn_buf_t b;
    dyn_buf_init(&b, arena, 64);
    const char *bad = NULL;
    cr_assert_eq(dyn__term_encode(&b, m, &bad), ACT_EBADARG);
    cr_assert_str_eq(bad, "user.avatar");
    dyn_value_t copy, pv = dyn_vmap(m);
    cr_assert_eq(dyn__value_copy(arena, &pv, &copy), ACT_EBADARG);
}

Test(session_codec, hostile_bytes_are_refused_never_followed)
{
    dyn_map_t *m = dyn_map_new(arena);
    dyn_map_put(m, "user_id", dyn_vint(42));
    dyn_map_put(m, "name", dyn_vstr("José"));
    dyn_list_t *l = dyn_list_new(arena, 0);
    dyn_list_push(l, dyn_vfloat(1.5));
    dyn_map_put(m, "l", dyn_vlist(l));
    dyn_buf_t b = encode(m);
    dyn_map_t *out;
    /* every truncation, every extension */
    for (size_t n = 0; n < b.len; n++)
        cr_assert_neq(dyn__term_decode(arena, b.data, n, NULL, &out), 0, "cut at %zu", n);
    char *longer = dyn_arena_alloc(arena, b.len + 1);
    memcpy(longer, b.data, b.len);
    longer[b.len] = 'n';
    cr_assert_eq(dyn__term_decode(arena, longer, b.len + 1, NULL, &out), -EBADMSG);
    /* every single byte changed: an error or another valid map, never a crash */
    for (size_t i = 0; i < b.len; i++)
        for (int v = 0; v < 256; v += 7) {
            char *t = dyn_arena_alloc(arena, b.len);
            memcpy(t, b.data, b.len);
            t[i] = (char)v;
            (void)dyn__term_decode(arena, t, b.len, NULL, &out);
        }
    struct {
        const char *bytes;
        size_t len;
        int want;
    } bad[] = {
        {"", 0, -EBADMSG},
        {"\x02m\x00", 3, -EBADMSG},               /* version */
        {"\x01l\x00", 3, -EBADMSG},               /* not a map */
        {"\x01m\x05", 3, -EBADMSG},               /* count past the end */
        {"\x01m\x01\x03k", 5, -EBADMSG},          /* key past the end */
        {"\x01m\x01\x02k\x00i\x00", 8, -EBADMSG}, /* NUL in a key */
        {"\x01m\x01\x01ks\x7f", 7, -EBADMSG},     /* string past the end */
        {"\x01m\x01\x01kx", 6, -EBADMSG},         /* unknown tag */
        {"\x01m\x01\x01kd\x00\x00", 8, -EBADMSG}, /* short double */
        {"\x01m\x01\x01ki\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 16, -EBADMSG}, /* > 64 bits */
        {"\x01m\x01\x01ki\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80", 17, -EBADMSG},
        {"\x01m\xff\xff\xff\xff\x0f", 7, -EBADMSG}, /* a 4-billion-entry map in 7 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(dyn__term_decode(arena, bad[i].bytes, bad[i].len, NULL, &out), bad[i].want,
                     "case %zu", i);
    /* depth and item limits */
    char deep[64] = "\x01m\x01\x01k";
    size_t o = 5;
    for (int i = 0; i < 20; i++) {
        deep[o++] = 'l';
        deep[o++] = 1;
    }
    deep[o++] = 'n';
    cr_assert_eq(dyn__term_decode(arena, deep, o, NULL, &out), DYN_ELIMIT);
    dyn__term_limits_t lim = {.max_depth = 32};
    cr_assert_eq(dyn__term_decode(arena, deep, o, &lim, &out), 0);
    char many[300] = "\x01m\x01\x01kl\x80\x02"; /* a list of 256 nulls */
    memset(many + 8, 'n', 256);
    cr_assert_eq(dyn__term_decode(arena, many, 264, NULL, &out), 0);
    lim = (dyn__term_limits_t){.max_items = 100};
    cr_assert_eq(dyn__term_decode(arena, many, 264, &lim, &out), DYN_ELIMIT);
}

/* ---- the plug ----------------------------------------------------------------------------- */

TestSuite(session, .init = dy_init, .fini = dy_fini, .timeout = TMO(60));

#define SECRET_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define SECRET_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static dyn_conn_t *fetch(dyn_conn_t *conn)
{
    return dyn_fetch(conn, DYN_FETCH_SESSION);
}

static dyn_conn_t *r_put(dyn_conn_t *conn)
{
    conn = dyn_session_put_str(conn, dyn_param(conn, "key"), dyn_param(conn, "value"));
    return dyn_resp(conn, 200, "put");
}

static dyn_conn_t *r_get(dyn_conn_t *conn)
{
    const char *v = dyn_session_get_str(conn, dyn_param(conn, "key"));
    return dyn_resp(conn, 200, v ? v : "(none)");
}

static dyn_conn_t *r_count(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_sprintf(conn, "%zu", dyn_map_len(dyn_session(conn))));
}

static dyn_conn_t *r_delete(dyn_conn_t *conn)
{
    return dyn_resp(dyn_session_delete(conn, dyn_param(conn, "key")), 200, "deleted");
}

static dyn_conn_t *r_clear(dyn_conn_t *conn)
{
    return dyn_resp(dyn_session_clear(conn), 200, "cleared");
}

static dyn_conn_t *r_renew(dyn_conn_t *conn)
{
    return dyn_resp(dyn_session_put_int(dyn_session_renew(conn), "user_id", 42), 200, "renewed");
}

static dyn_conn_t *r_drop(dyn_conn_t *conn)
{
    return dyn_resp(dyn_session_put_str(dyn_session_drop(conn), "x", "y"), 200, "dropped");
}

static dyn_conn_t *r_ignore(dyn_conn_t *conn)
{
    return dyn_resp(dyn_session_put_str(dyn_session_ignore(conn), "x", "y"), 200, "ignored");
}

static dyn_conn_t *r_big(dyn_conn_t *conn)
{
    size_t n = (size_t)atoi(dyn_param(conn, "n"));
    char *s = dyn_alloc(conn, n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + (i * 7919) % 26); /* not compressible, not that it matters */
    s[n] = '\0';
    return dyn_resp(dyn_session_put_str(conn, "big", s), 200, "big");
}

static dyn_conn_t *r_ptr(dyn_conn_t *conn)
{
    static int x;
    return dyn_resp(dyn_session_put(conn, "p", dyn_vptr(dyn_conn_arena(conn), &x, NULL)), 200,
                    "ptr");
}

static dyn_conn_t *r_nofetch(dyn_conn_t *conn)
{
    const char *v = dyn_session_get_str(conn, "user_id");
    return dyn_resp(conn, 200, v ? v : "(none)");
}

DYN_ROUTER(nofetch_router, DYN_GET("/nofetch", r_nofetch));
DYN_ROUTER(session_router, DYN_PREPARE(fetch), DYN_GET("/put/:key/:value", r_put),
           DYN_GET("/get/:key", r_get), DYN_GET("/count", r_count),
           DYN_GET("/delete/:key", r_delete), DYN_GET("/clear", r_clear),
           DYN_GET("/renew", r_renew), DYN_GET("/drop", r_drop), DYN_GET("/ignore", r_ignore),
           DYN_GET("/big/:n", r_big), DYN_GET("/ptr", r_ptr));

static dyn_session_opts_t cookie_opts = {.key = "_t_session", .cookie = {.max_age = 3600}};
static const dyn_plug_spec_t cookie_plugs[] = {DYN_PLUG(dyn_plug_session, &cookie_opts)};

static dyn_dynamo_t with_a = {.name = "a",
                              .endpoint = &session_router,
                              .env = DYN_ENV_TEST,
                              .secret = SECRET_A,
                              DYN_PLUGS(cookie_plugs)};
static dyn_dynamo_t rotated = {.name = "b",
                               .endpoint = &session_router,
                               .env = DYN_ENV_TEST,
                               .secret = SECRET_B,
                               .previous_secrets = (const char *const[]){SECRET_A, NULL},
                               DYN_PLUGS(cookie_plugs)};
static dyn_dynamo_t with_b = {.name = "c",
                              .endpoint = &session_router,
                              .env = DYN_ENV_TEST,
                              .secret = SECRET_B,
                              DYN_PLUGS(cookie_plugs)};
static dyn_dynamo_t nofetch = {.name = "n",
                               .endpoint = &nofetch_router,
                               .env = DYN_ENV_TEST,
                               .secret = SECRET_A,
                               DYN_PLUGS(cookie_plugs)};

/* The cookie jar: the session cookie's value as the last response set it. */
static char jar[8192];

static dyn_conn_t *req(const dyn_dynamo_t *d, const char *target)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, target);
    if (jar[0])
        dyn_test_put_req_header(c, "cookie", dyn_sprintf(c, "other=1; _t_session=%s", jar));
    return dyn_test_run_dynamo(d, c);
}

/* The Set-Cookie header for the session cookie, or NULL. */
static const char *set_cookie(dyn_conn_t *c)
{
    size_t n;
    const http_header_t *h = dyn_conn_resp_headers(c, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, "set-cookie") == 0 && strncmp(h[i].value, "_t_session=", 11) == 0)
            return h[i].value;
    return NULL;
}

/* Runs a request, keeps the cookie it sets, and returns its body (copied). */
static char *step(const dyn_dynamo_t *d, const char *target, int want_status, bool want_cookie)
{
    dyn_conn_t *c = req(d, target);
    cr_assert_eq(dyn_test_status(c), want_status, "%s: %d (%s)", target, dyn_test_status(c),
                 dyn_test_body(c, NULL));
    const char *sc = set_cookie(c);
    cr_assert_eq(sc != NULL, want_cookie, "%s: Set-Cookie %s", target, sc ? sc : "(none)");
    if (sc) {
        const char *v = sc + 11, *end = strchr(v, ';');
        snprintf(jar, sizeof jar, "%.*s", (int)(end - v), v);
    }
    char *body = strdup(dyn_test_body(c, NULL));
    dyn_test_conn_free(c);
    return body;
}

static void expect_body(const dyn_dynamo_t *d, const char *target, const char *body,
                        bool want_cookie)
{
    char *b = step(d, target, 200, want_cookie);
    cr_assert_str_eq(b, body, "%s", target);
    free(b);
}

DY_TEST(session, survives_requests_and_is_written_only_when_changed)
{
    expect_body(&with_a, "/get/user", "(none)", false);
    expect_body(&with_a, "/put/user/jose", "put", true);
    cr_assert(jar[0]);
    cr_assert_null(strstr(jar, "jose"), "the cookie store encrypts");
    expect_body(&with_a, "/get/user", "jose", false);
    expect_body(&with_a, "/put/theme/dark", "put", true);
    expect_body(&with_a, "/get/user", "jose", false);
    expect_body(&with_a, "/get/theme", "dark", false);
    expect_body(&with_a, "/delete/theme", "deleted", true);
    expect_body(&with_a, "/get/theme", "(none)", false);
    expect_body(&with_a, "/delete/absent", "deleted", false); /* nothing changed */
    expect_body(&with_a, "/clear", "cleared", true);
    expect_body(&with_a, "/count", "0", false);
}

DY_TEST(session, cookie_attributes_follow_the_options)
{
    dyn_conn_t *c = req(&with_a, "/put/a/b");
    const char *sc = set_cookie(c);
    cr_assert(sc);
    cr_assert(strstr(sc, "; Path=/"), "%s", sc);
    cr_assert(strstr(sc, "; Max-Age=3600"), "%s", sc);
    cr_assert(strstr(sc, "; HttpOnly"), "%s", sc);
    cr_assert(strstr(sc, "; SameSite=Lax"), "%s", sc);
    cr_assert_null(strstr(sc, "; Secure"), "%s", sc);
    dyn_test_conn_free(c);
    cookie_opts.cookie = (dyn_cookie_opts_t){
        .secure = true, .same_site = DYN_SAME_SITE_STRICT, .domain = "example.com", .path = "/app"};
    c = req(&with_a, "/put/a/b");
    sc = set_cookie(c);
    cr_assert(strstr(sc, "; Secure") && strstr(sc, "; SameSite=Strict") &&
                  strstr(sc, "; Domain=example.com") && strstr(sc, "; Path=/app"),
              "%s", sc);
    cr_assert_null(strstr(sc, "Max-Age"), "a browser-session cookie: %s", sc);
    dyn_test_conn_free(c);
}

DY_TEST(session, tampered_truncated_foreign_or_garbage_cookies_are_an_empty_session)
{
    expect_body(&with_a, "/put/user/jose", "put", true);
    char good[8192];
    snprintf(good, sizeof good, "%s", jar);
    size_t n = strlen(good);
    const char *variants[] = {"garbage", "", "A", "%00%ff", "\"quoted\"", "a.b.c"};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        snprintf(jar, sizeof jar, "%s", variants[i]);
        expect_body(&with_a, "/get/user", "(none)", false);
    }
    for (size_t cut = 0; cut < n; cut += 7) {
        snprintf(jar, sizeof jar, "%.*s", (int)cut, good);
        expect_body(&with_a, "/get/user", "(none)", false);
    }
    for (size_t i = 0; i < n; i += 5) {
        snprintf(jar, sizeof jar, "%s", good);
        jar[i] = jar[i] == 'A' ? 'B' : 'A';
        expect_body(&with_a, "/get/user", "(none)", false);
    }
    /* made with another secret */
    snprintf(jar, sizeof jar, "%s", good);
    expect_body(&with_b, "/get/user", "(none)", false);
    /* and the genuine one still reads */
    expect_body(&with_a, "/get/user", "jose", false);
}

DY_TEST(session, previous_secrets_still_read_and_new_cookies_use_the_current_one)
{
    expect_body(&with_a, "/put/user/jose", "put", true);
    expect_body(&rotated, "/get/user", "jose", false);
    expect_body(&rotated, "/put/theme/dark", "put", true); /* rewritten with secret B */
    expect_body(&with_b, "/get/user", "jose", false);
    expect_body(&with_a, "/get/user", "(none)", false);
}

DY_TEST(session, renew_drop_and_ignore)
{
    expect_body(&with_a, "/put/user/jose", "put", true);
    char before[8192];
    snprintf(before, sizeof before, "%s", jar);
    expect_body(&with_a, "/renew", "renewed", true);
    cr_assert_str_neq(jar, before);
    expect_body(&with_a, "/get/user", "jose", false);
    expect_body(&with_a, "/get/user_id", "(none)", false); /* an int: not a string */
    expect_body(&with_a, "/count", "2", false);
    dyn_conn_t *c = req(&with_a, "/drop");
    const char *sc = set_cookie(c);
    cr_assert(sc && strncmp(sc, "_t_session=;", 12) == 0 && strstr(sc, "Max-Age=0"), "%s", sc);
    dyn_test_conn_free(c);
    expect_body(&with_a, "/ignore", "ignored", false);
    jar[0] = '\0';
    c = req(&with_a, "/drop");
    cr_assert_null(set_cookie(c), "nothing to delete");
    dyn_test_conn_free(c);
}

DY_TEST(session, reading_before_the_fetch_names_it)
{
    dyn_conn_t *c = req(&nofetch, "/nofetch");
    cr_assert_eq(dyn_test_status(c), 500);
    const dyn_failure_t *f = dyn_conn_failure(c);
    cr_assert(f && f->reason == DYN_ENOTFETCHED);
    cr_assert(strstr(f->text, "DYN_FETCH_SESSION"), "%s", f->text);
    dyn_test_conn_free(c);
}

DY_TEST(session, too_large_or_pointer_values_fail_clearly)
{
    dyn_conn_t *c = req(&with_a, "/big/3000");
    cr_assert_eq(dyn_test_status(c), 200);
    dyn_test_conn_free(c);
    c = req(&with_a, "/big/5000");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_null(set_cookie(c), "never a cookie the browser would drop");
    cr_assert(strstr(dyn_conn_failure(c)->text, "past its limit of 4096"), "%s",
              dyn_conn_failure(c)->text);
    dyn_test_conn_free(c);
    c = req(&with_a, "/ptr");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(strstr(dyn_conn_failure(c)->text, "\"p\" holds a pointer"), "%s",
              dyn_conn_failure(c)->text);
    dyn_test_conn_free(c);
}

DY_TEST(session, a_dynamo_without_a_secret_does_not_start)
{
    static const dyn_dynamo_t none = {.name = "nosecret",
                                      .endpoint = &session_router,
                                      .secret = "short",
                                      DYN_PLUGS(cookie_plugs)};
    cr_assert_eq(dyn_start_link(&none, NULL), ACT_ECHILDSTART);
    cr_assert(dy_wait_report("a secret of 64 bytes or more", MS(2000)));
}

/* ---- signed-only cookie store ------------------------------------------------------------- */

static const dyn_cookie_store_opts_t signed_store = {.signed_only = true};
static dyn_session_opts_t signed_opts = {.key = "_t_session", .store_opts = &signed_store};
static const dyn_plug_spec_t signed_plugs[] = {DYN_PLUG(dyn_plug_session, &signed_opts)};
static const dyn_dynamo_t signed_dynamo = {
    .name = "s", .endpoint = &session_router, .secret = SECRET_A, DYN_PLUGS(signed_plugs)};

DY_TEST(session, signed_only_cookies_are_readable_but_not_changeable)
{
    expect_body(&signed_dynamo, "/put/user/jose", "put", true);
    /* the data part is base64url of the encoding: readable */
    char raw[4096];
    ssize_t n = dyn_base64url_decode(raw, jar, (size_t)(strchr(jar, '.') - jar));
    cr_assert_gt(n, 0);
    cr_assert(memmem(raw, (size_t)n, "jose", 4));
    expect_body(&signed_dynamo, "/get/user", "jose", false);
    jar[3] = jar[3] == 'x' ? 'y' : 'x';
    expect_body(&signed_dynamo, "/get/user", "(none)", false);
    /* an encrypted cookie is not a signed one */
    jar[0] = '\0';
    expect_body(&with_a, "/put/user/jose", "put", true);
    expect_body(&signed_dynamo, "/get/user", "(none)", false);
}

/* ---- the server store --------------------------------------------------------------------- */

static dyn_session_opts_t server_opts = {.key = "_t_session", .store = &dyn_session_server_store};
static const dyn_plug_spec_t server_plugs[] = {DYN_PLUG(dyn_plug_session, &server_opts)};
static const dyn_dynamo_t server_dynamo = {
    .name = "srv", .endpoint = &session_router, .secret = SECRET_A, DYN_PLUGS(server_plugs)};

static act_pid_t start_store(int64_t ttl_ms, int64_t sweep_ms, uint32_t max)
{
    static dyn_session_server_opts_t o;
    o = (dyn_session_server_opts_t){.ttl_ms = ttl_ms, .sweep_ms = sweep_ms, .max_sessions = max};
    act_pid_t pid;
    cr_assert_eq(dyn_session_server_start_link(&o, &pid), 0);
    return pid;
}

DY_TEST(session, server_store_keeps_only_an_id_in_the_cookie)
{
    act_pid_t store = start_store(0, 0, 0);
    expect_body(&server_dynamo, "/put/user/jose", "put", true);
    cr_assert_lt(strlen(jar), 120, "an id, not the values: %s", jar);
    cr_assert_eq(dyn_session_server_count(NULL), 1);
    expect_body(&server_dynamo, "/get/user", "jose", false);
    expect_body(&server_dynamo, "/put/theme/dark", "put", true);
    cr_assert_eq(dyn_session_server_count(NULL), 1, "the same session updated");
    expect_body(&server_dynamo, "/get/theme", "dark", false);
    /* renew: a new id, the old one gone from the store */
    char old[8192];
    snprintf(old, sizeof old, "%s", jar);
    expect_body(&server_dynamo, "/renew", "renewed", true);
    cr_assert_str_neq(jar, old);
    cr_assert_eq(dyn_session_server_count(NULL), 1);
    expect_body(&server_dynamo, "/get/user", "jose", false);
    char renewed[8192];
    snprintf(renewed, sizeof renewed, "%s", jar);
    snprintf(jar, sizeof jar, "%s", old);
    expect_body(&server_dynamo, "/get/user", "(none)", false);
    /* garbage and forged ids never reach a session */
    snprintf(jar, sizeof jar, "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect_body(&server_dynamo, "/get/user", "(none)", false);
    /* drop deletes it */
    snprintf(jar, sizeof jar, "%s", renewed);
    expect_body(&server_dynamo, "/drop", "dropped", true);
    cr_assert_eq(dyn_session_server_count(NULL), 0);
    cr_assert_eq(act_server_stop(store, ACT_SHUTDOWN, MS(2000)), 0);
}

DY_TEST(session, server_store_expires_idle_sessions)
{
    act_pid_t store = start_store(150, 20, 0);
    expect_body(&server_dynamo, "/put/user/jose", "put", true);
    cr_assert_eq(dyn_session_server_count(NULL), 1);
    int64_t waited = 0;
    while (dyn_session_server_count(NULL) != 0 && waited < MS(5000)) {
        usleep(10000);
        waited += 10;
    }
    cr_assert_eq(dyn_session_server_count(NULL), 0, "swept after its time to live");
    expect_body(&server_dynamo, "/get/user", "(none)", false);
    cr_assert_eq(act_server_stop(store, ACT_SHUTDOWN, MS(2000)), 0);
}

DY_TEST(session, server_store_full_or_gone)
{
    act_pid_t store = start_store(0, 0, 2);
    expect_body(&server_dynamo, "/put/a/1", "put", true);
    jar[0] = '\0';
    expect_body(&server_dynamo, "/put/a/2", "put", true);
    jar[0] = '\0';
    char *b = step(&server_dynamo, "/put/a/3", 503, false);
    free(b);
    cr_assert_eq(dyn_session_server_count(NULL), 2);
    cr_assert_eq(act_server_stop(store, ACT_SHUTDOWN, MS(2000)), 0);
    /* no store: reads are empty, writes fail the request */
    expect_body(&server_dynamo, "/count", "0", false);
    b = step(&server_dynamo, "/put/a/4", 500, false);
    free(b);
}

/* ---- signed and encrypted cookies --------------------------------------------------------- */

static dyn_conn_t *r_set_signed(dyn_conn_t *conn)
{
    conn = dyn_put_resp_cookie_signed(conn, "remember", "user-42", NULL);
    conn = dyn_put_resp_cookie_encrypted(conn, "secret", "card 1234", NULL);
    return dyn_resp(conn, 200, "set");
}

static dyn_conn_t *r_read_signed(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_COOKIES);
    const char *s = dyn_req_cookie_signed(conn, "remember");
    const char *e = dyn_req_cookie_encrypted(conn, "secret");
    const char *swapped = dyn_req_cookie_signed(conn, "other");
    return dyn_resp(
        conn, 200,
        dyn_sprintf(conn, "%s|%s|%s", s ? s : "-", e ? e : "-", swapped ? swapped : "-"));
}

DYN_ROUTER(signed_cookie_router, DYN_GET("/set", r_set_signed), DYN_GET("/read", r_read_signed));
static const dyn_dynamo_t cookie_dynamo = {
    .name = "ck", .endpoint = &signed_cookie_router, .secret = SECRET_A};

static const char *cookie_value(dyn_conn_t *c, const char *name)
{
    size_t n;
    const http_header_t *h = dyn_conn_resp_headers(c, &n);
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, "set-cookie") == 0 && strncmp(h[i].value, name, nl) == 0 &&
            h[i].value[nl] == '=') {
            const char *v = h[i].value + nl + 1;
            return dyn_sprintf(c, "%.*s", (int)(strchr(v, ';') - v), v);
        }
    return NULL;
}

static char *read_with(const char *cookie_header)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/read");
    dyn_test_put_req_header(c, "cookie", cookie_header);
    c = dyn_test_run_dynamo(&cookie_dynamo, c);
    cr_assert_eq(dyn_test_status(c), 200);
    char *b = strdup(dyn_test_body(c, NULL));
    dyn_test_conn_free(c);
    return b;
}

DY_TEST(session, signed_and_encrypted_cookies)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&cookie_dynamo, dyn_test_conn(HTTP_METHOD_GET, "/set"));
    char *s = strdup(cookie_value(c, "remember"));
    char *e = strdup(cookie_value(c, "secret"));
    dyn_test_conn_free(c);
    cr_assert_null(strstr(e, "1234"));
    char hdr[1024];
    snprintf(hdr, sizeof hdr, "remember=%s; secret=%s; other=%s", s, e, s);
    char *b = read_with(hdr);
    cr_assert_str_eq(b, "user-42|card 1234|-", "a value is bound to its cookie's name");
    free(b);
    s[strlen(s) - 2] ^= 1;
    e[5] ^= 1;
    snprintf(hdr, sizeof hdr, "remember=%s; secret=%s", s, e);
    b = read_with(hdr);
    cr_assert_str_eq(b, "-|-|-");
    free(b);
    b = read_with("remember=user-42; secret=card");
    cr_assert_str_eq(b, "-|-|-", "plain values are not signed ones");
    free(b);
    free(s);
    free(e);
}
