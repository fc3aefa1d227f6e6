/*
 * Error pages and the exception handler.
 *
 * Error statuses the framework decides (404, 405, 400, 414) get the Dynamo's custom page for
 * that status, else a default: in dev a 404 page that lists the routes (as Phoenix's), else a
 * short HTML page. A failure caught by the pipeline is logged (with the request id) and
 * answered with a 500: in dev the exception page (reason, where it happened, router and route,
 * backtrace with function names and source lines, the request with its headers, params and
 * assigns), in test and prod the custom 500 page or a plain one, with nothing internal in it.
 *
 * Everything from the request is HTML-escaped (dyn_buf_html), and the pages go out with a
 * Content-Security-Policy that allows no script at all: a request for /<script>... shows the
 * text and runs nothing, twice over. A custom page that fails is replaced by the default
 * (under a catch of its own); an error page whose sending fails is replaced by a bare 500.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pipeline_int.h"

#define CSP "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

static const dyn_error_page_t *custom_page(const dyn_conn_t *c, int status)
{
    for (const dyn_error_page_t *p = c->inst->decl->error_pages; p && p->status; p++)
        if (p->status == status && p->render)
            return p;
    return NULL;
}

static void head(dyn_buf_t *b, const char *title)
{
    dyn_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    dyn_buf_html(b, title, strlen(title));
    dyn_buf_puts(b, "</title><style>"
                    "body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#222}"
                    "header{background:#b32121;color:#fff;padding:1.2em 2em}"
                    "header h1{margin:0;font-size:1.5em;word-break:break-all}"
                    "header p{margin:.4em 0 0}"
                    "section{padding:.5em 2em}h2{font-size:1.1em;border-bottom:1px solid #ddd}"
                    "table{border-collapse:collapse}th,td{text-align:left;vertical-align:top;"
                    "padding:.2em 1em .2em 0;font-family:ui-monospace,monospace;font-size:13px;"
                    "word-break:break-all}th{color:#666;font-weight:normal;white-space:nowrap}"
                    "ol{font-family:ui-monospace,monospace;font-size:13px}"
                    ".fn{font-weight:bold}.loc{color:#555}.mod{color:#999}"
                    "pre{font-size:13px}</style></head><body>");
}

static void row(dyn_buf_t *b, const char *k, const char *v)
{
    dyn_buf_puts(b, "<tr><th>");
    dyn_buf_html(b, k, strlen(k));
    dyn_buf_puts(b, "</th><td>");
    dyn_buf_html(b, v ? v : "", v ? strlen(v) : 0);
    dyn_buf_puts(b, "</td></tr>");
}

static void map_table(dyn_buf_t *b, const char *id, const char *title, const dyn_map_t *m)
{
    dyn_buf_printf(b, "<section id=\"%s\"><h2>%s</h2>", id, title);
    if (!m || dyn_map_len(m) == 0) {
        dyn_buf_puts(b, "<p>none</p></section>");
        return;
    }
    dyn_buf_puts(b, "<table>");
    dyn_str_t k;
    const dyn_value_t *v;
    for (size_t i = 0; dyn_map_at(m, i, &k, &v); i++) {
        dyn_buf_puts(b, "<tr><th>");
        dyn_buf_html(b, k.ptr, k.len);
        dyn_buf_puts(b, "</th><td>");
        dyn_buf_value(b, v, true);
        dyn_buf_puts(b, "</td></tr>");
    }
    dyn_buf_puts(b, "</table></section>");
}

static void request_section(dyn_buf_t *b, dyn_conn_t *c)
{
    dyn_buf_puts(b, "<section id=\"request\"><h2>Request</h2><table>");
    row(b, "method", c->orig_method_str);
    if (c->method != c->orig_method)
        row(b, "method (after override)", c->method_str);
    row(b, "path", c->path);
    row(b, "query", c->query);
    row(b, "script_name", dyn_conn_script_name_str(c));
    row(b, "path_info", dyn_conn_path_info_str(c));
    row(b, "peer", dyn_conn_peer(c));
    row(b, "request id", c->request_id ? c->request_id : "");
    dyn_buf_puts(b, "</table><h3>Headers</h3><table>");
    for (size_t i = 0; i < c->nheaders; i++)
        row(b, c->headers[i].name, c->headers[i].value);
    dyn_buf_puts(b, "</table></section>");
    map_table(b, "params", "Params", c->params);
    map_table(b, "assigns", "Assigns", c->assigns);
}

/* "crash", "DYN_ENOCONN (a route, hook or plug returned no conn)", "reason 300". */
static const char *reason_text(dyn_conn_t *c, int reason)
{
    if (reason < 0)
        return dyn_sprintf(c, "%s (%s)", dyn_err_name(reason), dyn_strerror(reason));
    return act_reason_str(reason);
}

