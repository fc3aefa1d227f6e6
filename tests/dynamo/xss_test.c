/*
 * Escaping against cross-site scripting, in the spirit of OWASP's XSS prevention cheat sheet:
 * breaking out of quoted attributes (double and single quotes), closing a <script> block,
 * injecting tags and event handlers, NUL bytes and every kind of ill-formed UTF-8 (overlong
 * forms of '<', surrogates, code points past U+10FFFF, truncated sequences that try to swallow
 * the next character) through dyn_html_escape, and through <%= %> in a template's element
 * content and attribute values. What escaping does not fix is pinned too: a javascript: URL
 * comes out as it went in (docs/templates.md says to check URL schemes).
 */
#include <string.h>

#include "dyn_util.h"
#include "dynamo/template.h"

TestSuite(xss, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

static char out[4096];

static const char *esc(const char *s, size_t len)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_buf_t b;
    dyn_buf_init(&b, a, 8); /* grows mid-sequence */
    dyn_html_escape(&b, s, len);
    cr_assert_not(b.failed);
    cr_assert_lt(b.len, sizeof out);
    memcpy(out, b.data, b.len + 1);
    dyn_arena_free(a);
    return out;
}

#define ESC(lit) esc((lit), sizeof(lit) - 1)
#define FFFD "\xEF\xBF\xBD"

DY_TEST(xss, markup_and_quotes_become_entities)
{
    cr_assert_str_eq(ESC("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
    cr_assert_str_eq(ESC("\" onmouseover=\"alert(1)"), "&quot; onmouseover=&quot;alert(1)");
    cr_assert_str_eq(ESC("' onmouseover='alert(1)"), "&#39; onmouseover=&#39;alert(1)");
    cr_assert_str_eq(ESC("</script><script>alert(1)</script>"),
                     "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    cr_assert_str_eq(ESC("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;");
    cr_assert_str_eq(ESC("&lt; is not decoded"), "&amp;lt; is not decoded");
    cr_assert_str_eq(ESC("<!-- -->"), "&lt;!-- --&gt;");
    cr_assert_str_eq(ESC(""), "");
}

DY_TEST(xss, nul_and_ill_formed_utf8_become_replacement_characters)
{
    cr_assert_str_eq(ESC("a\0b"), "a" FFFD "b");
    /* overlong '<' (C0 BC, E0 80 BC): never a '<' */
    cr_assert_str_eq(ESC("\xC0\xBC"), FFFD FFFD);
    cr_assert_str_eq(ESC("\xE0\x80\xBC"), FFFD FFFD FFFD);
    /* a surrogate, past U+10FFFF, lone continuation bytes, bytes that are never UTF-8 */
    cr_assert_str_eq(ESC("\xED\xA0\x80"), FFFD FFFD FFFD);
    cr_assert_str_eq(ESC("\xF4\x90\x80\x80"), FFFD FFFD FFFD FFFD);
    cr_assert_str_eq(ESC("\x80\xBF"), FFFD FFFD);
    cr_assert_str_eq(ESC("\xFE\xFF"), FFFD FFFD);
    /* a truncated sequence is one replacement and never swallows what follows */
    cr_assert_str_eq(ESC("\xE2\x82<b>"), FFFD "&lt;b&gt;");
    cr_assert_str_eq(ESC("\xF0\x9F\x98\""), FFFD "&quot;");
    cr_assert_str_eq(ESC("x\xE2\x82"), "x" FFFD);
}

DY_TEST(xss, well_formed_text_passes_unchanged)
{
    const char s[] = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBD \xF4\x8F\xBF\xBF "
                     "\xED\x9F\xBF back`tick =equals/slash";
    cr_assert_str_eq(ESC(s), s);
}

DY_TEST(xss, escaping_does_not_make_urls_safe)
{
    /* A URL attribute needs its scheme checked: nothing in this one is special to HTML. */
    cr_assert_str_eq(ESC("javascript:alert(1)"), "javascript:alert(1)");
    cr_assert_str_eq(ESC("JaVaScRiPt:alert(document.cookie)"), "JaVaScRiPt:alert(document.cookie)");
}

/* Through templates: the escape.html template writes @s in an attribute and in content. */
static dyn_conn_t *render_s(dyn_conn_t *conn)
{
    const char *q = dyn_conn_query(conn);
    char *s = dyn_alloc(conn, strlen(q) + 1);
    ssize_t n = dyn_percent_decode(s, q, strlen(q), 0);
    if (n < 0)
        return dyn_resp(conn, 400, "bad");
    conn = dyn_assign(conn, "s", dyn_vstrn(s, (size_t)n));
    return dyn_render(conn, "escape.html");
}

DYN_ROUTER(xss_router, DYN_GET("/", render_s));

DY_TEST(xss, template_output_in_attributes_and_content_cannot_break_out)
{
    static const struct {
        const char *query; /* percent-encoded payload */
        const char *safe;  /* what the escaped part must be */
    } cases[] = {
        {"%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
         "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"%27%20onfocus=%27alert(1)", "&#39; onfocus=&#39;alert(1)"},
        {"%3C/p%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
         "&lt;/p&gt;&lt;img src=x onerror=alert(1)&gt;"},
        {"%C0%BCscript%C0%BE", FFFD FFFD "script" FFFD FFFD},
        {"%E2%82%22onmouseover=alert(1)", FFFD "&quot;onmouseover=alert(1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char target[256];
        snprintf(target, sizeof target, "/?%s", cases[i].query);
        dyn_conn_t *c = dy_run(&xss_router, HTTP_METHOD_GET, target);
        cr_assert_eq(dyn_test_status(c), 200, "%s", target);
        const char *b = dyn_test_body(c, NULL);
        char want[512];
        snprintf(want, sizeof want, "<p title=\"%s\">%s</p>", cases[i].safe, cases[i].safe);
        cr_assert(strncmp(b, want, strlen(want)) == 0, "%s:\n%s\nwanted\n%s", target, b, want);
        dyn_test_conn_free(c);
    }
}
