/*
 * Several Dynamos in one process under load: while clients hammer two Dynamos, one of them
 * crashes requests, loses its server to a kill and is stopped; the other answers every request,
 * crashing routes included, without a single connection error.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"
#include "dynamo/dynamo.h"

static dyn_conn_t *root(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_sprintf(conn, "hello from %s", dyn_conn_dynamo_name(conn)));
}

static dyn_conn_t *crash(dyn_conn_t *conn)
{
    (void)conn;
    act_failf(ACT_CRASH, "on purpose");
}

DYN_ROUTER(load_router, DYN_GET("/", root), DYN_GET("/crash", crash));

static const dyn_dynamo_t dyn_a = {.name = "load_a", .endpoint = &load_router, .env = DYN_ENV_PROD};
static const dyn_dynamo_t dyn_b = {.name = "load_b", .endpoint = &load_router, .env = DYN_ENV_PROD};

#define PER_CLIENT 1500

typedef struct client {
    uint16_t port;
    const char *name;
    bool must_all_succeed;
    _Atomic int ok, crashed, wrong, errors;
} client_t;

static _Atomic bool stop_clients;

/* Keep-alive requests, alternating / and /crash; a connection error reconnects (counted). */
static void *client_main(void *arg)
{
    client_t *c = arg;
    char want[64];
    snprintf(want, sizeof want, "hello from %s", c->name);
    hu_conn_t *conn = NULL;
    for (int i = 0; i < PER_CLIENT && !atomic_load(&stop_clients); i++) {
        if (!conn && !(conn = hu_try_connect(c->port))) {
            atomic_fetch_add(&c->errors, 1);
            usleep(1000);
            continue;
        }
        bool crash_req = i % 3 == 2;
        const char *req = crash_req ? "GET /crash HTTP/1.1\r\nHost: x\r\n\r\n"
                                    : "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        hu_resp_t r;
        if (hu_send(conn, req, -1) != 0 || hu_read(conn, &r, false) != 0) {
            atomic_fetch_add(&c->errors, 1);
            hu_close(conn);
            conn = NULL;
            continue;
        }
        if (crash_req && r.status == 500)
            atomic_fetch_add(&c->crashed, 1);
        else if (!crash_req && r.status == 200 && strcmp(r.body, want) == 0)
            atomic_fetch_add(&c->ok, 1);
        else
            atomic_fetch_add(&c->wrong, 1);
        hu_resp_free(&r);
    }
    if (conn)
        hu_close(conn);
    act_thread_detach();
    return NULL;
}

TestSuite(dynamos, .init = hu_init, .fini = hu_fini, .timeout = TMO(120));

Test(dynamos, one_dynamo_failing_leaves_the_other_serving_every_request)
{
    act_report_set(act_report_silent, NULL);
    act_pid_t sa, sb;
    cr_assert_eq(dyn_start_link(&dyn_a, &sa), 0);
    cr_assert_eq(dyn_start_link(&dyn_b, &sb), 0);
    client_t clients[4] = {
        {.port = dyn_port("load_a"), .name = "load_a"},
        {.port = dyn_port("load_a"), .name = "load_a"},
        {.port = dyn_port("load_b"), .name = "load_b", .must_all_succeed = true},
        {.port = dyn_port("load_b"), .name = "load_b", .must_all_succeed = true},
    };
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, client_main, &clients[i]), 0);
    usleep(MS(150) * 1000);
    act_exit(act_whereis("load_a.http"),
             ACT_KILL); /* a's server dies; its supervisor restarts it */
    usleep(MS(150) * 1000);
    cr_assert_eq(dyn_stop("load_a", MS(10000)), 0); /* then a stops altogether */
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        client_t *c = &clients[i];
        cr_assert_eq(atomic_load(&c->wrong), 0, "%s: wrong answers", c->name);
        if (c->must_all_succeed) {
            cr_assert_eq(atomic_load(&c->errors), 0, "%s: connection errors", c->name);
            cr_assert_eq(atomic_load(&c->ok) + atomic_load(&c->crashed), PER_CLIENT);
            cr_assert_eq(atomic_load(&c->crashed), PER_CLIENT / 3);
        }
    }
    dyn_info_t info;
    cr_assert_eq(dyn_info("load_b", &info), 0);
    cr_assert_eq(info.crashes, 2 * (PER_CLIENT / 3));
    cr_assert_eq(dyn_stop("load_b", MS(10000)), 0);
}