static void debug_page(dyn_buf_t *b, dyn_conn_t *c, const act_failure_t *f)
{
    const char *reason = reason_text(c, f->reason);
    const char *title = dyn_sprintf(c, "%s%s%s at %s %s", reason, f->text[0] ? ": " : "", f->text,
                                    c->orig_method_str, c->path);
    head(b, title);
    dyn_buf_puts(b, "<header><h1 id=\"reason\">");
    dyn_buf_html(b, reason, strlen(reason));
    if (f->text[0]) {
        dyn_buf_puts(b, ": ");
        dyn_buf_html(b, f->text, strlen(f->text));
    }
    dyn_buf_puts(b, "</h1><p id=\"where\">in ");
    dyn_buf_html(b, c->failure->where, strlen(c->failure->where));
    dyn_buf_puts(b, "</p></header><section id=\"route\"><h2>Router and route</h2><table>");
    dyn_route_match_t m = dyn_conn_route(c);
    row(b, "router", m.router ? m.router : "(no router ran)");
    row(b, "route",
        m.path ? dyn_sprintf(c, "%s %s (%s)", m.method, m.path, m.handler)
               : "(no route matched yet)");
    row(b, "dynamo", c->inst->decl->name);
    dyn_buf_puts(b, "</table></section><section id=\"backtrace\"><h2>Backtrace</h2>");
    dyn__frame_t *fr = dyn_alloc(c, (size_t)(f->nframes ? f->nframes : 1) * sizeof *fr);
    size_t n = dyn__backtrace(c->arena, f->frames, (size_t)f->nframes, fr);
    if (n == 0) {
        dyn_buf_puts(b, "<p>none (the failure did not come from act_fail)</p>");
    } else {
        dyn_buf_puts(b, "<ol start=\"0\">");
        for (size_t i = 0; i < n; i++) {
            dyn_buf_puts(b, "<li><span class=\"fn\">");
            dyn_buf_html(b, fr[i].function, strlen(fr[i].function));
            dyn_buf_puts(b, "</span> ");
            if (fr[i].file) {
                dyn_buf_puts(b, "<span class=\"loc\">");
                dyn_buf_html(b, fr[i].file, strlen(fr[i].file));
                dyn_buf_printf(b, ":%d</span> ", fr[i].line);
            }
            dyn_buf_puts(b, "<span class=\"mod\">");
            dyn_buf_html(b, fr[i].module, strlen(fr[i].module));
            dyn_buf_printf(b, " %p</span></li>", fr[i].addr);
        }
        dyn_buf_puts(b, "</ol>");
    }
    dyn_buf_puts(b, "</section>");
    request_section(b, c);
    dyn_buf_puts(b, "</body></html>\n");
}

static void plain_page(dyn_buf_t *b, int status)
{
    char title[64];
    snprintf(title, sizeof title, "%d %s", status, http_status_reason(status));
    head(b, title);
    dyn_buf_printf(b, "<section><h1>%s</h1></section></body></html>\n", http_status_reason(status));
}

