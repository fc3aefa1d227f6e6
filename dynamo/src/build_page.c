/*
 * The page a browser gets while the web module does not build (web_int.h): the errors first,
 * as file:line:col and message (the compiler's own lines, which #line makes point into the
 * templates too), then the whole output of the build. Everything in it is escaped: compiler
 * output quotes source lines, and source lines may hold markup.
 */
#include <string.h>

#include "web_int.h"

#include "conn_int.h"
#include "dynamo/template.h"

#define MAX_LISTED 20

static const char style[] =
    "body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#222}"
    "header{background:#b32121;color:#fff;padding:1.2em 2em}header h1{margin:0;font-size:1.5em}"
    "header p{margin:.4em 0 0}section{padding:.5em 2em}h2{font-size:1.1em;border-bottom:1px "
    "solid #ddd}ol{font-family:ui-monospace,monospace;font-size:13px}.loc{font-weight:bold}"
    "pre{font-size:13px;background:#f6f6f6;padding:1em;overflow:auto}";

/* Whether line (len bytes) is a diagnostic, "file:line[:col]: error: ...": *loc_len gets the
 * length of its location part. */
static bool diagnostic(const char *line, size_t len, size_t *loc_len)
{
    static const char *const kinds[] = {": error: ", ": fatal error: "};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const char *at = memmem(line, len, kinds[k], strlen(kinds[k]));
        if (!at || at == line)
            continue;
        /* the location ends in ":<digits>" (a line, maybe a column) */
        const char *p = at;
        while (p > line && p[-1] >= '0' && p[-1] <= '9')
            p--;
        if (p == at || p == line || p[-1] != ':')
            continue;
        *loc_len = (size_t)(at - line);
        return true;
    }
    return false;
}

void dyn__build_page(dyn_conn_t *c, const char *output)
{
    dyn_buf_t b;
    dyn_buf_init(&b, c->arena, 4096 + strlen(output) * 11 / 10);
    dyn_buf_printf(&b,
                   "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<title>Build error</title><style>%s</style></head><body>"
                   "<header><h1 id=\"reason\">The web code does not build</h1>"
                   "<p>The last good version keeps serving everything but pages; save a fix "
                   "and reload.</p></header>",
                   style);
    dyn_buf_puts(&b, "<section id=\"errors\"><h2>Errors</h2><ol>");
    size_t listed = 0;
    for (const char *line = output; *line && listed < MAX_LISTED;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t loc;
        if (diagnostic(line, len, &loc)) {
            dyn_buf_puts(&b, "<li><span class=\"loc\">");
            dyn_html_escape(&b, line, loc);
            dyn_buf_puts(&b, "</span>");
            dyn_html_escape(&b, line + loc, len - loc);
            dyn_buf_puts(&b, "</li>");
            listed++;
        }
        line += len + (nl ? 1 : 0);
    }
    if (!listed)
        dyn_buf_puts(&b, "<li>see the output below</li>");
    dyn_buf_puts(&b, "</ol></section><section id=\"output\"><h2>Output</h2><pre>");
    dyn_html_escape(&b, output, strlen(output));
    dyn_buf_puts(&b, "</pre></section></body></html>\n");
    if (b.failed)
        act_failf(ACT_ENOMEM, "out of memory for the build error page");
    dyn_put_resp_content_type(c, "text/html", "utf-8");
    dyn_put_resp_header(c, "content-security-policy",
                        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'");
    dyn_resp_borrow(c, 500, b.data, b.len);
}
