/*
 * Dynamos over real sockets: start and stop, several side by side, embedded in a user's
 * supervisor, crashes that cost one request only, streaming, the registry, bad declarations.
 */
#include <string.h>
#include <unistd.h>

#include "client_util.h"
#include "dyn_util.h"

TestSuite(dynamo, .init = dy_init, .fini = dy_fini, .timeout = TMO(60));

static int dtor_count;
static void count_dtor(void *p)
{
    (void)p;
    __atomic_add_fetch(&dtor_count, 1, __ATOMIC_RELAXED);
}

static dyn_conn_t *root(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_sprintf(conn, "hello from %s", dyn_conn_dynamo_name(conn)));
}

static dyn_conn_t *crash(dyn_conn_t *conn)
{
    dyn_assign_ptr(conn, "res", &dtor_count, count_dtor);
    act_failf(ACT_CRASH, "crashed on purpose");
}

static dyn_conn_t *held(dyn_conn_t *conn)
{
    dyn_assign_ptr(conn, "res", &dtor_count, count_dtor);
    return dyn_resp(conn, 200, "held");
}

static dyn_conn_t *stream(dyn_conn_t *conn)
{
    conn = dyn_send_chunked(conn, 200);
    for (int i = 0; i < 3; i++)
        dyn_chunk_str(conn, dyn_sprintf(conn, "part%d ", i));
    if (dyn_param(conn, "crash") && strcmp(dyn_param(conn, "crash"), "yes") == 0)
        act_fail(ACT_CRASH);
    return conn;
}

static dyn_conn_t *big(dyn_conn_t *conn)
{
    conn = dyn_send_chunked(conn, 200);
    char piece[8192];
    memset(piece, 'z', sizeof piece);
    for (int i = 0; i < 256; i++) /* 2 MiB: back-pressure suspends the fiber */
        if (dyn_chunk(conn, piece, sizeof piece) != 0)
            break;
    return conn;
}

static int flood_chunks; /* chunks the flood route has written so far */
#define FLOOD_CHUNKS 1024
#define FLOOD_SIZE 65536

static dyn_conn_t *flood(dyn_conn_t *conn)
{
    conn = dyn_send_chunked(conn, 200);
    char *piece = dyn_alloc(conn, FLOOD_SIZE);
    memset(piece, 'f', FLOOD_SIZE);
    for (int i = 0; i < FLOOD_CHUNKS; i++) {
        if (dyn_chunk(conn, piece, FLOOD_SIZE) != 0)
            break;
        __atomic_add_fetch(&flood_chunks, 1, __ATOMIC_RELAXED);
    }
    return conn;
}

DYN_ROUTER(web_router, DYN_GET("/", root), DYN_GET("/crash", crash), DYN_GET("/held", held),
           DYN_GET("/stream/:crash", stream), DYN_GET("/big", big), DYN_GET("/flood", flood));

static const dyn_plug_spec_t plugs[] = {DYN_PLUG(dyn_plug_request_id, NULL),
                                        DYN_PLUG(dyn_plug_head, NULL)};
static const dyn_dynamo_t web_a = {
    .name = "web_a", .endpoint = &web_router, DYN_PLUGS(plugs), .env = DYN_ENV_PROD};
static const dyn_dynamo_t web_b = {
    .name = "web_b", .endpoint = &web_router, DYN_PLUGS(plugs), .env = DYN_ENV_PROD};

static int get(uint16_t port, const char *path, hu_resp_t *r)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
             path);
    return hu_exchange(port, req, r);
}

static void expect_body(uint16_t port, const char *path, int status, const char *body)
{
    hu_resp_t r;
    cr_assert_eq(get(port, path, &r), status, "GET %s on %u", path, port);
    if (body)
        cr_assert_str_eq(r.body, body);
    hu_resp_free(&r);
}

static bool serves(uint16_t port)
{
    hu_conn_t *c = hu_try_connect(port);
    if (!c)
        return false;
    hu_close(c);
    return true;
}

