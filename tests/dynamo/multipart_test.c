/*
 * multipart/form-data: fields and files through the params fetch (uploads in temporary files
 * that go when the request ends, however it ends), the malformed bodies and the limits a
 * hostile client tries, and the streamed parser (multipart_int.h) fed in every split.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dyn_util.h"
#include "multipart_int.h"

/* Directories a test made, removed with what is left in them however the test ends. */
static char made_dir[2][64];

static void fini(void)
{
    for (int i = 0; i < 2; i++)
        if (made_dir[i][0]) {
            char path[256];
            snprintf(path, sizeof path, "%s/kept", made_dir[i]);
            unlink(path);
            rmdir(made_dir[i]);
        }
    dy_fini();
}

TestSuite(multipart, .init = dy_init, .fini = fini, .timeout = TMO(30));

#define CT "multipart/form-data; boundary=XyZ"
#define PART(name) "--XyZ\r\nContent-Disposition: form-data; name=\"" name "\"\r\n\r\n"
#define FILEPART(name, fname, type)                                                                \
    "--XyZ\r\nContent-Disposition: form-data; name=\"" name "\"; filename=\"" fname                \
    "\"\r\nContent-Type: " type "\r\n\r\n"
#define END "\r\n--XyZ--\r\n"
#define NEXT "\r\n"

static const char *failure_text(const dyn_conn_t *c)
{
    const dyn_failure_t *f = dyn_conn_failure(c);
    return f ? f->text : "(no failure)";
}

static dyn_conn_t *post_mp(const char *ctype, const char *body, size_t len)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_POST, "/up");
    dyn_test_put_req_header(c, "content-type", ctype);
    return dyn_test_put_body(c, body, len);
}

/* What the route saw of its uploads, for the test to check after the request ended. */
static int seen_fd[4] = {-1, -1, -1, -1};
static char seen_path[4][256];

static void describe_upload(dyn_buf_t *b, dyn_conn_t *conn, const dyn_upload_t *u, int i)
{
    char data[64] = "";
    ssize_t n = pread(u->fd, data, sizeof data - 1, 0);
    data[n > 0 ? n : 0] = '\0';
    /* The path opens the same file while the request runs. */
    int fd = open(u->path, O_RDONLY | O_CLOEXEC);
    char again[64] = "";
    if (fd >= 0) {
        ssize_t m = read(fd, again, sizeof again - 1);
        again[m > 0 ? m : 0] = '\0';
        close(fd);
    }
    struct stat st;
    DY_CHECK(fstat(u->fd, &st) == 0 && (st.st_mode & 0777) == 0600);
    if (i < 4) {
        seen_fd[i] = u->fd;
        snprintf(seen_path[i], sizeof seen_path[i], "%s", u->path);
    }
    dyn_buf_printf(b, "[%s %s %llu %s %s]", u->filename, u->content_type ? u->content_type : "-",
                   (unsigned long long)u->size, data,
                   strcmp(data, again) == 0 ? "same" : "differs");
    (void)conn;
}

static dyn_conn_t *upload(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    dyn_buf_t b;
    dyn_buf_init(&b, dyn_conn_arena(conn), 256);
    const dyn_map_t *p = dyn_conn_params(conn);
    dyn_str_t k;
    const dyn_value_t *v;
    int files = 0;
    for (size_t i = 0; dyn_map_at(p, i, &k, &v); i++) {
        dyn_buf_printf(&b, "%s=", k.ptr);
        const dyn_upload_t *u = dyn_value_upload(conn, v);
        if (u) {
            describe_upload(&b, conn, u, files++);
        } else if (v->type == DYN_V_LIST && dyn_value_upload(conn, dyn_list_at(v->l, 0))) {
            for (size_t j = 0; j < dyn_list_len(v->l); j++)
                if ((u = dyn_value_upload(conn, dyn_list_at(v->l, j))))
                    describe_upload(&b, conn, u, files++);
        } else if (v->type == DYN_V_MAP) {
            const dyn_value_t *inner;
            dyn_str_t ik;
            for (size_t j = 0; dyn_map_at(v->m, j, &ik, &inner); j++) {
                if ((u = dyn_value_upload(conn, inner)))
                    describe_upload(&b, conn, u, files++);
                else
                    dyn_buf_printf(&b, "{%s:%s}", ik.ptr, dyn_value_str(inner, "?"));
            }
        } else {
            dyn_buf_value(&b, v, false);
        }
        dyn_buf_puts(&b, ";");
    }
    if (dyn_param(conn, "crash"))
        act_failf(ACT_CRASH, "crashing with the uploads open");
    return dyn_resp(conn, 200, b.data);
}

