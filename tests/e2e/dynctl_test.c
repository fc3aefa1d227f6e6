/*
 * dynctl end to end, as a user runs it: commands in a shell, their output and exit statuses,
 * curl against the node, files edited in place, signals sent to the node's process.
 *
 * One project, made by `dynctl new` in the build directory (e2e_dynctl/shop), serves every
 * test of the suite, which run one after the other: its dev build is made once by the first
 * start and reused (a start whose build is up to date costs ninja's check), the prod build by
 * the prod test. ctest removes the directory before the suite (the e2e.dynctl_clean fixture),
 * so each run starts from a new project. Every node listens on a port the kernel chooses
 * (--port 0) but where the test is about a given port.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc_util.h"

static char proj[512];
static char out[65536];

/* Runs a shell command line; its stdout and stderr land in `out`; returns its exit status. */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4200];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *f = popen(full, "r");
    cr_assert_not_null(f, "%s", cmd);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* dynctl ARGS in the project's directory. */
#define DYNCTL(...) sh("cd '%s' && " DYNCTL_BIN " " __VA_ARGS__)
#define DYNCTL_ARGS(fmt, ...) sh("cd '%s' && " DYNCTL_BIN " " fmt, proj, __VA_ARGS__)

static char *slurp(const char *rel)
{
    static char buf[65536];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", proj, rel);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool has(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", proj, rel);
    return access(path, F_OK) == 0;
}

