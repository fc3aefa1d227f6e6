/*
 * Compiled templates, end to end: the .eex files under tests/dynamo/templates are compiled by
 * the build (dynamo_add_templates, set "tt") into this binary, then rendered through routes
 * with dyn_render and the test helpers: output by type, escaping and raw output, loops,
 * partials with their own assigns, layouts, content types, statuses, trimming, literals, and
 * the errors a template can make (a missing assign, template, layout or partial, a map
 * written out, partials that recurse, a crash whose backtrace names the .eex file and line).
 */
#include <string.h>

#include "dyn_util.h"
#include "dynamo/template.h"

DYN_TEMPLATES_DECLARE(tt);

TestSuite(template, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

#define HAS(body, s) cr_assert(strstr((body), (s)) != NULL, "missing %s in:\n%s", (s), (body))
#define HASNT(body, s) cr_assert(strstr((body), (s)) == NULL, "unexpected %s in:\n%s", (s), (body))

static const char xss[] = "<a href=\"x\">'&'</a>";

static dyn_value_t map_of(dyn_conn_t *conn, const char *k1, dyn_value_t v1, const char *k2,
                          dyn_value_t v2)
{
    dyn_map_t *m = dyn_map_new(dyn_conn_arena(conn));
    dyn_map_put(m, k1, v1);
    if (k2)
        dyn_map_put(m, k2, v2);
    return dyn_vmap(m);
}

/* The assigns every template of the suite may use. */
static dyn_conn_t *standard_assigns(dyn_conn_t *conn)
{
    dyn_arena_t *a = dyn_conn_arena(conn);
    conn = dyn_assign_str(conn, "s", xss);
    conn = dyn_assign_int(conn, "n", 42);
    conn = dyn_assign_str(conn, "title", "T<1>");
    dyn_list_t *list = dyn_list_new(a, 0);
    dyn_list_push(list, dyn_vint(1));
    dyn_list_push(list, dyn_vstr("<two>"));
    dyn_list_push(list, dyn_vfloat(3.5));
    conn = dyn_assign(conn, "list", dyn_vlist(list));
    dyn_list_t *items = dyn_list_new(a, 0);
    for (int i = 1; i <= 6; i++)
        dyn_list_push(items, dyn_vint(i));
    conn = dyn_assign(conn, "items", dyn_vlist(items));
    conn = dyn_assign(conn, "map", map_of(conn, "a", dyn_vint(1), "b", dyn_vstr("<2>")));
    conn = dyn_assign(conn, "nothing", dyn_vnull());
    dyn_list_t *pairs = dyn_list_new(a, 0);
    for (int i = 0; i < 3; i++) {
        dyn_list_t *t = dyn_list_new(a, 2);
        dyn_list_push(t, dyn_vint(i));
        dyn_list_push(t, dyn_vstr(i == 1 ? "<b>" : "x"));
        dyn_list_push(pairs, dyn_vlist(t));
    }
    conn = dyn_assign(conn, "pairs", dyn_vlist(pairs));
    dyn_list_t *fruits = dyn_list_new(a, 0);
    dyn_list_push(fruits, map_of(conn, "name", dyn_vstr("Apple"), NULL, dyn_vnull()));
    dyn_list_push(fruits, map_of(conn, "name", dyn_vstr("<Orange>"), NULL, dyn_vnull()));
    return dyn_assign(conn, "fruits", dyn_vlist(fruits));
}

/* /r/<template name>: renders it with the standard assigns. */
static dyn_conn_t *render_plain(dyn_conn_t *conn)
{
    conn = standard_assigns(conn);
    return dyn_render(conn, dyn_param(conn, "name"));
}

/* /l/<layout>/<template name>: the same inside a layout. */
static dyn_conn_t *render_layout(dyn_conn_t *conn)
{
    conn = standard_assigns(conn);
    const char *l = dyn_param(conn, "layout");
    if (strcmp(l, "false") == 0)
        conn = dyn_assign_bool(conn, "layout", false);
    else
        conn = dyn_assign_str(conn, "layout", l);
    return dyn_render(conn, dyn_param(conn, "name"));
}

static dyn_conn_t *render_with_status(dyn_conn_t *conn)
{
    conn = standard_assigns(conn);
    return dyn_render(dyn_status(conn, 201), "page.html");
}

static dyn_conn_t *render_own_type(dyn_conn_t *conn)
{
    conn = standard_assigns(conn);
    conn = dyn_put_resp_content_type(conn, "application/vnd.test+json", NULL);
    return dyn_render(conn, "data.json");
}

DYN_ROUTER(tt_router, DYN_GET("/r/*name", render_plain), DYN_GET("/l/:layout/*name", render_layout),
           DYN_GET("/status", render_with_status), DYN_GET("/own-type", render_own_type));

static const dyn_dynamo_t dev = {.name = "tt_dev", .endpoint = &tt_router, .env = DYN_ENV_DEV};

static dyn_conn_t *get(const char *target)
{
    return dy_run(&tt_router, HTTP_METHOD_GET, target);
}

static const char *body(dyn_conn_t *c)
{
    return dyn_test_body(c, NULL);
}

DY_TEST(template, writes_each_type_its_own_way)
{
    dyn_conn_t *c = get("/r/types.txt");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(body(c), "cstr=a<b|null=|str=s&t|char=x\n"
                              "int=-42|min=-9223372036854775808|uint=18446744073709551615|size=4\n"
                              "float=0.1|double=0.3333333333333333|big=1e+300|whole=2\n"
                              "bool=true/false\n"
                              "v.null=|v.int=42|v.float=2.5|v.bool=true\n"
                              "v.list=1<two>3.5|v.str=<a href=\"x\">'&'</a>\n");
    /* a txt template is not escaped, and says what it is */
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "text/plain; charset=utf-8");
    dyn_test_conn_free(c);
}