DYN_ROUTER(mp_router, DYN_POST("/up", upload));

static dyn_conn_t *run(const char *ctype, const char *body, size_t len)
{
    return dyn_test_run(&mp_router, post_mp(ctype, body, len));
}

/* True once nothing of upload i is left: its descriptor closed, its name (if any) gone. */
static bool upload_gone(int i)
{
    bool closed = fcntl(seen_fd[i], F_GETFD) == -1 && errno == EBADF;
    bool unnamed = strncmp(seen_path[i], "/proc/self/fd/", 14) == 0;
    return closed && (unnamed || access(seen_path[i], F_OK) != 0);
}

DY_TEST(multipart, fields_and_files_become_params_and_uploads)
{
    const char body[] = "preamble to ignore\r\n" PART("title") "Holiday" NEXT PART(
        "user[name]") "Jos\xc3\xa9" NEXT FILEPART("avatar", "me.png", "image/png") "PNGDATA" END
                                                                                   "epilogue";
    dyn_conn_t *c = run(CT, body, sizeof body - 1);
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL),
                     "title=Holiday;user={name:José};avatar=[me.png image/png 7 PNGDATA same];");
    cr_assert_not(upload_gone(0));
    dyn_test_conn_free(c);
    cr_assert(upload_gone(0), "the upload outlived its request");
}

/* No descriptor for the temporary file: 503 (an overload that passes), not a crash's 500;
 * nothing is left behind (found by the soak's fd-limit storm). */
DY_TEST(multipart, out_of_descriptors_an_upload_is_503)
{
    const char body[] =
        PART("title") "Holiday" NEXT FILEPART("avatar", "me.png", "image/png") "PNGDATA" END;
    int overloaded = 0;
    for (int leave = 0; leave <= 3; leave++) {
        dy_fds_exhaust(leave);
        dyn_conn_t *c = run(CT, body, sizeof body - 1);
        dy_fds_release();
        int st = dyn_test_status(c);
        cr_assert(st == 200 || st == 503, "%d free descriptors: %d (%s)", leave, st,
                  failure_text(c));
        overloaded += st == 503;
        dyn_test_conn_free(c);
    }
    cr_assert_gt(overloaded, 0, "no request met the descriptor limit");
}

DY_TEST(multipart, named_uploads_have_a_real_path_until_the_request_ends)
{
    char dir[] = "/tmp/dyn_mp_XXXXXX";
    cr_assert(mkdtemp(dir));
    strcpy(made_dir[0], dir);
    static dyn_dynamo_t d;
    d = (dyn_dynamo_t){.name = "named",
                       .endpoint = &mp_router,
                       .env = DYN_ENV_TEST,
                       .dyn_limits = {.upload_dir = dir, .named_uploads = true}};
    const char body[] = FILEPART("f", "a.txt", "text/plain") "abc" END;
    dyn_conn_t *c = dyn_test_run_dynamo(&d, post_mp(CT, body, sizeof body - 1));
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "f=[a.txt text/plain 3 abc same];");
    cr_assert_eq(strncmp(seen_path[0], dir, strlen(dir)), 0, "%s", seen_path[0]);
    cr_assert_eq(access(seen_path[0], F_OK), 0);
    dyn_test_conn_free(c);
    cr_assert(upload_gone(0));
    cr_assert_eq(rmdir(dir), 0, "the upload directory is not empty");
}

