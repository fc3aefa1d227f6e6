/*
 * Code reloading end to end, as a developer lives it: a copy of apps/hello in a temporary
 * directory is built on its own against this build of the framework (its dev build: web/ is a
 * module), started, and edited while it runs. Each edit is a plain save; the test then asks
 * until the new response comes (requests wait for a pending build, so the first answer after
 * the build is the new one), within a deadline.
 *
 * Covered: a route edit, a template edit, a new template in a new directory and the route
 * that renders it, a compile error (the page shows it escaped with file:line, other requests
 * keep the old code, a fix brings the new one), and a request in flight during a swap (it
 * finishes on the code it started with, which stays mapped until then and is unloaded after).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client_util.h"
#include "proc_util.h"

TestSuite(reload, .timeout = TMO(300));

static char root[] = "/tmp/dyn_reload_XXXXXX";
static char app[256];
static proc_t node;
static uint16_t port;

__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", app, rel);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

/* Saves a file as an editor would (truncate and write in place). */
static void save(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", app, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* Replaces the first `from` in file rel by `to`. */
static void edit(const char *rel, const char *from, const char *to)
{
    char *s = slurp(rel);
    char *at = strstr(s, from);
    cr_assert_not_null(at, "%s has no %s", rel, from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    save(rel, out);
    free(out);
    free(s);
}

/* The node's reports about reloading and anything else it wrote to stderr but request log
 * lines (dropped: they would push the rest out), collected as its stderr is read. */
static char reloads[16384];

static void pump(void)
{
    proc_drain(&node);
    char *start = node.errbuf, *nl;
    while ((nl = memchr(start, '\n', node.errlen - (size_t)(start - node.errbuf)))) {
        *nl = '\0';
        bool request_line = strstr(start, " -> ") && strstr(start, " in ");
        if (!request_line) {
            size_t used = strlen(reloads), n = strlen(start);
            if (used + n + 2 <= sizeof reloads) {
                memcpy(reloads + used, start, n);
                memcpy(reloads + used + n, "\n", 2);
            }
        }
        start = nl + 1;
    }
    size_t rest = node.errlen - (size_t)(start - node.errbuf);
    memmove(node.errbuf, start, rest);
    node.errlen = rest;
    node.errbuf[rest] = '\0';
}

/* GET target (with an Accept header if accept); status and body in r. */
static int get(const char *target, const char *accept, hu_resp_t *r)
{
    char req[1024];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: localhost\r\n%s%s%sConnection: close\r\n\r\n", target,
             accept ? "Accept: " : "", accept ? accept : "", accept ? "\r\n" : "");
    pump();
    return hu_exchange(port, req, r);
}

/* Asks until the body of GET target holds want (or the deadline passes). */
static void wait_for(const char *target, const char *accept, int status, const char *want)
{
    int64_t end = now_ms() + MS(60000);
    hu_resp_t r = {0};
    int got = -1;
    for (;;) {
        got = get(target, accept, &r);
        if (got == status && r.body && strstr(r.body, want))
            break;
        if (now_ms() > end)
            cr_assert_fail("GET %s: wanted %d with \"%s\", got %d: %s\nnode:\n%s", target, status,
                           want, got, r.body ? r.body : "", reloads);
        hu_resp_free(&r);
        usleep(20000);
    }
    hu_resp_free(&r);
}

/* A copy of apps/hello, configured and built against this build, then started. */
static void start(void)
{
    cr_assert_not_null(mkdtemp(root));
    snprintf(app, sizeof app, "%s/hello", root);
    /* Without the builds dynctl may have left in apps/hello/_build (sockets included). */
    cr_assert_eq(sh("mkdir '%s' && tar -C '%s/apps/hello' --exclude=./_build -cf - . | "
                    "tar -C '%s' -xf -",
                    app, DYN_SOURCE_DIR, app),
                 0);
    cr_assert_eq(sh("cmake -S '%s' -B '%s/build' -G Ninja -DCMAKE_MAKE_PROGRAM='%s' "
                    "-DCMAKE_C_COMPILER='%s' -DCMAKE_BUILD_TYPE='%s' -Ddynamo_DIR='%s' "
                    "-DDYNAMO_ENV=dev > '%s/configure.log' 2>&1",
                    app, app, DYN_MAKE_PROGRAM, DYN_C_COMPILER, DYN_BUILD_TYPE, DYN_BINARY_DIR,
                    root),
                 0, "configure failed: see %s/configure.log", root);
    cr_assert_eq(sh("cmake --build '%s/build' > '%s/build.log' 2>&1", app, root), 0,
                 "build failed: see %s/build.log", root);
    char bin[512];
    snprintf(bin, sizeof bin, "%s/build/hello", app);
    char *argv[] = {bin, "--port", "0", NULL};
    proc_start(&node, argv);
    char line[256];
    cr_assert(proc_line(&node, line, sizeof line, MS(20000)), "no output; stderr: %s", node.errbuf);
    unsigned p = 0;
    cr_assert_eq(sscanf(line, "hello: serving on http://127.0.0.1:%u", &p), 1, "%s", line);
    port = (uint16_t)p;
}

/* The end of a test's body: the node stops cleanly (no sanitizer report, status 0). Checked
 * here, not in .fini, where Criterion ignores failed assertions. */
static void finish(void)
{
    pump();
    kill(node.pid, SIGTERM);
    cr_assert(proc_wait(&node, MS(20000)), "the node did not stop; node:\n%s", reloads);
    pump();
    cr_assert_eq(node.status, 0, "the node's exit status %d; node:\n%s%s", node.status, reloads,
                 node.errbuf);
}

static void stop(void)
{
    if (node.pid > 0) {
        kill(node.pid, SIGTERM);
        if (!proc_wait(&node, MS(10000)))
            fprintf(stderr, "reload: the node did not stop\n");
    }
    proc_end(&node);
    if (root[strlen(root) - 1] != 'X' && !getenv("DYN_KEEP_RELOAD"))
        sh("rm -rf '%s'", root);
}

Test(reload, edits_of_routes_and_templates_are_served_without_a_restart, .init = start,
     .fini = stop)
{
    wait_for("/hello/world", NULL, 200, "Hello world");

    /* a route */
    edit("web/routers/application_router.c", "dyn_resp(conn, 200, \"Hello world\")",
         "dyn_resp(conn, 200, \"Hello, reloaded world\")");
    wait_for("/hello/world", NULL, 200, "Hello, reloaded world");

    /* a template */
    edit("web/templates/about.html.eex", "<p>", "<p>Edited while running. ");
    wait_for("/section/about", NULL, 200, "<p>Edited while running. Dynamo in C");

    /* a new template in a new directory, and a route that renders it */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/web/templates/notes", app);
    cr_assert_eq(mkdir(dir, 0755), 0);
    save("web/templates/notes/first.html.eex", "<p>note <%= @n %> of <%= @title %></p>\n");
    edit("web/routers/application_router.c", "DYN_GET(\"/hello/world\", hello_world),",
         "DYN_GET(\"/hello/world\", hello_world), DYN_GET(\"/note\", note),");
    edit("web/routers/application_router.c", "/* get \"/hello/world\" do",
         "static dyn_conn_t *note(dyn_conn_t *conn)\n{\n"
         "    conn = dyn_assign_int(conn, \"n\", 1);\n"
         "    conn = dyn_assign_str(conn, \"title\", \"<notes>\");\n"
         "    return dyn_render(conn, \"notes/first.html\");\n}\n\n"
         "/* get \"/hello/world\" do");
    wait_for("/note", NULL, 200, "<p>note 1 of &lt;notes&gt;</p>");
    /* the new directory is watched too */
    save("web/templates/notes/first.html.eex", "<p>second take: <%= @n %></p>\n");
    wait_for("/note", NULL, 200, "<p>second take: 1</p>");

    /* A compile error: a page shows it, escaped, with the file and line; everything else is
     * served by the last good version, until a fix. */
    edit("web/routers/application_router.c", "\"Hello, reloaded world\"",
         "\"Hello, broken world\" <b>oops</b>");
    int line = 0;
    char *src = slurp("web/routers/application_router.c");
    for (char *p = src; (p = strchr(p, '\n')) && p < strstr(src, "<b>oops</b>"); p++)
        line++;
    free(src);
    char where[128];
    snprintf(where, sizeof where, "web/routers/application_router.c:%d:", line + 1);
    wait_for("/", "text/html,application/xhtml+xml", 500, where);
    hu_resp_t r;
    cr_assert_eq(get("/", "text/html", &r), 500);
    cr_assert(strstr(r.body, "The web code does not build"), "%s", r.body);
    cr_assert(strstr(r.body, "&lt;b&gt;oops&lt;/b&gt;"), "the source line, escaped: %s", r.body);
    cr_assert_null(strstr(r.body, "<b>oops</b>"), "%s", r.body);
    hu_resp_free(&r);
    cr_assert_eq(get("/hello/world", NULL, &r), 200, "%s", r.body);
    cr_assert_str_eq(r.body, "Hello, reloaded world");
    hu_resp_free(&r);
    cr_assert_eq(get("/section/about", "application/json", &r), 200);
    hu_resp_free(&r);
    edit("web/routers/application_router.c", "\"Hello, broken world\" <b>oops</b>",
         "\"Hello, fixed world\"");
    wait_for("/hello/world", "text/html", 200, "Hello, fixed world");
    cr_assert_eq(get("/", "text/html", &r), 200);
    cr_assert(strstr(r.body, "<h1>Welcome to Dynamo!</h1>"), "%s", r.body);
    hu_resp_free(&r);
    pump();
    cr_assert(strstr(reloads, "the build failed"), "%s", reloads);
    finish();
}

/* The lines of /proc/<pid>/maps naming a loaded copy of version v of the module. */
static bool mapped(int version)
{
    char path[64], want[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)node.pid);
    snprintf(want, sizeof want, ".%d.%d.so", (int)node.pid, version);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, ".dynamo-reload/") && strstr(line, want);
    fclose(f);
    return found;
}