DY_TEST(template, escapes_html_output_and_leaves_raw_output)
{
    dyn_conn_t *c = get("/r/escape.html");
    cr_assert_str_eq(body(c), "<p title=\"&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\">"
                              "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;</p>"
                              "<a href=\"x\">'&'</a>|<b>raw</b>\n");
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "text/html; charset=utf-8");
    dyn_test_conn_free(c);
}

DY_TEST(template, loops_over_lists_and_maps_with_break_and_continue)
{
    dyn_conn_t *c = get("/r/loop.html");
    cr_assert_str_eq(body(c), "[0:1]\n[1:3]\n[2:4]\na=1;\nb=&lt;2&gt;;\n\nend\n");
    dyn_test_conn_free(c);
}

DY_TEST(template, tuples_bind_their_items_to_names)
{
    dyn_conn_t *c = get("/r/tuples.html");
    cr_assert_eq(dyn_test_status(c), 200, "%s", body(c));
    cr_assert_str_eq(body(c), "0=x;1=&lt;b&gt;;2=x;\n[0][1][2]\n");
    dyn_test_conn_free(c);
    c = get("/r/tuple_bad.html");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(dy_wait_report("tuple_bad.html.eex:1: DYN_FOR_TUPLE: item 0 is int, not a tuple of 2",
                             MS(2000)),
              "%s", dy_reports());
    dyn_test_conn_free(c);
}

DY_TEST(template, partials_get_their_own_assigns)
{
    dyn_conn_t *c = get("/r/partials.html");
    cr_assert_eq(dyn_test_status(c), 200, "%s", body(c));
    cr_assert_str_eq(body(c), "<ul>\n<li>1. Apple</li>\n\n<li>2. &lt;Orange&gt;</li>\n\n</ul>\n"
                              "<li>first. Apple</li>\ntitle=T&lt;1&gt;\n\n");
    dyn_test_conn_free(c);

    /* no assigns passed: the partial does not see the caller's */
    c = get("/r/partial_isolated.html");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(
        dy_wait_report("shows_title.html:1: assign @title not available (assigns: none)", MS(2000)),
        "%s", dy_reports());
    dyn_test_conn_free(c);
}

DY_TEST(template, a_layout_wraps_the_page_by_name_and_format)
{
    /* "main.html" is layouts/main.html; @inner_content is written raw, @title escaped */
    dyn_conn_t *c = get("/l/main.html/page.html");
    cr_assert_eq(dyn_test_status(c), 200, "%s", body(c));
    cr_assert_str_eq(body(c), "<main title=\"T&lt;1&gt;\"><h1>T&lt;1&gt;</h1>\n</main>\n");
    dyn_test_conn_free(c);
    /* "main" is main.<format>: the json layout for a json template */
    c = get("/l/main/data.json");
    cr_assert_str_eq(body(c), "{\"wrapped\": {\"title\": \"T<1>\"}\n}\n");
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "application/json");
    dyn_test_conn_free(c);
    /* an html layout is not applied to a txt template */
    c = get("/l/main.html/note.txt");
    cr_assert_str_eq(body(c), "Note: T<1>\n");
    dyn_test_conn_free(c);
    /* false turns layouts off */
    c = get("/l/false/plain.html");
    cr_assert_str_eq(body(c), "<p>plain</p>\n");
    dyn_test_conn_free(c);
}

DY_TEST(template, keeps_a_status_and_content_type_already_set)
{
    dyn_conn_t *c = get("/status");
    cr_assert_eq(dyn_test_status(c), 201);
    cr_assert_str_eq(body(c), "<h1>T&lt;1&gt;</h1>\n");
    dyn_test_conn_free(c);
    c = get("/own-type");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "application/vnd.test+json");
    dyn_test_conn_free(c);
}

