/* Stacker (apps/stacker): the seed's OTP example, in process and as its own node binary. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"
#include "proc_util.h"
#include "stacker.h"

/* ---- in process ------------------------------------------------------------------------- */

static int64_t blocks_before;
static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;
static char reports[8192];

static void capture(const act_report_t *r, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&rlock);
    size_t len = strlen(reports);
    snprintf(reports + len, sizeof reports - len, "%s\n", r->line);
    pthread_mutex_unlock(&rlock);
}

static bool reported(const char *needle)
{
    pthread_mutex_lock(&rlock);
    bool found = strstr(reports, needle) != NULL;
    pthread_mutex_unlock(&rlock);
    return found;
}

static void start(void)
{
    act_report_set(capture, NULL);
    blocks_before = act_mem_live_blocks();
    act_config_t cfg = {.schedulers = 2};
    cr_assert_eq(act_system_start(&cfg), 0);
    cr_assert_eq(act_app_load(&stacker_app), 0);
    cr_assert_eq(act_app_set_env("stacker", "port", "0"), 0); /* the Dynamo on any free port */
}

static void stop(void)
{
    if (!act_system_running())
        return;
    cr_assert_eq(act_system_stop(), 0);
    cr_expect_eq(act_mem_live_blocks(), blocks_before, "leaked %lld blocks",
                 (long long)(act_mem_live_blocks() - blocks_before));
}

TestSuite(stacker, .init = start, .fini = stop, .timeout = TMO(20));

/* The stacker between a crash and its restart has no name yet: retry for a while. */
static act_pid_t wait_stacker(act_pid_t old)
{
    for (int i = 0; i < 2000; i++) {
        act_pid_t pid = act_whereis(STACKER_NAME);
        if (pid && pid != old)
            return pid;
        usleep(1000);
    }
    return ACT_PID_NONE;
}

static long long pop(void)
{
    long long v = 0;
    int rc = stacker_pop(&v);
    cr_assert_eq(rc, 0, "pop: %s", act_strerror(rc));
    return v;
}

Test(stacker, push_pop_and_a_killed_worker_restarts_with_its_initial_state)
{
    static const act_app_env_t env[] = {{"stack", "1,2,3"}, {NULL, NULL}};
    cr_assert_eq(act_app_start("stacker", env), 0);
    cr_assert_eq(pop(), 3);
    cr_assert_eq(stacker_push(42), 0);
    cr_assert_eq(stacker_push(7), 0);
    cr_assert_eq(pop(), 7);
    cr_assert_eq(stacker_push(8), 0);
    /* Kill the worker: its supervisor restarts it with the initial stack [1, 2, 3]. */
    act_pid_t old = act_whereis(STACKER_NAME);
    cr_assert_eq(act_exit(old, ACT_KILL), 0);
    act_pid_t fresh = wait_stacker(old);
    cr_assert_neq(fresh, ACT_PID_NONE);
    cr_assert_eq(pop(), 3, "the pushed values went with the old worker");
    cr_assert_eq(pop(), 2);
    cr_assert(reported("[supervisor] stacker_sup"), "%s", reports);
    cr_assert(reported("child stack"), "%s", reports);
    cr_assert(reported("exited: killed; restarting"), "%s", reports);
    /* The tree shows the restart. */
    char *text;
    cr_assert_eq(act_app_dump(&text), 0);
    cr_assert(strstr(text, "stack <") && strstr(text, "restarts=1"), "%s", text);
    cr_assert(strstr(text, "web <"), "%s", text);
    act_free(text);
}

/* One request to the Dynamo; the status, and the body in body. */
static int http(const char *method, const char *path, char *body, size_t len)
{
    char req[256];
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", method,
             path);
    hu_resp_t r = {0};
    int st = hu_exchange(dyn_port("web"), req, &r);
    snprintf(body, len, "%s", r.body ? r.body : "");
    hu_resp_free(&r);
    return st;
}