Test(reload, a_request_in_flight_finishes_on_its_code_which_is_unloaded_after, .init = start,
     .fini = stop)
{
    cr_assert(mapped(1), "version 1 is loaded");
    /* Version 2: a route that says it started (a file), then waits for another file before it
     * answers. (It does not stream: the application router's finalize hook sets a header.) */
    char started[512], go[512];
    snprintf(started, sizeof started, "%s/started", root);
    snprintf(go, sizeof go, "%s/go", root);
    char route[2048];
    snprintf(route, sizeof route,
             "#include <stdio.h>\n#include <unistd.h>\n"
             "static dyn_conn_t *slow(dyn_conn_t *conn)\n{\n"
             "    fclose(fopen(\"%s\", \"w\"));\n"
             "    for (int i = 0; i < 6000 && access(\"%s\", F_OK) != 0; i++)\n"
             "        act_sleep(10);\n"
             "    return dyn_resp(conn, 200, \"answered by A\");\n}\n\n"
             "/* get \"/hello/world\" do",
             started, go);
    edit("web/routers/application_router.c", "/* get \"/hello/world\" do", route);
    edit("web/routers/application_router.c", "DYN_GET(\"/hello/world\", hello_world),",
         "DYN_GET(\"/hello/world\", hello_world), DYN_GET(\"/slow\", slow),");
    edit("web/routers/application_router.c", "dyn_resp(conn, 200, \"Hello world\")",
         "dyn_resp(conn, 200, \"Hello from A\")");
    wait_for("/hello/world", NULL, 200, "Hello from A");
    cr_assert(mapped(2));

    /* A request that starts on version 2 and waits. */
    hu_conn_t *c = hu_connect(port);
    cr_assert_eq(hu_send(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", -1), 0);
    int64_t end = now_ms() + MS(20000);
    while (access(started, F_OK) != 0) {
        cr_assert_lt(now_ms(), end, "the slow request did not start");
        usleep(5000);
    }

    /* Version 3 replaces it while the request runs. */
    edit("web/routers/application_router.c", "\"Hello from A\"", "\"Hello from B\"");
    edit("web/routers/application_router.c", "answered by A", "answered by B");
    wait_for("/hello/world", NULL, 200, "Hello from B");
    cr_assert(mapped(3));
    cr_assert(mapped(2), "version 2 stays loaded while its request runs");

    /* The request finishes on the code it started with. */
    FILE *f = fopen(go, "w");
    cr_assert_not_null(f);
    fclose(f);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0, "no answer; node:\n%s", reloads);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "answered by A");
    hu_resp_free(&r);
    hu_close(c);

    /* ... and its version is unloaded once it is done. */
    end = now_ms() + MS(10000);
    while (mapped(2) && now_ms() < end)
        usleep(10000);
    cr_assert_not(mapped(2), "version 2 is unloaded after its last request");
    cr_assert(mapped(3));
    cr_assert_eq(get("/slow", NULL, &r), 200); /* the file exists: version 3 answers at once */
    cr_assert_str_eq(r.body, "answered by B");
    hu_resp_free(&r);
    finish();
}