DY_TEST(dynamo, serves_then_stops)
{
    act_pid_t sup;
    cr_assert_eq(dyn_start_link(&web_a, &sup), 0);
    uint16_t port = dyn_port("web_a");
    cr_assert_gt(port, 0);
    expect_body(port, "/", 200, "hello from web_a");
    dyn_info_t info;
    cr_assert_eq(dyn_info("web_a", &info), 0);
    cr_assert_eq(info.sup, sup);
    cr_assert_eq(info.actor, act_whereis("web_a"));
    cr_assert_eq(info.listener, act_whereis("web_a.http"));
    cr_assert_eq(info.env, DYN_ENV_PROD);
    cr_assert_eq(info.routes, 6);
    cr_assert_geq(info.requests, 1);
    cr_assert_eq(dyn_stop("web_a", MS(5000)), 0);
    cr_assert_not(serves(port));
    cr_assert_eq(dyn_info("web_a", &info), DYN_ENODYNAMO);
    cr_assert_eq(dyn_stop("web_a", 100), DYN_ENODYNAMO);
}

/* A restart count alone is counted over 5 s (the supervisor refuses a count without a period). */
DY_TEST(dynamo, a_restart_count_alone_starts)
{
    const dyn_dynamo_t counted = {
        .name = "web_counted", .endpoint = &web_router, .env = DYN_ENV_PROD, .max_restarts = 10};
    cr_assert_eq(dyn_start_link(&counted, NULL), 0);
    expect_body(dyn_port("web_counted"), "/", 200, "hello from web_counted");
    cr_assert_eq(dyn_stop("web_counted", MS(5000)), 0);
}