Test(stacker, the_dynamo_beside_the_server_serves_the_stack_over_http)
{
    static const act_app_env_t env[] = {{"stack", "5"}, {NULL, NULL}};
    cr_assert_eq(act_app_start("stacker", env), 0, "%s", reports);
    cr_assert_neq(dyn_port("web"), 0);
    char body[256];
    cr_assert_eq(http("POST", "/stack/7", body, sizeof body), 201, "%s", body);
    cr_assert_eq(http("GET", "/stack", body, sizeof body), 200);
    cr_assert_str_eq(body, "[7,5]\n");
    cr_assert_eq(stacker_push(9), 0, "the console's way and HTTP's reach the same server");
    cr_assert_eq(http("DELETE", "/stack/top", body, sizeof body), 200);
    cr_assert_str_eq(body, "9\n");
    cr_assert_eq(http("POST", "/stack/x1", body, sizeof body), 400, "%s", body);
    cr_assert_eq(http("DELETE", "/stack/top", body, sizeof body), 200);
    cr_assert_eq(http("DELETE", "/stack/top", body, sizeof body), 200);
    cr_assert_str_eq(body, "5\n");
    /* The empty stack crashes the server (as the seed's): 503, a restart, the Dynamo serves on. */
    act_pid_t old = act_whereis(STACKER_NAME);
    cr_assert_eq(http("DELETE", "/stack/top", body, sizeof body), 503);
    cr_assert(strstr(body, "crashed popping an empty stack"), "%s", body);
    cr_assert_neq(wait_stacker(old), ACT_PID_NONE);
    cr_assert_eq(http("GET", "/stack", body, sizeof body), 200);
    cr_assert_str_eq(body, "[5]\n", "restarted with its initial stack");
    char *text;
    cr_assert_eq(act_app_dump(&text), 0);
    cr_assert(strstr(text, "stack <") && strstr(text, "restarts=1"), "%s", text);
    act_free(text);
}

Test(stacker, popping_an_empty_stack_past_the_intensity_stops_the_node)
{
    cr_assert_eq(act_app_start("stacker", NULL), 0);
    act_pid_t pid = act_whereis(STACKER_NAME);
    for (int i = 0; i < 4; i++) {
        long long v;
        cr_assert_eq(stacker_pop(&v), ACT_ECALLDOWN, "crash %d", i);
        if (i < 3)
            cr_assert_neq(pid = wait_stacker(pid), ACT_PID_NONE);
    }
    cr_assert_eq(act_system_wait(), 1);
    cr_assert(reported("exited: crash: pop on an empty stack; restarting"), "%s", reports);
    cr_assert(reported("reached max restart intensity (3 restarts in 5 s)"), "%s", reports);
    cr_assert(reported("[application] stacker exited: shutdown"), "%s", reports);
    cr_assert_eq(act_app_top("stacker"), ACT_PID_NONE);
}

Test(stacker, a_malformed_environment_fails_the_start_clearly)
{
    static const act_app_env_t env[] = {{"stack", "1,x"}, {NULL, NULL}};
    cr_assert_eq(act_app_start("stacker", env), ACT_ECHILDSTART);
    cr_assert(reported("child stack failed to start: ACT_EBADARG"), "%s", reports);
    cr_assert(reported("[application] stacker failed to start"), "%s", reports);
}

/* ---- the node binary -------------------------------------------------------------------- */

TestSuite(stacker_node, .timeout = TMO(30));

static void expect_line(proc_t *p, const char *want)
{
    char line[512];
    cr_assert(proc_line(p, line, sizeof line, MS(5000)), "no output; stderr: %s", p->errbuf);
    cr_assert_str_eq(line, want, "stderr: %s", p->errbuf);
}