DY_TEST(template, lines_holding_only_a_statement_or_comment_leave_nothing)
{
    dyn_conn_t *c = get("/r/trim.html");
    cr_assert_str_eq(body(c), "  <p>kept</p>\ninline  stays\nx\n");
    dyn_test_conn_free(c);
}

DY_TEST(template, percent_signs_and_tag_ends_inside_code_are_code)
{
    dyn_conn_t *c = get("/r/literal.html");
    cr_assert_eq(dyn_test_status(c), 200, "%s", body(c));
    cr_assert_str_eq(body(c), "<% not a tag %> 50%&gt; %2 \na\n1\ndone\n");
    dyn_test_conn_free(c);
}

DY_TEST(template, a_missing_assign_fails_naming_it_and_those_there_are)
{
    dyn_conn_t *c = get("/r/missing.html");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(dy_wait_report("missing.html:2: assign @nope not available (assigns: @s, @n, "
                             "@title, @list, @items, @map, @nothing, @pairs, @fruits)",
                             MS(2000)),
              "%s", dy_reports());
    dyn_test_conn_free(c);
}

DY_TEST(template, missing_templates_layouts_and_partials_are_named)
{
    dyn_conn_t *c = get("/r/nope.html");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(dy_wait_report("DYN_ENOTEMPLATE", MS(2000)), "%s", dy_reports());
    cr_assert(dy_reported("template \\\"nope.html\\\" not found (templates: crash.html, "
                          "data.json, escape.html, item.html, layouts/main.html"),
              "%s", dy_reports());
    dyn_test_conn_free(c);

    dy_reports_clear();
    c = get("/l/other.html/page.html");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(dy_wait_report("layout \\\"layouts/other.html\\\" not found", MS(2000)), "%s",
              dy_reports());
    dyn_test_conn_free(c);

    dy_reports_clear();
    c = get("/r/partial_missing.html");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(
        dy_wait_report("partial_missing.html:2: partial \\\"nowhere.html\\\" not found", MS(2000)),
        "%s", dy_reports());
    dyn_test_conn_free(c);
}

DY_TEST(template, writing_a_map_and_recursing_forever_are_errors)
{
    dyn_conn_t *c = get("/r/map_out.html");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(dy_wait_report("map_out.html:1: cannot write a map", MS(2000)), "%s", dy_reports());
    dyn_test_conn_free(c);
    c = get("/r/recurse.html");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(dy_wait_report("recurse.html:1: partials nested 64 deep", MS(2000)), "%s",
              dy_reports());
    dyn_test_conn_free(c);
}

DY_TEST(template, a_crash_in_a_template_shows_its_file_and_line_in_the_backtrace)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&dev, dyn_test_conn(HTTP_METHOD_GET, "/r/crash.html"));
    cr_assert_eq(dyn_test_status(c), 500);
    const char *b = body(c);
    HAS(b, "template crash at 2");
    /* the template's function, at the template's own line */
    HAS(b, "dyn_tpl_tt__crash_2ehtml");
    HAS(b, "tests/dynamo/templates/crash.html.eex:2");
    dyn_test_conn_free(c);
}

DY_TEST(template, renders_without_a_conn_and_finds_by_set)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m = dyn_map_new(a);
    dyn_map_put(m, "title", dyn_vstr("<t>"));
    dyn_buf_t b;
    dyn_buf_init(&b, a, 0);
    cr_assert_eq(dyn_template_render(&dyn_templates_tt, "page.html", m, NULL, &b), 0);
    cr_assert_str_eq(b.data, "<h1>&lt;t&gt;</h1>\n");
    cr_assert_eq(dyn_template_render(&dyn_templates_tt, "nope.html", m, NULL, &b), DYN_ENOTEMPLATE);
    /* the process-wide lookup finds the linked set too */
    cr_assert_eq(dyn_template_find(NULL, "page.html"),
                 dyn_template_find(&dyn_templates_tt, "page.html"));
    cr_assert_str_eq(dyn_template_find(NULL, "layouts/main.json")->format, "json");
    cr_assert_null(dyn_template_find(&dyn_templates_tt, "page"));
    dyn_arena_free(a);
}

DY_TEST(template, content_types_by_format)
{
    cr_assert_str_eq(dyn_template_content_type("html"), "text/html; charset=utf-8");
    cr_assert_str_eq(dyn_template_content_type("json"), "application/json");
    cr_assert_str_eq(dyn_template_content_type("txt"), "text/plain; charset=utf-8");
    cr_assert_str_eq(dyn_template_content_type("svg"), "image/svg+xml");
    cr_assert_str_eq(dyn_template_content_type("zzz"), "application/octet-stream");
}