DY_TEST(multipart, an_upload_dir_that_cannot_hold_files_is_a_server_error)
{
    static dyn_dynamo_t d;
    d = (dyn_dynamo_t){.name = "nodir",
                       .endpoint = &mp_router,
                       .env = DYN_ENV_TEST,
                       .dyn_limits = {.upload_dir = "/nonexistent/uploads"}};
    const char body[] = FILEPART("f", "a.txt", "text/plain") "abc" END;
    dyn_conn_t *c = dyn_test_run_dynamo(&d, post_mp(CT, body, sizeof body - 1));
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(strstr(failure_text(c), "cannot create a temporary file in /nonexistent/uploads"),
              "%s", failure_text(c));
    dyn_test_conn_free(c);
}

DY_TEST(multipart, uploads_go_when_the_request_crashes)
{
    const char body[] = FILEPART("f", "a.txt", "text/plain") "aaa" NEXT PART("crash") "yes" END;
    dyn_conn_t *c = run(CT, body, sizeof body - 1);
    cr_assert_eq(dyn_test_status(c), 500);
    dyn_test_conn_free(c);
    cr_assert(upload_gone(0));
}

DY_TEST(multipart, nested_names_lists_of_files_and_empty_or_unnamed_parts)
{
    const char body[] = FILEPART("photos[]", "1.jpg", "image/jpeg") "one" NEXT FILEPART(
        "photos[]", "2.jpg",
        "image/jpeg") "two" NEXT
                      "--XyZ\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n" NEXT
                      "--XyZ\r\nContent-Type: text/plain\r\n\r\nno name" NEXT
                      "--XyZ\r\n\r\nno headers at all" NEXT
                      "--XyZ\r\ncontent-disposition: form-data; name=tags[]\r\n\r\nx" NEXT
                      "--XyZ\r\nCONTENT-DISPOSITION: form-data; NAME=\"tags[]\"\r\n\r\ny" NEXT
                      "--XyZ\r\nContent-Disposition: form-data; name=\"euro\"; "
                      "filename*=utf-8''%E2%82%AC.txt; "
                      "filename=\"fallback.txt\"\r\n\r\n\xe2\x82\xac" END;
    dyn_conn_t *c = run(CT, body, sizeof body - 1);
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL),
                     "photos=[1.jpg image/jpeg 3 one same][2.jpg image/jpeg 3 two same];"
                     "tags=[\"x\", \"y\"];euro=[\xe2\x82\xac.txt - 3 \xe2\x82\xac same];");
    dyn_test_conn_free(c);
    for (int i = 0; i < 3; i++)
        cr_assert(upload_gone(i));
}

DY_TEST(multipart, quoted_boundaries_padding_and_mixed_case_types)
{
    const char body[] = "--a b:c\t \r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n"
                        "v\r\n--a b:c--";
    dyn_conn_t *c =
        run("Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"", body, sizeof body - 1);
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "f=v;");
    dyn_test_conn_free(c);
}

DY_TEST(multipart, data_that_looks_like_a_delimiter_is_data)
{
    /* CRs, dashes and a boundary prefix inside the data; an empty field. */
    const char body[] = PART("f") "\r\r\n-\r\n--\r\n--X\r\n--Xy\r--XyZ" NEXT PART("e") END;
    dyn_conn_t *c = run(CT, body, sizeof body - 1);
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "f=\r\r\n-\r\n--\r\n--X\r\n--Xy\r--XyZ;e=;");
    dyn_test_conn_free(c);
}

static void expect_status(const char *ctype, const char *body, size_t len, int status,
                          const char *text)
{
    dyn_conn_t *c = run(ctype, body, len);
    cr_assert_eq(dyn_test_status(c), status, "%s -> %d, expected %d (%s)", body, dyn_test_status(c),
                 status, failure_text(c));
    if (text)
        cr_assert(strstr(failure_text(c), text), "%s", failure_text(c));
    dyn_test_conn_free(c);
}

