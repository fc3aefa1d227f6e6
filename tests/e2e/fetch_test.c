/*
 * Request data through real sockets, sent by curl: a file upload (multipart, the temporary
 * file gone once the request ends), a JSON post, a form with nested params, the limits
 * answering 413/400/415 (never counted as crashes), and cookies round-tripping through curl's
 * cookie jar.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_util.h"
#include "dynamo/dynamo.h"

TestSuite(fetch, .timeout = TMO(120));

/* ---- the Dynamo under test ---- */

static uint64_t fnv(int fd)
{
    uint64_t h = 14695981039346656037ull;
    char buf[65536];
    off_t off = 0;
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ (uint8_t)buf[i]) * 1099511628211ull;
        off += n;
    }
    return h;
}

static dyn_conn_t *upload(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    const dyn_upload_t *u = dyn_param_upload(conn, "file");
    if (!u)
        return dyn_resp(conn, 422, "no file");
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "title=%s name=%s type=%s size=%llu sum=%016llx path=%s",
                                dyn_param(conn, "title"), u->filename, u->content_type,
                                (unsigned long long)u->size, (unsigned long long)fnv(u->fd),
                                u->path));
}

static dyn_conn_t *echo(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    return dyn_json(conn, 200, dyn_vmap((dyn_map_t *)dyn_conn_params(conn)));
}

static dyn_conn_t *cookies(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_COOKIES);
    const char *v = dyn_req_cookie(conn, "visits");
    int visits = v ? atoi(v) : 0;
    conn = dyn_put_resp_cookie(conn, "visits", dyn_sprintf(conn, "%d", visits + 1),
                               &(dyn_cookie_opts_t){.max_age = 3600});
    if (visits == 1)
        conn = dyn_delete_resp_cookie(conn, "theme", NULL);
    else if (visits == 0)
        conn = dyn_put_resp_cookie(conn, "theme", "dark", NULL);
    const char *theme = dyn_req_cookie(conn, "theme");
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "visits=%d theme=%s", visits, theme ? theme : "-"));
}

DYN_ROUTER(e2e_fetch_router, DYN_POST("/upload", upload), DYN_POST("/echo/:id", echo),
           DYN_GET("/cookies", cookies));

static char upload_dir[64];

static dyn_dynamo_t dynamo = {
    .name = "e2e_fetch",
    .endpoint = &e2e_fetch_router,
    .env = DYN_ENV_TEST,
    .limits = {.max_body_size = 4u << 20},
    .dyn_limits = {.max_file_size = 2u << 20,
                   .max_form_size = 1000,
                   .upload_dir = upload_dir,
                   .named_uploads = true},
};

static int64_t blocks;
static uint16_t port;

static void start(bool named)
{
    act_report_set(act_report_silent, NULL);
    blocks = act_mem_live_blocks();
    strcpy(upload_dir, "/tmp/dyn_e2e_XXXXXX");
    cr_assert(mkdtemp(upload_dir));
    dynamo.dyn_limits.named_uploads = named;
    act_config_t cfg = {.schedulers = 2};
    cr_assert_eq(act_system_start(&cfg), 0);
    cr_assert_eq(dyn_start_link(&dynamo, NULL), 0);
    port = dyn_port("e2e_fetch");
    cr_assert(port);
}

/* Temporary files of the test (uploaded, a cookie jar), removed by .fini however it ends. */
static char made[4][64];
static int nmade;

static void temp_file(char *tmpl)
{
    int fd = mkstemp(tmpl);
    cr_assert(fd >= 0);
    close(fd);
    if (nmade < 4)
        snprintf(made[nmade++], sizeof made[0], "%s", tmpl);
}

static void stop(void)
{
    for (int i = 0; i < nmade; i++)
        unlink(made[i]);
    if (act_system_running()) {
        dyn_stop("e2e_fetch", MS(5000));
        act_system_stop();
    }
    rmdir(upload_dir);
}

static void check_stop(void)
{
    cr_assert_eq(dyn_stop("e2e_fetch", MS(5000)), 0);
    cr_assert_eq(act_system_stop(), 0);
    cr_assert_eq(act_mem_live_blocks(), blocks, "leaked");
    cr_assert_eq(rmdir(upload_dir), 0, "an upload was left in %s", upload_dir);
}

static void start_named(void)
{
    start(true);
}

static void start_unnamed(void)
{
    start(false);
}

/* ---- curl ---- */

/* Runs curl with args (silent, a 30 s cap, the status on a last line of its own); *status
 * gets the HTTP status, out the body. Returns curl's exit code. */