static void not_found_dev(dyn_buf_t *b, dyn_conn_t *c, int status)
{
    const char *what = dyn_sprintf(c, "No route matches %s %s%s", c->method_str, c->path,
                                   status == 405 ? " with this method" : "");
    head(b, what);
    dyn_buf_puts(b, "<header><h1 id=\"reason\">");
    dyn_buf_html(b, what, strlen(what));
    dyn_buf_printf(b, "</h1><p>%d %s</p></header><section id=\"routes\"><h2>Routes</h2>", status,
                   http_status_reason(status));
    char *table = NULL;
    if (c->routes && dyn_routes_format(dyn_routes_router(c->routes), &table) == 0 && table) {
        dyn_buf_puts(b, "<pre>");
        dyn_buf_html(b, table, strlen(table));
        dyn_buf_puts(b, "</pre>");
    }
    act_free(table);
    dyn_buf_puts(b, "</section>");
    request_section(b, c);
    dyn_buf_puts(b, "</body></html>\n");
}

/* Sets an HTML page as the response. */
static void html(dyn_conn_t *c, int status, dyn_buf_t *b)
{
    if (b->failed)
        dyn__conn_fail(c, ACT_ENOMEM, "out of memory for the error page");
    dyn_put_resp_content_type(c, "text/html", "utf-8");
    dyn_put_resp_header(c, "content-security-policy", CSP);
    dyn_resp_borrow(c, status, b->data, b->len);
}

static void default_page(dyn_conn_t *c, int status)
{
    dyn_buf_t b;
    dyn_buf_init(&b, c->arena, 2048);
    if (c->inst->debug_errors && (status == 404 || status == 405))
        not_found_dev(&b, c, status);
    else
        plain_page(&b, status);
    html(c, status, &b);
}

static void run_custom(void *arg)
{
    dyn_conn_t *c = arg;
    const dyn_error_page_t *p = custom_page(c, c->status);
    c->step = (dyn__step_t){.kind = DYN__STEP_ERROR_PAGE};
    if (!p->render(c))
        dyn__conn_fail(c, DYN_ENOCONN, "the error page for %d returned no conn", c->status);
    if (c->state == DYN_STATE_UNSET)
        dyn__conn_fail(c, DYN_ENORESP, "the error page for %d set no response", c->status);
}

void dyn__error_page(dyn_conn_t *c, int status)
{
    if (c->state == DYN_STATE_SENT || c->state == DYN_STATE_CHUNKED)
        return;
    c->status = status;
    c->resp_body = NULL;
    c->resp_len = 0;
    c->state = DYN_STATE_UNSET;
    if (status == 405) {
        char allow[128];
        dyn_put_resp_header(c, "allow",
                            dyn_methods_str(c->allow | (c->allow & DYN_M_GET ? DYN_M_HEAD : 0),
                                            allow, sizeof allow));
    }
    if (custom_page(c, status)) {
        act_failure_t f;
        if (act_catch(run_custom, c, &f) == 0)
            return;
        dyn__log(c->inst, DYN_LOG_ERROR, "the custom error page for %d failed: %s%s%s", status,
                 reason_text(c, f.reason), f.text[0] ? ": " : "", f.text);
        c->status = status;
        c->state = DYN_STATE_UNSET;
    }
    default_page(c, status);
}

/* The status a failure asks for: dyn_raise's, or 0 for a crash. */
int dyn__raised_status(const dyn_conn_t *c, const act_failure_t *f)
{
    return f->reason == DYN_ERAISED ? c->raised : 0;
}

void dyn_raise(dyn_conn_t *c, int status, const char *fmt, ...)
{
    if (status < 400 || status > 599)
        dyn__conn_fail(c, ACT_EBADARG, "dyn_raise with status %d (not 4xx or 5xx)", status);
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    c->raised = (uint16_t)status;
    act_failf(DYN_ERAISED, "%s", text);
}

/* A crash is logged at error level with its reason; a raised status (the client's error) at
 * info, with the status and the text only. */