#define BAD(body, text) expect_status(CT, body, sizeof body - 1, 400, text)

DY_TEST(multipart, malformed_bodies_get_400)
{
    BAD("", "ended before");
    BAD("no delimiter at all", "ended before");
    BAD(PART("a") "truncated", "ended before");
    BAD(PART("a") "x\r\n--XyZ", "ended before");
    BAD("--XyZ\r\nno colon here\r\n\r\nx" END, "without a name");
    BAD("--XyZ\r\n: empty name\r\n\r\nx" END, "without a name");
    BAD("--XyZ\r\nA: b\nC: d\r\n\r\nx" END, "malformed");
    BAD("--XyZ\r\nA: b\r\n folded\r\n\r\nx" END, "malformed");
    BAD("--XyZ\r\nA: b\rC\r\n\r\nx" END, "without CRLF");
    BAD("--XyZjunk\r\n", "malformed boundary line");
    BAD("--XyZ-x", "malformed close");
    BAD("--XyZ\rx", "without CRLF");
    BAD("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx" END, "Content-Disposition");
    BAD(PART("a") "\xff\xfe" END, "not UTF-8");
    BAD(PART("a") "a\0b" END, "not UTF-8");
    BAD("--XyZ\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nx" END, "not UTF-8");
    BAD("--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\xff.txt\"\r\n\r\nx" END,
        "filename that is not UTF-8");
    BAD("--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename*=latin1''x\r\n\r\nx" END,
        "filename*");
    BAD("--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename*=utf-8''%ff\r\n\r\nx" END,
        "filename*");
    const char ok[] = PART("a") "x" END;
    expect_status("multipart/form-data", ok, sizeof ok - 1, 400, "boundary");
    expect_status("multipart/form-data; boundary=", ok, sizeof ok - 1, 400, "boundary");
    expect_status("multipart/form-data; boundary=\"unterminated", ok, sizeof ok - 1, 400,
                  "boundary");
    expect_status("multipart/form-data; boundary=a{b", ok, sizeof ok - 1, 400, "boundary");
    expect_status("multipart/form-data; boundary=\"ends with space \"", ok, sizeof ok - 1, 400,
                  "boundary");
    char longb[128] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'b', 71);
    expect_status(longb, ok, sizeof ok - 1, 400, "boundary");
}

static dyn_conn_t *run_limited(const dyn_limits_t *lim, uint64_t max_body, const char *body,
                               size_t len)
{
    static dyn_dynamo_t d;
    d = (dyn_dynamo_t){.name = "limited", .endpoint = &mp_router, .env = DYN_ENV_TEST};
    d.dyn_limits = *lim;
    d.limits.max_body_size = max_body;
    return dyn_test_run_dynamo(&d, post_mp(CT, body, len));
}

static void expect_413(const dyn_limits_t *lim, uint64_t max_body, const char *body,
                       const char *text)
{
    dyn_conn_t *c = run_limited(lim, max_body, body, strlen(body));
    cr_assert_eq(dyn_test_status(c), 413, "%s: %d (%s)", text, dyn_test_status(c), failure_text(c));
    cr_assert(strstr(failure_text(c), text), "%s", failure_text(c));
    dyn_test_conn_free(c);
}

static void expect_ok(const dyn_limits_t *lim, uint64_t max_body, const char *body)
{
    dyn_conn_t *c = run_limited(lim, max_body, body, strlen(body));
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    dyn_test_conn_free(c);
}