DY_TEST(dynamo, a_crash_costs_one_request_and_releases_its_resources)
{
    cr_assert_eq(dyn_start_link(&web_a, NULL), 0);
    uint16_t port = dyn_port("web_a");
    dtor_count = 0;
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(hu_send(c, "GET /crash HTTP/1.1\r\nHost: x\r\n\r\n", -1), 0);
        cr_assert_eq(hu_read(c, &r, false), 0);
        cr_assert_eq(r.status, 500);
        cr_assert(strstr(r.body, "Internal Server Error"));
        hu_resp_free(&r);
        /* The same connection goes on. */
        cr_assert_eq(hu_send(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", -1), 0);
        cr_assert_eq(hu_read(c, &r, false), 0);
        cr_assert_eq(r.status, 200);
        hu_resp_free(&r);
    }
    cr_assert_eq(hu_send(c, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n", -1), 0);
    cr_assert_eq(hu_read(c, &r, false), 0);
    hu_resp_free(&r);
    hu_close(c);
    for (int64_t i = 0; i < MS(2000) && __atomic_load_n(&dtor_count, __ATOMIC_RELAXED) < 4; i++)
        usleep(5000);
    cr_assert_eq(__atomic_load_n(&dtor_count, __ATOMIC_RELAXED), 4,
                 "every request's pointer assign was released");
    dyn_info_t info;
    dyn_info("web_a", &info);
    cr_assert_eq(info.crashes, 3);
    cr_assert(dy_reported("reason=crash text=\"crashed on purpose\" dynamo=web_a"), "%s",
              dy_reports());
    cr_assert_eq(dyn_stop("web_a", MS(5000)), 0);
}

DY_TEST(dynamo, streams_and_a_crash_mid_stream_cuts_the_connection)
{
    cr_assert_eq(dyn_start_link(&web_a, NULL), 0);
    uint16_t port = dyn_port("web_a");
    hu_resp_t r;
    cr_assert_eq(get(port, "/stream/no", &r), 200);
    cr_assert(r.chunked);
    cr_assert_str_eq(r.body, "part0 part1 part2 ");
    hu_resp_free(&r);
    hu_conn_t *c = hu_connect(port);
    cr_assert_eq(hu_send(c, "GET /stream/yes HTTP/1.1\r\nHost: x\r\n\r\n", -1), 0);
    cr_assert_eq(hu_read(c, &r, false), -1, "no complete response: the stream was cut");
    cr_assert_eq(r.status, 200, "its head had gone out");
    hu_resp_free(&r);
    cr_assert(hu_closed_within(c, MS(2000)));
    hu_close(c);
    cr_assert_eq(get(port, "/big", &r), 200);
    cr_assert_eq(r.body_len, 2u << 20);
    hu_resp_free(&r);
    cr_assert_eq(dyn_stop("web_a", MS(5000)), 0);
}

static int list_names(const dyn_info_t *info, void *arg)
{
    strcat(arg, info->name);
    strcat(arg, " ");
    return 0;
}

DY_TEST(dynamo, several_dynamos_are_independent)
{
    act_pid_t sa, sb;
    cr_assert_eq(dyn_start_link(&web_a, &sa), 0);
    cr_assert_eq(dyn_start_link(&web_b, &sb), 0);
    uint16_t pa = dyn_port("web_a"), pb = dyn_port("web_b");
    cr_assert_neq(pa, pb);
    expect_body(pa, "/", 200, "hello from web_a");
    expect_body(pb, "/", 200, "hello from web_b");
    /* Killing a's server: its supervisor restarts it (on a new ephemeral port); b goes on. */
    act_pid_t la = act_whereis("web_a.http");
    act_exit(la, ACT_KILL);
    expect_body(pb, "/", 200, "hello from web_b");
    /* The new listener registers its name before the start returns and the port is known. */
    for (int64_t i = 0; i < MS(2000) && (act_whereis("web_a.http") == la ||
                                         !act_whereis("web_a.http") || !serves(dyn_port("web_a")));
         i++)
        usleep(5000);
    cr_assert_neq(act_whereis("web_a.http"), la);
    expect_body(dyn_port("web_a"), "/", 200, "hello from web_a");
    /* Killing a's Dynamo actor: a new instance, and the server after it. */
    act_pid_t ka = act_whereis("web_a");
    act_exit(ka, ACT_KILL);
    for (int64_t i = 0; i < MS(2000) && (act_whereis("web_a") == ka || !dyn_port("web_a") ||
                                         !serves(dyn_port("web_a")));
         i++)
        usleep(5000);
    expect_body(dyn_port("web_a"), "/", 200, "hello from web_a");
    /* Stopping a leaves b serving. */
    cr_assert_eq(dyn_stop("web_a", MS(5000)), 0);
    expect_body(pb, "/", 200, "hello from web_b");
    char names[256] = "";
    cr_assert_eq(dyn_each(list_names, names), 0);
    cr_assert_str_eq(names, "web_b ");
    cr_assert_eq(dyn_stop("web_b", MS(5000)), 0);
}

/* ---- embedded in a user's supervisor (the seed's Stacker.Supervisor) ---- */

static int worker_start(const act_child_start_t *cs, act_pid_t *out);
static const act_child_spec_t children[] = {
    {ACT_WORKER_CHILD("worker", worker_start, NULL)},
    {DYN_CHILD("web", &web_a)},
};
static const act_sup_spec_t app_sup = {
    .name = "app_sup", .strategy = ACT_ONE_FOR_ONE, .children = children, .nchildren = 2};

static void worker_main(void *arg)
{
    (void)arg;
    act_init_ack(0);
    act_msg_t *m;
    act_receive(NULL, NULL, ACT_INFINITY, &m);
    act_msg_free(m);
}

static int worker_start(const act_child_start_t *cs, act_pid_t *out)
{
    act_spawn_opts_t o = {.fiber = worker_main, .sched = cs->sched};
    return act_start_link(&o, 5000, out);
}

DY_TEST(dynamo, embeds_in_any_supervisor_beside_other_workers)
{
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&app_sup, &sup), 0);
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert_eq(n, 2);
    /* which_children lists the newest child first, as Erlang's does. */
    cr_assert_str_eq(kids[0].id, "web");
    cr_assert_str_eq(kids[1].id, "worker");
    cr_assert_eq(kids[0].type, ACT_SUPERVISOR);
    dyn_info_t info;
    cr_assert_eq(dyn_info("web_a", &info), 0);
    cr_assert_eq(info.sup, kids[0].pid);
    act_free(kids);
    expect_body(dyn_port("web_a"), "/", 200, "hello from web_a");
    char *tree;
    cr_assert_eq(act_sup_dump(sup, &tree), 0);
    cr_assert(strstr(tree, "web <") && strstr(tree, "dynamo <") && strstr(tree, "http <"), "%s",
              tree);
    act_free(tree);
    /* The worker crashing leaves the Dynamo alone (one_for_one). */
    act_pid_t lis = act_whereis("web_a.http");
    act_sup_terminate_child(sup, "worker");
    cr_assert_eq(act_whereis("web_a.http"), lis);
    expect_body(dyn_port("web_a"), "/", 200, "hello from web_a");
    cr_assert_eq(act_sup_stop(sup, MS(10000)), 0);
    cr_assert_eq(dyn_port("web_a"), 0);
}

/* ---- bad declarations ---- */

static dyn_conn_t *h(dyn_conn_t *conn)
{
    return conn;
}

DYN_ROUTER(bad_router, DYN_GET("/ok", h), DYN_GET("/users/:/x", h));
static const dyn_dynamo_t bad = {.name = "bad", .endpoint = &bad_router};

static int failing_init(const void *opts, void **state)
{
    (void)opts;
    (void)state;
    return -EINVAL;
}
static const dyn_plug_t failing = {.name = "failing", .init = failing_init, .call = NULL};
static const dyn_plug_spec_t failing_plugs[] = {DYN_PLUG(failing, NULL)};
static const dyn_dynamo_t bad_plug = {
    .name = "bad_plug", .endpoint = &web_router, DYN_PLUGS(failing_plugs)};

DY_TEST(dynamo, bad_declarations_fail_the_start_with_a_report)
{
    cr_assert_eq(dyn_start_link(&bad, NULL), ACT_ECHILDSTART);
    cr_assert(dy_reported("[dynamo] bad: cannot start: invalid route declaration: router "
                          "bad_router: route /users/:/x (h): a parameter needs a name"),
              "%s", dy_reports());
    cr_assert_eq(dyn_start_link(&bad_plug, NULL), ACT_ECHILDSTART);
    cr_assert(dy_reported("plug 0 of Dynamo bad_plug has no call function"), "%s", dy_reports());
    cr_assert_eq(dyn_start_link(&(dyn_dynamo_t){.name = "x"}, NULL), ACT_EBADARG);
}

DY_TEST(dynamo, a_taken_name_or_port_fails_the_start)
{
    cr_assert_eq(dyn_start_link(&web_a, NULL), 0);
    cr_assert_eq(dyn_start_link(&web_a, NULL), ACT_ECHILDSTART, "the name is taken");
    dyn_dynamo_t same_port = web_b;
    same_port.port = dyn_port("web_a");
    cr_assert_eq(dyn_start_link(&same_port, NULL), ACT_ECHILDSTART);
    cr_assert(dy_reported("[dynamo] web_b: cannot listen"), "%s", dy_reports());
    expect_body(dyn_port("web_a"), "/", 200, "hello from web_a");
    cr_assert_eq(dyn_port("web_b"), 0);
    char *text;
    cr_assert_eq(dyn_routes_text("web_a", &text), 0);
    cr_assert(strstr(text, "GET  /stream/:crash  stream  web_router"), "%s", text);
    act_free(text);
    cr_assert_eq(dyn_stop("web_a", MS(5000)), 0);
}

DY_TEST(dynamo, a_slow_reader_suspends_the_streaming_route)
{
    cr_assert_eq(dyn_start_link(&web_a, NULL), 0);
    flood_chunks = 0;
    hu_conn_t *c = hu_connect(dyn_port("web_a"));
    cr_assert_eq(hu_send(c, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n", -1), 0);
    /* The client reads nothing for a while: the route must stall once the socket's buffers and
     * the connection's 64 KiB are full, far below the 64 MiB it wants to send. */
    usleep(MS(500) * 1000);
    int written = __atomic_load_n(&flood_chunks, __ATOMIC_RELAXED);
    cr_assert_lt(written, FLOOD_CHUNKS / 4,
                 "%d chunks of 64 KiB written to a client that reads "
                 "nothing",
                 written);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_assert_eq(r.body_len, (size_t)FLOOD_CHUNKS * FLOOD_SIZE);
    hu_resp_free(&r);
    hu_close(c);
    cr_assert_eq(dyn_stop("web_a", MS(5000)), 0);
}