static void log_failure(dyn_conn_t *c, const act_failure_t *f)
{
    int raised = dyn__raised_status(c, f);
    if (!dyn__log_on(c->inst, raised ? DYN_LOG_INFO : DYN_LOG_ERROR))
        return;
    dyn_buf_t b;
    dyn_buf_init(&b, c->arena, 512);
    const char *reason = reason_text(c, f->reason);
    if (c->inst->env == DYN_ENV_DEV) {
        dyn_buf_printf(&b, "%s ", c->orig_method_str);
        dyn__log_text(&b, c->path);
        if (raised)
            dyn_buf_printf(&b, " -> %d in %s", raised, c->failure->where);
        else
            dyn_buf_printf(&b, " crashed in %s: %s", c->failure->where, reason);
        if (f->text[0]) {
            dyn_buf_puts(&b, ": ");
            dyn__log_text(&b, f->text);
        }
        if (c->request_id)
            dyn_buf_printf(&b, " [%s]", c->request_id);
    } else {
        dyn_buf_printf(&b, "level=%s method=", raised ? "info" : "error");
        dyn__log_value(&b, c->orig_method_str);
        dyn_buf_puts(&b, " path=");
        dyn__log_value(&b, c->path);
        dyn_buf_printf(&b, " status=%d request_id=", raised ? raised : 500);
        dyn__log_value(&b, c->request_id ? c->request_id : "");
        dyn_buf_puts(&b, " where=");
        dyn__log_value(&b, c->failure->where);
        if (!raised) {
            dyn_buf_puts(&b, " reason=");
            dyn__log_value(&b, reason);
        }
        dyn_buf_puts(&b, " text=");
        dyn__log_value(&b, f->text);
        dyn_buf_printf(&b, " dynamo=%s", c->inst->decl->name);
    }
    if (!b.failed)
        act_report_log(c->inst->decl->name, b.data);
}

static void render_500(void *arg)
{
    dyn_conn_t *c = arg;
    const act_failure_t *f = c->raw_failure;
    int raised = dyn__raised_status(c, f);
    c->status = raised ? raised : 500;
    if (raised) {
        dyn__error_page(c, raised); /* the client's error: its page, never the debug one */
    } else if (c->inst->debug_errors) {
        dyn_buf_t b;
        dyn_buf_init(&b, c->arena, 8192);
        debug_page(&b, c, f);
        html(c, 500, &b);
    } else {
        dyn__error_page(c, 500);
    }
    c->step = (dyn__step_t){.kind = DYN__STEP_FINISH};
    dyn__conn_send_set(c);
}

static void describe(void *arg)
{
    dyn_conn_t *c = arg;
    c->failure->where = dyn__step_text(c, &c->step);
    log_failure(c, c->raw_failure);
}

/* The last resort: a 500 with a fixed body and no callback, nothing allocated. */
static void bare_500(dyn_conn_t *c)
{
    static const char body[] =
        "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error"
        "</title></head><body><h1>Internal Server Error</h1></body></html>\n";
    static http_header_t hdrs[] = {{"content-type", "text/html; charset=utf-8", 12, 24}};
    c->before_send = NULL;
    c->rh = hdrs;
    c->nrh = c->caprh = 1;
    c->status = 500;
    c->state = DYN_STATE_SENT;
    (void)c->ad->send(c, body, sizeof body - 1);
}

int dyn__exception(dyn_conn_t *c, const act_failure_t *f)
{
    int abort_reason = f->reason != ACT_NORMAL ? f->reason : ACT_CRASH;
    act_failure_t *copy = dyn_arena_alloc(c->arena, sizeof *copy);
    dyn_failure_t *df = dyn_arena_alloc(c->arena, sizeof *df);
    act_failure_t again;
    if (copy && df) {
        *copy = *f;
        *df = (dyn_failure_t){.reason = f->reason, .text = copy->text, .where = "the request"};
        c->raw_failure = copy;
        c->failure = df;
        (void)act_catch(describe, c, &again); /* out of memory: the defaults stay */
    }
    if (c->state == DYN_STATE_CHUNKED)
        return abort_reason;
    if (c->state == DYN_STATE_SENT)
        return 0;
    if (!copy || !df) {
        bare_500(c);
        return 0;
    }
    dyn__conn_reset_resp(c);
    c->halted = true;
    if (act_catch(render_500, c, &again) != 0) {
        if (c->state == DYN_STATE_CHUNKED)
            return abort_reason;
        if (c->state != DYN_STATE_SENT)
            bare_500(c);
    }
    return 0;
}
