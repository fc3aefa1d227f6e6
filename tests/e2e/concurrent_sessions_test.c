/*
 * Sessions under concurrency, over real sockets: client threads hammer a Dynamo with two
 * schedulers, each with its own session, in both stores at once. Each thread's counter must
 * climb exactly one per request (no session ever sees another's values or loses a write), the
 * first signed cookies of every thread race for the keyring cache, and the store server ends
 * holding one session per thread. Runs in the TSan build too.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_util.h"
#include "dynamo/dynamo.h"

#define SECRET "concurrent-sessions-secret-concurrent-sessions-secret-concurrent!"
#define THREADS 4
#define ROUNDS 60

static int64_t live_before;

static dyn_conn_t *fetch(dyn_conn_t *conn)
{
    return dyn_fetch(conn, DYN_FETCH_SESSION);
}

static dyn_conn_t *inc(dyn_conn_t *conn)
{
    int64_t n = dyn_value_int(dyn_session_get(conn, "n"), 0) + 1;
    conn = dyn_session_put_int(conn, "n", n);
    conn = dyn_put_resp_cookie_signed(conn, "seen", dyn_sprintf(conn, "%lld", (long long)n), NULL);
    return dyn_resp(conn, 200, dyn_sprintf(conn, "%lld", (long long)n));
}

DYN_ROUTER(counter_router, DYN_PREPARE(fetch), DYN_GET("/inc", inc));

static const dyn_session_opts_t cookie_opts = {.key = "_c"};
static const dyn_session_opts_t server_opts = {.key = "_c", .store = &dyn_session_server_store};
static const dyn_plug_spec_t cookie_plugs[] = {DYN_PLUG(dyn_plug_session, &cookie_opts)};
static const dyn_plug_spec_t server_plugs[] = {DYN_PLUG(dyn_plug_session, &server_opts)};
static const dyn_dynamo_t by_cookie = {.name = "by_cookie",
                                       .endpoint = &counter_router,
                                       .secret = SECRET,
                                       .env = DYN_ENV_TEST,
                                       .schedulers = 2,
                                       DYN_PLUGS(cookie_plugs)};
static const dyn_dynamo_t by_server = {.name = "by_server",
                                       .endpoint = &counter_router,
                                       .secret = SECRET,
                                       .env = DYN_ENV_TEST,
                                       .schedulers = 2,
                                       DYN_PLUGS(server_plugs)};

static void init(void)
{
    live_before = act_mem_live_blocks();
    act_config_t c = {.schedulers = 2};
    cr_assert_eq(act_system_start(&c), 0);
    act_report_set(act_report_silent, NULL);
}

static void fini(void)
{
    if (act_system_running())
        act_system_stop();
    act_report_set(NULL, NULL);
}

TestSuite(concurrent_sessions, .init = init, .fini = fini, .timeout = TMO(120));

typedef struct client {
    uint16_t port;
    pthread_barrier_t *start;
    int errors;
    char why[256];
} client_t;

static void *run_client(void *arg)
{
    client_t *cl = arg;
    char jar[4096] = "";
    hu_conn_t *c = hu_try_connect(cl->port);
    pthread_barrier_wait(cl->start);
    if (!c) {
        cl->errors++;
        snprintf(cl->why, sizeof cl->why, "cannot connect");
        return NULL;
    }
    for (int i = 1; i <= ROUNDS; i++) {
        char req[4300];
        snprintf(req, sizeof req, "GET /inc HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n",
                 jar[0] ? "Cookie: _c=" : "", jar, jar[0] ? "\r\n" : "");
        hu_resp_t r;
        if (hu_send(c, req, -1) != 0 || hu_read(c, &r, false) != 0) {
            cl->errors++;
            snprintf(cl->why, sizeof cl->why, "round %d: no response", i);
            break;
        }
        if (r.status != 200 || atoi(r.body) != i) {
            cl->errors++;
            snprintf(cl->why, sizeof cl->why, "round %d: status %d, counter %s", i, r.status,
                     r.body);
        }
        /* The session cookie: the line of r.head that sets _c. */
        const char *sc = strstr(r.head, "\r\nset-cookie: _c=");
        if (sc) {
            const char *v = sc + 17, *end = strchr(v, ';');
            snprintf(jar, sizeof jar, "%.*s", (int)(end - v), v);
        }
        hu_resp_free(&r);
    }
    hu_close(c);
    return NULL;
}

static void hammer(uint16_t port)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    client_t cl[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        cl[i] = (client_t){.port = port, .start = &start};
        cr_assert_eq(pthread_create(&th[i], NULL, run_client, &cl[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(cl[i].errors, 0, "client %d: %s", i, cl[i].why);
}

Test(concurrent_sessions, every_client_keeps_its_own_count_in_both_stores)
{
    static const dyn_session_server_opts_t so = {0};
    act_pid_t store;
    cr_assert_eq(dyn_session_server_start_link(&so, &store), 0);
    cr_assert_eq(dyn_start_link(&by_cookie, NULL), 0);
    cr_assert_eq(dyn_start_link(&by_server, NULL), 0);
    hammer(dyn_port("by_cookie"));
    hammer(dyn_port("by_server"));
    cr_assert_eq(dyn_session_server_count(NULL), THREADS);
    cr_assert_eq(act_system_stop(), 0);
    cr_assert_eq(act_mem_live_blocks(), live_before, "%lld blocks leaked",
                 (long long)(act_mem_live_blocks() - live_before));
}