static void save(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", proj, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* Replaces `from` by `to` in file rel (an editor's save). */
static void edit(const char *rel, const char *from, const char *to)
{
    char *s = strdup(slurp(rel));
    char *at = strstr(s, from);
    cr_assert_not_null(at, "%s has no %s", rel, from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *text = malloc(n);
    snprintf(text, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    save(rel, text);
    free(text);
    free(s);
}

static pid_t node_pid(const char *node)
{
    char rel[128];
    snprintf(rel, sizeof rel, "_build/run/%s.pid", node);
    char *s = slurp(rel);
    return s ? (pid_t)atol(s) : 0;
}

/* GET url with curl; the body in `out`. */
static int curl(unsigned port, const char *path)
{
    return sh("curl -sS --max-time 10 'http://127.0.0.1:%u%s'", port, path);
}

/* Stops every node of the project (what a failed test left running). */
static void stop_all(void)
{
    sh("cd '%s' && for l in _build/run/*.lock; do [ -e \"$l\" ] || continue; "
       "%s stop --node \"$(basename \"$l\" .lock)\" --timeout 20; done",
       proj, DYNCTL_BIN);
}

static void setup(void)
{
    unsetenv("DYNAMO_ENV");
    unsetenv("PORT");
    unsetenv("SECRET_KEY_BASE");
    unsetenv("DYNAMO_LOG_LEVEL");
    unsetenv("DYNAMO_HOST");
    unsetenv("BXFI_MAP"); /* Criterion's: a project's Criterion tests would take it for theirs */
    snprintf(proj, sizeof proj, "%s/e2e_dynctl/shop", DYN_BINARY_DIR);
    char cmake[600];
    snprintf(cmake, sizeof cmake, "%s/CMakeLists.txt", proj);
    if (access(cmake, F_OK) != 0)
        cr_assert_eq(
            sh("mkdir -p '%s/e2e_dynctl' && %s new '%s'", DYN_BINARY_DIR, DYNCTL_BIN, proj), 0,
            "%s", out);
}

static void teardown(void)
{
    stop_all();
}

TestSuite(dynctl, .init = setup, .fini = teardown, .timeout = TMO(300));

/* Starts the dev node (or --node/--env in extra) as a daemon on a free port; returns it. */
static unsigned start_daemon(const char *extra)
{
    int rc = DYNCTL_ARGS("start --daemon --port 0 %s", extra);
    cr_assert_eq(rc, 0, "dynctl start --daemon %s: %d\n%s", extra, rc, out);
    const char *at = strstr(out, "http://127.0.0.1:");
    cr_assert_not_null(at, "%s", out);
    unsigned port = (unsigned)atoi(at + strlen("http://127.0.0.1:"));
    cr_assert_gt(port, 0);
    return port;
}

/* Waits until `dynctl pid` names a live node other than `old`; returns it. */
static pid_t wait_restarted(const char *node, pid_t old)
{
    int64_t end = now_ms() + MS(30000);
    while (now_ms() < end) {
        pid_t p = node_pid(node);
        if (p > 0 && p != old && DYNCTL_ARGS("ping --node %s", node) == 0)
            return p;
        usleep(50000);
    }
    cr_assert_fail("the heart did not restart %s (was pid %d); log:\n%s", node, (int)old,
                   slurp("_build/log/dev.log"));
    return 0;
}

/* ---- new ------------------------------------------------------------------------------------ */

Test(dynctl, new_makes_the_seed_s_layout_and_refuses_what_it_would_overwrite)
{
    const char *files[] = {
        "CMakeLists.txt",
        "README.md",
        ".gitignore",
        "main.c",
        "lib/shop.c",
        "lib/shop.h",
        "lib/shop/dynamo.c",
        "lib/shop/environments/dev.c",
        "lib/shop/environments/test.c",
        "lib/shop/environments/prod.c",
        "web/routers/application_router.c",
        "web/templates/index.html.eex",
        "web/templates/layouts/application.html.eex",
        "priv/static/css/app.css",
        "test/routers/application_router_test.c",
        "test/features/home_test.c",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        cr_assert_not_null(slurp(files[i]), "no %s", files[i]);
    cr_assert(strstr(slurp("CMakeLists.txt"), "find_package(dynamo REQUIRED CONFIG)"));
    cr_assert(strstr(slurp("lib/shop.c"), "DYN_CHILD(\"web\", &shop_dynamo)"));
    cr_assert_null(strstr(slurp("lib/shop/environments/prod.c"), ".secret"));
    /* Each project gets its own development secret. */
    char dev[200];
    snprintf(dev, sizeof dev, "%s", strstr(slurp("lib/shop/environments/dev.c"), ".secret"));

    cr_assert_eq(sh("%s new '%s'", DYNCTL_BIN, proj), 1, "%s", out);
    cr_assert(strstr(out, "is not empty"), "%s", out);
    cr_assert_eq(sh("%s new '%s/../9lives'", DYNCTL_BIN, proj), 2, "%s", out);
    cr_assert(strstr(out, "cannot name a project: it must start with a lowercase letter; "
                          "choose one with --name NAME"),
              "%s", out);
    cr_assert_eq(sh("%s new '%s/../x' --name int", DYNCTL_BIN, proj), 2, "%s", out);
    cr_assert_eq(sh("%s new", DYNCTL_BIN), 2, "%s", out);

    cr_assert_eq(
        sh("rm -rf '%s/../second' && %s new '%s/../second' --name second", proj, DYNCTL_BIN, proj),
        0, "%s", out);
    char path[700];
    snprintf(path, sizeof path, "%s/../second/lib/second/environments/dev.c", proj);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char text[4096];
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    cr_assert_null(strstr(text, dev), "the same secret twice");
    sh("rm -rf '%s/../second'", proj);
}

Test(dynctl, help_and_errors_have_clear_messages_and_statuses)
{
    cr_assert_eq(sh("%s --help", DYNCTL_BIN), 0);
    cr_assert(strstr(out, "start") && strstr(out, "Exit statuses"), "%s", out);
    cr_assert_eq(sh("%s help stop", DYNCTL_BIN), 0);
    cr_assert(strstr(out, "--timeout"), "%s", out);
    cr_assert_eq(sh("%s start --help", DYNCTL_BIN), 0);
    cr_assert(strstr(out, "heart"), "%s", out);
    cr_assert_eq(sh("%s frobnicate", DYNCTL_BIN), 2);
    cr_assert_eq(sh("%s start --bogus", DYNCTL_BIN), 2);
    cr_assert(strstr(out, "unknown option --bogus"), "%s", out);
    cr_assert_eq(sh("%s ping /no/such/dir", DYNCTL_BIN), 4, "%s", out);
    cr_assert(strstr(out, "no such project"), "%s", out);
    cr_assert_eq(sh("%s start /tmp", DYNCTL_BIN), 4, "%s", out);
    cr_assert(strstr(out, "dynamo_add_web"), "%s", out);
    cr_assert_eq(DYNCTL("ping", proj), 3, "%s", out);
    cr_assert(strstr(out, "shop (dev) is not running"), "%s", out);
    cr_assert_eq(sh("cd '%s/..' && %s ping shop", proj, DYNCTL_BIN), 3, "a relative PATH: %s", out);
    cr_assert(strstr(out, "shop (dev) is not running"), "%s", out);
    cr_assert_eq(DYNCTL("stop", proj), 3, "%s", out);
    cr_assert_eq(DYNCTL("start --env staging", proj), 2, "%s", out);
    cr_assert_eq(sh("%s secret | tr -d '\\n' | wc -c", DYNCTL_BIN), 0);
    cr_assert_eq(atoi(out), 86, "%s", out);
}

/* ---- new -> start -> curl -> edit -> stop ------------------------------------------------------
 */

Test(dynctl, start_serves_reloads_an_edit_and_stops_cleanly)
{
    proc_t p;
    proc_start(&p, (char *[]){DYNCTL_BIN, "start", proj, "--port", "0", NULL});
    char line[512];
    cr_assert(proc_line(&p, line, sizeof line, MS(120000)), "no output; stderr: %s", p.errbuf);
    unsigned port = 0;
    cr_assert_eq(sscanf(line, "shop: serving on http://127.0.0.1:%u (dev)", &port), 1, "%s", line);
    cr_assert_eq(curl(port, "/"), 0, "%s", out);
    cr_assert(strstr(out, "<h1>Welcome to Dynamo!</h1>"), "%s", out);

    /* A saved route: the next requests run the new code, the node never restarted. */
    pid_t pid = node_pid("dev");
    const char *router = "web/routers/application_router.c";
    char *orig = strdup(slurp(router));
    edit(router, "\"title\", \"Welcome to Dynamo!\"", "\"title\", \"Edited while it runs\"");
    int64_t end = now_ms() + MS(60000);
    while (!(curl(port, "/") == 0 && strstr(out, "<h1>Edited while it runs</h1>"))) {
        proc_drain(&p);
        cr_assert(now_ms() < end, "the edit was not served: %s\nnode: %s", out, p.errbuf);
        usleep(50000);
    }
    cr_assert_eq(node_pid("dev"), pid);
    save(router, orig);
    free(orig);

    cr_assert_eq(DYNCTL("stop", proj), 0, "%s", out);
    cr_assert(strstr(out, "shop (dev) stopped"), "%s", out);
    cr_assert(proc_wait(&p, MS(20000)), "dynctl start did not end; stderr: %s", p.errbuf);
    cr_assert_eq(p.status, 0, "stderr: %s", p.errbuf);
    cr_assert(strstr(p.errbuf, "stopped cleanly"), "%s", p.errbuf);
    cr_assert(strstr(p.errbuf, "not restarting"), "%s", p.errbuf);
    cr_assert_not(has("_build/run/dev.pid"));
    proc_end(&p);
}

Test(dynctl, a_build_error_is_shown_and_the_start_fails_with_status_5)
{
    const char *app = "lib/shop.c";
    char *orig = strdup(slurp(app));
    edit(app, "return act_sup_start_link(&spec, top);", "return act_sup_start_link(&spec, top)");
    int rc = DYNCTL("start --daemon", proj);
    save(app, orig);
    free(orig);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "lib/shop.c:") && strstr(out, "error"), "%s", out);
    cr_assert(strstr(out, "the build of shop (dev) failed"), "%s", out);
    cr_assert_eq(DYNCTL("ping", proj), 3, "%s", out);
}

/* ---- daemon, ping, status, routes, stop --------------------------------------------------------
 */

Test(dynctl, daemon_answers_ping_status_routes_and_stops)
{
    unsigned port = start_daemon("");
    cr_assert(strstr(out, "runs as a daemon"), "%s", out);
    cr_assert_eq(curl(port, "/"), 0, "%s", out);

    cr_assert_eq(DYNCTL("ping", proj), 0, "%s", out);
    cr_assert_str_eq(out, "pong\n");
    cr_assert_eq(DYNCTL("pid", proj), 0, "%s", out);
    cr_assert_eq((pid_t)atol(out), node_pid("dev"));

    cr_assert_eq(DYNCTL("status", proj), 0, "%s", out);
    const char *want[] = {
        "node shop (dev) 0.1.0, env dev",
        "schedulers ",
        "utilisation",
        "application dynamo",
        "control <",
        "application shop 0.1.0 permanent",
        "shop_sup <",
        "one_for_one",
        "web <",
        "(the Dynamo shop)",
        "restarts=0",
        "dynamo shop http://127.0.0.1:",
        "requests=1",
        "connections=",
        "web=module version=1",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(out, want[i]), "no \"%s\" in:\n%s", want[i], out);

    cr_assert_eq(DYNCTL("routes", proj), 0, "%s", out);
    cr_assert(strstr(out, "# shop http://127.0.0.1:"), "%s", out);
    cr_assert(strstr(out, "GET") && strstr(out, "index_page") && strstr(out, "application_router"),
              "%s", out);

    /* The control socket is the owner's alone, in a directory nobody else may enter. */
    struct stat st;
    char path[700];
    snprintf(path, sizeof path, "%s/_build/run/dev.sock", proj);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/_build/run", proj);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);

    cr_assert_eq(DYNCTL("stop", proj), 0, "%s", out);
    cr_assert_eq(DYNCTL("ping", proj), 3, "%s", out);
    cr_assert(strstr(out, "not running"), "%s", out);
    cr_assert_eq(curl(port, "/"), 7, "still serving: %s", out); /* curl: cannot connect */
    char *log = slurp("_build/log/dev.log");
    cr_assert(strstr(log, "stop requested through the control socket"), "%s", log);
    cr_assert(strstr(log, "stopped cleanly"), "%s", log);
}

Test(dynctl, another_user_is_refused)
{
    if (geteuid() != 0) {
        cr_log_info("not root: cannot test another user");
        return;
    }
    start_daemon("");
    /* As nobody: the run directory (0700) and the socket (0600) keep it out. */
    cr_assert_eq(sh("cd '%s' && setpriv --reuid=65534 --regid=65534 --clear-groups %s ping", proj,
                    DYNCTL_BIN),
                 7, "%s", out);
    cr_assert(strstr(out, "permission denied"), "%s", out);
    cr_assert_eq(DYNCTL("stop", proj), 0, "%s", out);
}

/* ---- heart ---------------------------------------------------------------------------------- */

Test(dynctl, heart_restarts_a_crashed_node_but_not_a_stopped_one)
{
    start_daemon("");
    pid_t first = node_pid("dev");
    cr_assert_gt(first, 0);
    kill(first, SIGSEGV);
    pid_t second = wait_restarted("dev", first);
    kill(second, SIGKILL);
    pid_t third = wait_restarted("dev", second);
    char *log = slurp("_build/log/dev.log");
#ifdef DYN_ASAN
    /* ASan takes the SIGSEGV, reports it and exits with status 1, or aborts when ASAN_OPTIONS
     * has abort_on_error=1 (as scripts/test.sh sets it): a crash all the same. */
    cr_assert(strstr(log, "AddressSanitizer: SEGV") &&
                  (strstr(log, "exited with status 1") || strstr(log, "killed by SIGABRT")),
              "%s", log);
#else
    cr_assert(strstr(log, "was killed by SIGSEGV"), "%s", log);
#endif
    cr_assert(strstr(log, "was killed by SIGKILL"), "%s", log);
    cr_assert(strstr(log, "restarting in 0.5 s (restart 1 of 5"), "%s", log);
    cr_assert(strstr(log, "restarting in 1.0 s (restart 2 of 5"), "%s", log);

    /* SIGTERM to the node itself is a clean stop: no restart, the heart goes too. */
    kill(third, SIGTERM);
    int64_t end = now_ms() + MS(20000);
    while (DYNCTL("pid", proj) != 3 || has("_build/run/dev.pid")) {
        cr_assert(now_ms() < end, "still running: %s", out);
        usleep(50000);
    }
    usleep(1500000); /* longer than the first restart delay */
    cr_assert_eq(DYNCTL("ping", proj), 3, "restarted after a clean stop: %s", out);
    cr_assert(strstr(slurp("_build/log/dev.log"), "stopped cleanly"), "%s",
              slurp("_build/log/dev.log"));
}

Test(dynctl, heart_gives_up_past_its_intensity)
{
    start_daemon("--max-restarts 1 --max-seconds 60");
    pid_t first = node_pid("dev");
    kill(first, SIGKILL);
    pid_t second = wait_restarted("dev", first);
    kill(second, SIGKILL);
    int64_t end = now_ms() + MS(20000);
    while (DYNCTL("ping", proj) != 3) {
        cr_assert(now_ms() < end, "still running: %s", out);
        usleep(50000);
    }
    cr_assert(strstr(slurp("_build/log/dev.log"), "1 restarts within 60 s already, giving up"),
              "%s", slurp("_build/log/dev.log"));
}

Test(dynctl, heart_kills_and_restarts_a_node_that_stops_answering)
{
    start_daemon("--heart-timeout 2");
    pid_t first = node_pid("dev");
    usleep(300000);
    kill(first, SIGSTOP); /* alive, answering nothing */
    pid_t second = wait_restarted("dev", first);
    cr_assert_neq(second, first);
    cr_assert(strstr(slurp("_build/log/dev.log"), "has not answered for 2 s: killing it"), "%s",
              slurp("_build/log/dev.log"));
}

/* ---- the ways a start fails ----------------------------------------------------------------- */

Test(dynctl, a_second_start_is_refused_and_a_taken_port_is_named)
{
    unsigned port = start_daemon("");
    cr_assert_eq(DYNCTL("start --daemon", proj), 8, "%s", out);
    cr_assert(strstr(out, "already running"), "%s", out);
    /* Another node of the project on the same port. */
    cr_assert_eq(DYNCTL_ARGS("start --daemon --node other --port %u", port), 6, "%s", out);
    char want[80];
    snprintf(want, sizeof want, "port %u on 127.0.0.1 is taken", port);
    cr_assert(strstr(out, want), "no \"%s\" in:\n%s", want, out);
    cr_assert_eq(DYNCTL("ping --node other", proj), 3, "%s", out);
    /* In the foreground too. */
    cr_assert_eq(DYNCTL_ARGS("start --node other --port %u", port), 6, "%s", out);
    cr_assert(strstr(out, want), "%s", out);
    cr_assert_eq(DYNCTL("stop --node dev", proj), 0, "%s", out);
}

Test(dynctl, a_stale_pid_file_is_named_and_removed)
{
    cr_assert_eq(sh("mkdir -p '%s/_build/run'", proj), 0);
    /* The pid of a process that has exited. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char text[32];
    snprintf(text, sizeof text, "%d\n", (int)dead);
    save("_build/run/dev.pid", text);
    cr_assert_eq(DYNCTL("ping", proj), 3, "%s", out);
    cr_assert(strstr(out, "removed a stale pid file"), "%s", out);
    cr_assert(strstr(out, "not running"), "%s", out);
    cr_assert_not(has("_build/run/dev.pid"));

    save("_build/run/dev.pid", text);
    start_daemon("");
    cr_assert(strstr(out, "removed a stale pid file"), "%s", out);
    cr_assert_neq(node_pid("dev"), dead);
    /* A socket file a killed node left behind does not make the running node ambiguous. */
    cr_assert_eq(chdir(proj), 0);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "_build/run/ghost.sock"};
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
    close(fd);
    cr_assert_eq(DYNCTL("ping", proj), 0, "%s", out);
    cr_assert_eq(DYNCTL("status", proj), 0, "%s", out);
    cr_assert_eq(DYNCTL("stop", proj), 0, "%s", out);
}

Test(dynctl, prod_needs_secret_key_base)
{
    int rc = DYNCTL("start --env prod --daemon --port 0", proj);
    cr_assert_eq(rc, 9, "%s", out);
    cr_assert(strstr(out, "SECRET_KEY_BASE is not set"), "%s", out);
    cr_assert(strstr(out, "dynctl secret"), "%s", out);
    cr_assert_eq(DYNCTL("ping --env prod", proj), 3, "%s", out);

    setenv("SECRET_KEY_BASE", "short", 1);
    cr_assert_eq(DYNCTL("start --env prod --port 0", proj), 9, "%s", out);
    cr_assert(strstr(out, "needs at least 64"), "%s", out);

    cr_assert_eq(sh("%s secret", DYNCTL_BIN), 0);
    out[strcspn(out, "\n")] = '\0';
    setenv("SECRET_KEY_BASE", out, 1);
    unsigned port = start_daemon("--env prod");
    cr_assert_eq(curl(port, "/"), 0, "%s", out);
    cr_assert(strstr(out, "Welcome to Dynamo!"), "%s", out);
    cr_assert_eq(DYNCTL("status --env prod", proj), 0, "%s", out);
    cr_assert(strstr(out, "env prod") && !strstr(out, "web=module"), "%s", out);
    cr_assert_eq(DYNCTL("stop", proj), 0, "%s", out);
    unsetenv("SECRET_KEY_BASE");
}

/* ---- the installed framework ---------------------------------------------------------------- */

Test(dynctl, an_installed_copy_builds_a_new_project_whose_tests_pass)
{
    char root[600];
    snprintf(root, sizeof root, "%s/e2e_dynctl/installed", DYN_BINARY_DIR);
    cr_assert_eq(
        sh("rm -rf '%s' && cmake --install '%s' --prefix '%s/prefix'", root, DYN_BINARY_DIR, root),
        0, "%s", out);
    cr_assert_eq(sh("cd '%s' && ./prefix/bin/dynctl new kiosk && cd kiosk && "
                    "../prefix/bin/dynctl test",
                    root),
                 0, "%s", out);
    cr_assert(strstr(out, "100% tests passed"), "%s", out);
    cr_assert_eq(
        sh("grep -q 'dynamo_DIR.*=%s/prefix/' '%s/kiosk/_build/test/CMakeCache.txt'", root, root),
        0, "not built against the installed copy");
    /* And with pkg-config, a program of one file. */
    cr_assert_eq(sh("cc -std=gnu11 -o '%s/single' '%s/apps/single_file/single_file.c' "
                    "$(PKG_CONFIG_PATH='%s/prefix/lib/pkgconfig' pkg-config --cflags --libs "
                    "dynamo)",
                    root, DYN_SOURCE_DIR, root),
                 0, "%s", out);
    sh("rm -rf '%s'", root);
}
