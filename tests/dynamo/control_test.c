/*
 * The control server (dynamo/node.h, src/control.c) in process: the framework's application
 * started with a socket path, clients on the test's threads speaking the protocol, answers
 * checked, clients that misbehave, many at once (TSan), stale sockets, and stop.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dyn_util.h"

static char dir[] = "/tmp/dyn_ctl_XXXXXX";
static char path[100];

static dyn_conn_t *hello(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "hi");
}
DYN_ROUTER(ctl_router, DYN_GET("/hi", hello), DYN_POST("/users/:id", hello));
static const dyn_dynamo_t web = {.name = "ctlweb", .endpoint = &ctl_router, .port = 0};

static int connect_sock(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* Reads until EOF (or ms); a malloc'ed string, NULL on timeout. */
static char *read_all(int fd, int64_t ms)
{
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)ms) <= 0) {
            free(buf);
            return NULL;
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len + 1 >= cap)
            break;
    }
    buf[len] = '\0';
    return buf;
}

/* Sends raw bytes, returns the whole answer (malloc'ed). */
static char *ask_raw(const char *raw, size_t len)
{
    int fd = connect_sock();
    if (fd < 0)
        return NULL;
    if (write(fd, raw, len) != (ssize_t)len) {
        close(fd);
        return NULL;
    }
    char *a = read_all(fd, MS(10000));
    close(fd);
    return a;
}

static char *ask(const char *cmd)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    return ask_raw(line, (size_t)n);
}

static void start_control(void)
{
    dy_init();
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/node.sock", dir);
    cr_assert_eq(act_app_set_env("dynamo", "control", path), 0);
    cr_assert_eq(act_app_load(&dyn_app), 0);
    cr_assert_eq(act_app_start("dynamo", NULL), 0, "%s", dy_reports());
    act_pid_t sup;
    cr_assert_eq(dyn_start_link(&web, &sup), 0);
}

static void stop_control(void)
{
    dy_fini();
    unlink(path);
    rmdir(dir);
}

TestSuite(control, .init = start_control, .fini = stop_control, .timeout = TMO(60));

DY_TEST(control, answers_ping_info_status_and_routes)
{
    char *a = ask("ping");
    cr_assert_str_eq(a, "ok\npong\n");
    free(a);
    a = ask("info");
    char want[64];
    snprintf(want, sizeof want, "pid=%d\n", (int)getpid());
    cr_assert(a && strncmp(a, "ok\n", 3) == 0 && strstr(a, want), "%s", a);
    cr_assert(strstr(a, "dynamo=ctlweb http://127.0.0.1:"), "%s", a);
    free(a);
    a = ask("status");
    cr_assert(a && strncmp(a, "ok\n", 3) == 0, "%s", a);
    const char *parts[] = {
        "schedulers 2, utilisation over 250 ms:", "application dynamo", "dynamo_sup <", "control <",
        "dynamo ctlweb http://127.0.0.1:",        "routes=2",           "connections=0"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        cr_assert(strstr(a, parts[i]), "no \"%s\" in:\n%s", parts[i], a);
    free(a);
    a = ask("routes");
    cr_assert(a && strstr(a, "# ctlweb http://127.0.0.1:") && strstr(a, "/users/:id"), "%s", a);
    free(a);
}

DY_TEST(control, the_socket_is_the_owner_s_only)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISSOCK(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0600);
}

DY_TEST(control, bad_requests_get_an_error_and_the_server_goes_on)
{
    char *a = ask("frobnicate\x01");
    cr_assert(a && strstr(a, "error: unknown command \"frobnicate\\x01\""), "%s", a);
    free(a);
    char big[1024];
    memset(big, 'x', sizeof big);
    a = ask_raw(big, sizeof big);
    cr_assert(a && strstr(a, "error: request line too long"), "%s", a);
    free(a);
    /* A client that leaves mid-line, and one that sends nothing at all and goes. */
    int fd = connect_sock();
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "sta", 3), 3);
    close(fd);
    fd = connect_sock();
    cr_assert_geq(fd, 0);
    close(fd);
    a = ask("ping\r");
    cr_assert_str_eq(a, "ok\npong\n");
    free(a);
}

DY_TEST(control, a_silent_client_is_closed_after_its_read_time)
{
    int fd = connect_sock();
    cr_assert_geq(fd, 0);
    char *a = read_all(fd, MS(15000)); /* the server closes it after 5 s */
    cr_assert_not_null(a, "still open");
    cr_assert_str_eq(a, "");
    free(a);
    close(fd);
}

#define CLIENTS 8
#define ROUNDS 15

static void *client(void *arg)
{
    intptr_t bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        char *a = ask((intptr_t)arg % 2 ? "status" : "ping");
        if (!a || strncmp(a, "ok\n", 3) != 0)
            bad++;
        free(a);
    }
    return (void *)bad;
}

DY_TEST(control, many_clients_at_once_all_get_answers_stress)
{
    pthread_t t[CLIENTS];
    for (intptr_t i = 0; i < CLIENTS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, client, (void *)i), 0);
    for (int i = 0; i < CLIENTS; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        cr_assert_eq((intptr_t)bad, 0, "client %d: %ld failed", i, (long)(intptr_t)bad);
    }
}

DY_TEST(control, stop_answers_then_requests_the_node_s_stop)
{
    int fd = connect_sock();
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "stop\n", 5), 5);
    char buf[64] = "";
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_gt(poll(&p, 1, (int)MS(10000)), 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "ok\nstopping\n");
    cr_assert_eq(act_system_wait(), ACT_NODE_EXIT_OK);
    /* The connection stays open until the control server goes: then the client sees the end. */
    cr_assert_eq(act_app_stop("dynamo"), 0);
    char *rest = read_all(fd, MS(10000));
    cr_assert_not_null(rest);
    cr_assert_str_eq(rest, "");
    free(rest);
    close(fd);
    cr_assert_eq(access(path, F_OK), -1, "the socket file was left behind");
}

/* ---- starting over a socket file ------------------------------------------------------------ */

static void plain_init(void)
{
    dy_init();
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/node.sock", dir);
    cr_assert_eq(act_app_set_env("dynamo", "control", path), 0);
    cr_assert_eq(act_app_load(&dyn_app), 0);
}

static int bind_file(bool listening)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (listening)
        cr_assert_eq(listen(fd, 1), 0);
    return fd;
}

TestSuite(control_start, .init = plain_init, .fini = stop_control, .timeout = TMO(30));

DY_TEST(control_start, a_stale_socket_file_is_replaced)
{
    close(bind_file(false)); /* a node that died: the file stays, nobody listens */
    cr_assert_eq(act_app_start("dynamo", NULL), 0, "%s", dy_reports());
    char *a = ask("ping");
    cr_assert_str_eq(a, "ok\npong\n");
    free(a);
}

DY_TEST(control_start, a_live_socket_is_left_alone_and_the_start_fails)
{
    int other = bind_file(true);
    cr_assert_neq(act_app_start("dynamo", NULL), 0);
    cr_assert(dy_reported("another node listens on it"), "%s", dy_reports());
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "the other node's socket was removed");
    close(other);
}