DY_TEST(multipart, every_limit_answers_413_just_past_it)
{
    const char two[] = PART("a") "1" NEXT PART("b") "2" END;
    expect_ok(&(dyn_limits_t){.max_parts = 2}, 0, two);
    expect_413(&(dyn_limits_t){.max_parts = 1}, 0, two, "more than 1 parts");
    expect_ok(&(dyn_limits_t){.max_params = 2}, 0, two);
    expect_413(&(dyn_limits_t){.max_params = 1}, 0, two, "named parts");

    const char files[] = FILEPART("a", "a", "x/y") "1234" NEXT FILEPART("b", "b", "x/y") "5" END;
    expect_ok(&(dyn_limits_t){.max_files = 2, .max_file_size = 4}, 0, files);
    expect_413(&(dyn_limits_t){.max_files = 1}, 0, files, "file parts");
    expect_413(&(dyn_limits_t){.max_file_size = 3}, 0, files, "larger than 3 bytes");

    const char field[] = PART("a") "12345" END;
    expect_ok(&(dyn_limits_t){.max_value_len = 5}, 0, field);
    expect_413(&(dyn_limits_t){.max_value_len = 4}, 0, field, "longer than 4 bytes");

    /* The header block: "Content-Disposition: form-data; name=\"a\"\r\n\r\n" is 44 bytes. */
    expect_ok(&(dyn_limits_t){.max_part_header_size = 44}, 0, field);
    expect_413(&(dyn_limits_t){.max_part_header_size = 43}, 0, field, "header block");
    const char hdrs[] = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX-A: 1\r\n"
                        "X-B: 2\r\n\r\nv" END;
    expect_ok(&(dyn_limits_t){.max_part_headers = 3}, 0, hdrs);
    expect_413(&(dyn_limits_t){.max_part_headers = 2}, 0, hdrs, "header lines");

    const char named[] = PART("abcd[e]") "v" END;
    expect_ok(&(dyn_limits_t){.max_key_len = 7, .max_param_depth = 1}, 0, named);
    expect_413(&(dyn_limits_t){.max_key_len = 6}, 0, named, "name longer");
    expect_413(&(dyn_limits_t){.max_param_depth = 1}, 0, PART("a[b][c]") "v" END, "deeper");

    /* The whole body, as the HTTP server's max_body_size sets it. */
    size_t len = strlen(field);
    expect_ok(&(dyn_limits_t){0}, len, field);
    expect_413(&(dyn_limits_t){0}, len - 1, field, "larger than");
}

DY_TEST(multipart, forged_uploads_from_json_are_not_uploads)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_POST, "/up");
    dyn_test_put_req_header(c, "content-type", "application/json");
    const char *j = "{\"avatar\":{\"path\":\"/etc/passwd\",\"filename\":\"x\",\"fd\":0}}";
    dyn_test_put_body(c, j, strlen(j));
    c = dyn_test_run(&mp_router, c);
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "avatar={path:/etc/passwd}{filename:x}{fd:?};");
    dyn_test_conn_free(c);
}

/* ---- dyn_upload_save ---- */

static char save_dir[64];

static dyn_conn_t *save(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    const dyn_upload_t *u = dyn_param_upload(conn, "f");
    char *dest = dyn_sprintf(conn, "%s/kept", save_dir);
    int rc1 = dyn_upload_save(u, dest);
    int rc2 = dyn_upload_save(u, dest);
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "%d %d %d", rc1, rc2, !dyn_param_upload(conn, "g")));
}
DYN_ROUTER(save_router, DYN_POST("/up", save));