Test(stacker_node, console_then_sigterm_exits_0)
{
    proc_t p;
    proc_start(&p, (char *[]){STACKER_BIN, "--schedulers", "2", "--port", "0", "--set", "stack=5,6",
                              NULL});
    proc_send(&p, "pop");
    expect_line(&p, "6");
    proc_send(&p, "push 9");
    expect_line(&p, "ok");
    proc_send(&p, "pop");
    expect_line(&p, "9");
    proc_send(&p, "status");
    expect_line(&p, "application stacker 0.1.0 permanent top=<3.1>");
    char line[512];
    cr_assert(proc_line(&p, line, sizeof line, MS(5000)));
    cr_assert(strstr(line, "stacker_sup <") && strstr(line, "one_for_one"), "%s", line);
    /* The server's line shows its state (format_status): the stack, top first. */
    cr_assert(proc_line(&p, line, sizeof line, MS(5000)));
    cr_assert(strstr(line, "stack <") && strstr(line, "state=\"[5]\""), "%s", line);
    cr_assert(proc_line(&p, line, sizeof line, MS(5000)));
    cr_assert(strstr(line, "web <"), "%s", line);
    /* The Dynamo's own tree under it: its actor and its HTTP server. */
    cr_assert(proc_line(&p, line, sizeof line, MS(5000)));
    cr_assert(strstr(line, "dynamo <"), "%s", line);
    cr_assert(proc_line(&p, line, sizeof line, MS(5000)));
    cr_assert(strstr(line, "http <"), "%s", line);
    proc_send(&p, "push 7");
    expect_line(&p, "ok");
    proc_send(&p, "status");
    expect_line(&p, "application stacker 0.1.0 permanent top=<3.1>");
    cr_assert(proc_line(&p, line, sizeof line, MS(5000)));
    cr_assert(proc_line(&p, line, sizeof line, MS(5000)));
    cr_assert(strstr(line, "state=\"[7,5]\""), "%s", line);
    kill(p.pid, SIGTERM);
    cr_assert(proc_wait(&p, MS(10000)), "still running; stderr: %s", p.errbuf);
    cr_assert_eq(p.status, 0, "stderr: %s", p.errbuf);
    cr_assert(strstr(p.errbuf, "[node] stopping: SIGTERM"), "%s", p.errbuf);
    cr_assert(strstr(p.errbuf, "[node] stopped (exit status 0)"), "%s", p.errbuf);
    proc_end(&p);
}

Test(stacker_node, crashing_past_the_intensity_exits_1_with_a_clear_report)
{
    proc_t p;
    proc_start(&p, (char *[]){STACKER_BIN, "--port", "0", NULL});
    for (int i = 0; i < 4; i++) {
        proc_send(&p, "pop");
        expect_line(&p, "error: called actor exited before replying");
    }
    cr_assert(proc_wait(&p, MS(10000)), "still running; stderr: %s", p.errbuf);
    cr_assert_eq(p.status, 1, "stderr: %s", p.errbuf);
    const char *want[] = {
        "[supervisor] stacker_sup <3.1>: child stack <4.1> exited: crash: pop on an empty "
        "stack; restarting",
        "[supervisor] stacker_sup <3.1>: reached max restart intensity (3 restarts in 5 s); "
        "shutting down",
        "[application] stacker exited: shutdown: reached max restart intensity",
        "permanent: stopping the node",
        "[node] stopping: permanent application stacker exited: shutdown",
        "[node] stopped (exit status 1)",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(p.errbuf, want[i]), "missing \"%s\" in:\n%s", want[i], p.errbuf);
    proc_end(&p);
}

Test(stacker_node, bad_arguments_exit_2)
{
    proc_t p;
    proc_start(&p, (char *[]){STACKER_BIN, "--bogus", NULL});
    cr_assert(proc_wait(&p, MS(5000)));
    cr_assert_eq(p.status, 2);
    cr_assert(strstr(p.errbuf, "usage: stacker"), "%s", p.errbuf);
    proc_end(&p);
}