static int curl(char *out, size_t cap, int *status, const char *const *args)
{
    const char *argv[64] = {"curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}"};
    size_t n = 6;
    for (; *args && n < 62; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    int pipefd[2];
    cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 1);
        execvp("curl", (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(pipefd[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    close(pipefd[0]);
    out[len] = '\0';
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    char *nl = strrchr(out, '\n');
    *status = nl ? atoi(nl + 1) : 0;
    if (nl)
        *nl = '\0';
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static char url_buf[256];

static const char *url(const char *path)
{
    snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%u%s", port, path);
    return url_buf;
}

/* A file of `size` pseudo-random bytes; returns its FNV-1a hash. */
static uint64_t make_file(const char *path, size_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0);
    uint32_t x = 12345;
    char buf[4096];
    for (size_t done = 0; done < size;) {
        size_t n = size - done < sizeof buf ? size - done : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (char)(x >> 16);
        }
        cr_assert_eq(write(fd, buf, n), (ssize_t)n);
        done += n;
    }
    uint64_t h = fnv(fd);
    close(fd);
    return h;
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Descriptors of this process open on a file of dir (an O_TMPFILE file reads as
 * "dir/#123 (deleted)"). */
static size_t fds_in(const char *dir)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert(d);
    size_t n = 0, dl = strlen(dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], target[512];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len > 0 && (size_t)len > dl && strncmp(target, dir, dl) == 0 && target[dl] == '/')
            n++;
    }
    closedir(d);
    return n;
}

/* ---- tests ---- */

Test(fetch, a_curl_upload_arrives_whole_and_its_file_goes_with_the_request, .init = start_named,
     .fini = stop)
{
    char file[] = "/tmp/dyn_e2e_up_XXXXXX";
    temp_file(file);
    uint64_t sum = make_file(file, (3u << 20) / 2); /* 1.5 MiB: many reads, 100-continue */
    char form_file[128], out[4096], want[256];
    snprintf(form_file, sizeof form_file, "file=@%s;type=image/png;filename=holiday.png", file);
    int status;
    const char *args[] = {"-F", "title=Summer 2024", "-F", form_file, url("/upload"), NULL};
    cr_assert_eq(curl(out, sizeof out, &status, args), 0, "%s", out);
    cr_assert_eq(status, 200, "%s", out);
    snprintf(want, sizeof want,
             "title=Summer 2024 name=holiday.png type=image/png size=%u sum=%016llx path=%s/",
             (3u << 20) / 2, (unsigned long long)sum, upload_dir);
    cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s\nwanted %s", out, want);
    /* The upload's name goes when the request's arena does, just after the response. */
    for (int i = 0; i < 200 && dir_entries(upload_dir) != 0; i++)
        usleep(10000);
    cr_assert_eq(dir_entries(upload_dir), 0, "the upload outlived its request");
    check_stop();
}

Test(fetch, an_unnamed_upload_leaves_no_descriptor_behind, .init = start_unnamed, .fini = stop)
{
    char file[] = "/tmp/dyn_e2e_up_XXXXXX";
    temp_file(file);
    make_file(file, 100000);
    char form_file[128], out[4096];
    snprintf(form_file, sizeof form_file, "file=@%s", file);
    int status;
    for (int round = 0; round < 5; round++) {
        const char *args[] = {"-F", form_file, url("/upload"), NULL};
        cr_assert_eq(curl(out, sizeof out, &status, args), 0);
        cr_assert_eq(status, 200, "%s", out);
        cr_assert(strstr(out, "path=/proc/self/fd/"), "%s", out);
    }
    /* The uploads' descriptors go with their requests' arenas, just after the responses. */
    for (int i = 0; i < 300 && fds_in(upload_dir) > 0; i++)
        usleep(10000);
    cr_assert_eq(fds_in(upload_dir), 0, "an upload's descriptor outlived its request");
    check_stop();
}

Test(fetch, a_json_post_and_a_form_with_nested_params, .init = start_named, .fini = stop)
{
    char out[4096];
    int status;
    const char *json[] = {"-H",
                          "content-type: application/json",
                          "--data",
                          "{\"user\":{\"name\":\"Jos\xc3\xa9\",\"langs\":[\"c\",\"erlang\"]},"
                          "\"id\":\"body\",\"n\":3.5}",
                          url("/echo/7?page=2"),
                          NULL};
    cr_assert_eq(curl(out, sizeof out, &status, json), 0);
    cr_assert_eq(status, 200, "%s", out);
    cr_assert_str_eq(out,
                     "{\"id\":\"7\",\"page\":\"2\",\"user\":{\"name\":\"Jos\xc3\xa9\",\"langs\":"
                     "[\"c\",\"erlang\"]},\"n\":3.5}");
    const char *form[] = {"--data",
                          "user[name]=Ann&user[langs][]=c&user[langs][]=erlang&"
                          "users[][name]=a&users[][name]=b&q=x+y%21",
                          url("/echo/8"), NULL};
    cr_assert_eq(curl(out, sizeof out, &status, form), 0);
    cr_assert_eq(status, 200, "%s", out);
    cr_assert_str_eq(out, "{\"id\":\"8\",\"user\":{\"name\":\"Ann\",\"langs\":[\"c\",\"erlang\"]},"
                          "\"users\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"q\":\"x y!\"}");
    check_stop();
}

Test(fetch, limits_answer_413_400_415_and_are_not_crashes, .init = start_named, .fini = stop)
{
    char out[4096];
    int status;
    /* A form past max_form_size (1000 bytes). */
    char big_form[1200];
    memset(big_form, 'a', sizeof big_form - 1);
    memcpy(big_form, "f=", 2);
    big_form[sizeof big_form - 1] = '\0';
    const char *a1[] = {"--data", big_form, url("/echo/1"), NULL};
    curl(out, sizeof out, &status, a1);
    cr_assert_eq(status, 413, "%s", out);
    /* A body past the HTTP server's max_body_size (4 MiB): refused from its Content-Length. */
    char file[] = "/tmp/dyn_e2e_big_XXXXXX";
    temp_file(file);
    make_file(file, 5u << 20);
    char data_file[128];
    snprintf(data_file, sizeof data_file, "@%s", file);
    const char *a2[] = {
        "-H", "content-type: application/json", "--data-binary", data_file, url("/echo/1"), NULL};
    curl(out, sizeof out, &status, a2);
    cr_assert_eq(status, 413, "%s", out);
    /* A file part past max_file_size (2 MiB) in a body under 4 MiB. */
    make_file(file, 3u << 20);
    char form_file[128];
    snprintf(form_file, sizeof form_file, "file=@%s", file);
    const char *a3[] = {"-F", form_file, url("/upload"), NULL};
    curl(out, sizeof out, &status, a3);
    cr_assert_eq(status, 413, "%s", out);
    /* Malformed JSON, an unknown media type. */
    const char *a4[] = {"-H", "content-type: application/json", "--data", "{\"a\":", url("/echo/1"),
                        NULL};
    curl(out, sizeof out, &status, a4);
    cr_assert_eq(status, 400, "%s", out);
    const char *a5[] = {"-H", "content-type: text/csv", "--data", "a,b", url("/echo/1"), NULL};
    curl(out, sizeof out, &status, a5);
    cr_assert_eq(status, 415, "%s", out);
    /* A multipart body without its close delimiter, over a raw socket. */
    hu_resp_t r;
    const char *raw = "POST /upload HTTP/1.1\r\nHost: x\r\n"
                      "Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 51\r\n\r\n"
                      "--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nxx";
    cr_assert_eq(hu_exchange(port, raw, &r), 400);
    hu_resp_free(&r);
    /* The connection and the node go on; none of this was a crash. */
    const char *ok[] = {"--data", "a=1", url("/echo/1"), NULL};
    cr_assert_eq(curl(out, sizeof out, &status, ok), 0);
    cr_assert_eq(status, 200);
    dyn_info_t info;
    cr_assert_eq(dyn_info("e2e_fetch", &info), 0);
    cr_assert_eq(info.crashes, 0);
    check_stop();
}

Test(fetch, cookies_round_trip_through_curls_jar, .init = start_named, .fini = stop)
{
    char jar[] = "/tmp/dyn_e2e_jar_XXXXXX";
    temp_file(jar);
    char out[4096];
    int status;
    const char *args[] = {"-b", jar, "-c", jar, url("/cookies"), NULL};
    cr_assert_eq(curl(out, sizeof out, &status, args), 0);
    cr_assert_str_eq(out, "visits=0 theme=-");
    cr_assert_eq(curl(out, sizeof out, &status, args), 0);
    cr_assert_str_eq(out, "visits=1 theme=dark");
    cr_assert_eq(curl(out, sizeof out, &status, args), 0);
    cr_assert_str_eq(out, "visits=2 theme=-"); /* deleted by the last response */
    /* The Set-Cookie lines as sent. */
    const char *head[] = {"-D", "-", "-o", "/dev/null", "-b", "visits=9", url("/cookies"), NULL};
    cr_assert_eq(curl(out, sizeof out, &status, head), 0);
    cr_assert(strstr(out, "set-cookie: visits=10; Path=/; Expires="), "%s", out);
    cr_assert(strstr(out, "; Max-Age=3600; HttpOnly; SameSite=Lax\r\n"), "%s", out);
    check_stop();
}