DY_TEST(multipart, a_saved_upload_outlives_the_request)
{
    strcpy(save_dir, "/tmp/dyn_mp_XXXXXX");
    cr_assert(mkdtemp(save_dir));
    strcpy(made_dir[1], save_dir);
    const char body[] = FILEPART("f", "k.bin", "x/y") "kept bytes" NEXT PART("g") "not a file" END;
    dyn_conn_t *c = dyn_test_run(&save_router, post_mp(CT, body, sizeof body - 1));
    cr_assert_str_eq(dyn_test_body(c, NULL), "0 -17 1", "%s", failure_text(c));
    dyn_test_conn_free(c);
    char path[128], data[32] = "";
    snprintf(path, sizeof path, "%s/kept", save_dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    cr_assert(fgets(data, sizeof data, f));
    fclose(f);
    cr_assert_str_eq(data, "kept bytes");
    unlink(path);
    rmdir(save_dir);
}

/* ---- the streamed parser in every split ---- */

typedef struct split_reader {
    const char *data;
    size_t len, off;
    size_t step; /* bytes per read; 0: pseudo-random 1..97 */
    uint32_t seed;
} split_reader_t;

static ssize_t split_read(void *arg, void *buf, size_t cap)
{
    split_reader_t *r = arg;
    size_t n = r->step;
    if (!n) {
        r->seed = r->seed * 1103515245u + 12345u;
        n = 1 + (r->seed >> 16) % 97;
    }
    if (n > cap)
        n = cap;
    if (n > r->len - r->off)
        n = r->len - r->off;
    memcpy(buf, r->data + r->off, n);
    r->off += n;
    return (ssize_t)n;
}

static char split_err[200];

static const char *parse_split(dyn_arena_t *a, const char *body, size_t len, size_t step,
                               uint32_t seed, int *rc)
{
    dyn__mp_limits_t lim = {
        .form = {.max_pairs = 100, .max_key_len = 100, .max_value_len = 1000, .max_depth = 4},
        .max_parts = 100,
        .max_files = 10,
        .max_file_size = 1000,
        .max_body = 100000,
        .max_header_size = 1000,
        .max_headers = 10,
        .upload_dir = "/tmp",
    };
    split_reader_t r = {body, len, 0, step, seed};
    dyn_map_t *m = dyn_map_new(a);
    dyn__upload_t *ups = NULL;
    *rc = dyn__multipart_read(a, "XyZ", split_read, &r, &lim, m, &ups, split_err, sizeof split_err);
    dyn_buf_t b;
    dyn_buf_init(&b, a, 256);
    dyn_str_t k;
    const dyn_value_t *v;
    for (size_t i = 0; dyn_map_at(m, i, &k, &v); i++) {
        dyn_buf_printf(&b, "%s=", k.ptr);
        if (v->type == DYN_V_PTR) {
            const dyn_upload_t *u = v->p;
            char data[128] = "";
            ssize_t n = pread(u->fd, data, sizeof data - 1, 0);
            dyn_buf_printf(&b, "file(%s,%zd:%s)", u->filename, n, data);
        } else {
            dyn_buf_value(&b, v, false);
        }
        dyn_buf_puts(&b, ";");
    }
    return b.data;
}

DY_TEST(multipart, every_split_of_the_body_parses_the_same)
{
    const char body[] = "pre\r\n--Xy\r\n" /* a preamble holding a delimiter's start */
        PART("a") "\r\n--XyY is not here\r\n-" NEXT FILEPART(
            "f", "n.txt", "t/p") "\r\r\r\n--X" NEXT PART("b") "--XyZ" END;
    dyn_arena_t *a = dyn_arena_new();
    int rc;
    const char *whole = parse_split(a, body, sizeof body - 1, sizeof body, 0, &rc);
    cr_assert_eq(rc, 0, "%s", split_err);
    cr_assert_str_eq(whole, "a=\r\n--XyY is not here\r\n-;f=file(n.txt,7:\r\r\r\n--X);b=--XyZ;");
    for (size_t step = 1; step <= 24; step++) {
        const char *got = parse_split(a, body, sizeof body - 1, step, 0, &rc);
        cr_assert_eq(rc, 0, "step %zu: %s", step, split_err);
        cr_assert_str_eq(got, whole, "step %zu", step);
    }
    for (uint32_t seed = 1; seed <= 200; seed++) {
        const char *got = parse_split(a, body, sizeof body - 1, 0, seed, &rc);
        cr_assert_eq(rc, 0, "seed %u: %s", seed, split_err);
        cr_assert_str_eq(got, whole, "seed %u", seed);
    }
    dyn_arena_free(a); /* closes the uploads */
}
