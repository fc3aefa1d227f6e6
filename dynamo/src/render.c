/*
 * render(conn, "index.html") (template.h): find the template, render it with the conn's
 * assigns into the request's arena, wrap it in the layout, set the response.
 *
 * The page is rendered first, then the layout around it (the layout reads it as
 * @inner_content): one copy of the page, into the layout's buffer. Buffers start at the size
 * the template's last render took, so they seldom grow (doubling in the arena when they do);
 * the response borrows the final one, so the body is never copied again.
 */
#include <string.h>

#include "dynamo/template.h"

#include "actor/actor.h"
#include "template_int.h"

/* A first buffer that holds most pages without growing. */
#define FIRST_CAP 8192

typedef struct ctype {
    const char *format;
    const char *type;
    const char *charset;
    const char *full; /* type and charset as one header value */
} ctype_t;

#define CT(format_, type_, charset_)                                                               \
    {                                                                                              \
        format_, type_, charset_, type_ "; charset=" charset_                                      \
    }
#define CT_BIN(format_, type_)                                                                     \
    {                                                                                              \
        format_, type_, NULL, type_                                                                \
    }

static const ctype_t ctypes[] = {
    CT("html", "text/html", "utf-8"),
    CT("htm", "text/html", "utf-8"),
    CT("xhtml", "application/xhtml+xml", "utf-8"),
    CT("xml", "application/xml", "utf-8"),
    CT_BIN("svg", "image/svg+xml"),
    CT_BIN("json", "application/json"),
    CT("txt", "text/plain", "utf-8"),
    CT("text", "text/plain", "utf-8"),
    CT("css", "text/css", "utf-8"),
    CT("js", "text/javascript", "utf-8"),
    CT("csv", "text/csv", "utf-8"),
    CT("md", "text/markdown", "utf-8"),
    CT("ics", "text/calendar", "utf-8"),
};

static const ctype_t *ctype_of(const char *format)
{
    for (size_t i = 0; i < sizeof ctypes / sizeof ctypes[0]; i++)
        if (!strcmp(ctypes[i].format, format))
            return &ctypes[i];
    return NULL;
}

const char *dyn_template_content_type(const char *format)
{
    const ctype_t *c = ctype_of(format);
    return c ? c->full : "application/octet-stream";
}

/* The layout for a template of `format`, or NULL when none applies. */
static const dyn_template_t *find_layout(dyn_conn_t *conn, const dyn_templates_t *tset,
                                         const char *format, const dyn_templates_t **lset)
{
    const dyn_value_t *lv = dyn_conn_assign(conn, "layout");
    if (!lv || lv->type == DYN_V_NULL || (lv->type == DYN_V_BOOL && !lv->b))
        return NULL;
    if (lv->type != DYN_V_STR || lv->s.len == 0 || lv->s.len > 200)
        act_failf(DYN_ETEMPLATE, "the layout assign must be a template name, not a %s",
                  lv->type == DYN_V_STR ? "string of that length" : dyn_vtype_name(lv->type));
    char name[256];
    const char *base = memrchr(lv->s.ptr, '/', lv->s.len);
    base = base ? base + 1 : lv->s.ptr;
    const char *dot = memchr(base, '.', (size_t)(lv->s.ptr + lv->s.len - base));
    if (dot) {
        /* "home.html": applies to html templates only */
        const char *lformat = memrchr(base, '.', (size_t)(lv->s.ptr + lv->s.len - base)) + 1;
        size_t flen = (size_t)(lv->s.ptr + lv->s.len - lformat);
        if (flen != strlen(format) || memcmp(lformat, format, flen))
            return NULL;
        snprintf(name, sizeof name, "%.*s", (int)lv->s.len, lv->s.ptr);
    } else {
        /* "home": home.<format> */
        snprintf(name, sizeof name, "%.*s.%s", (int)lv->s.len, lv->s.ptr, format);
    }
    char in_layouts[sizeof name + 8];
    snprintf(in_layouts, sizeof in_layouts, "layouts/%s", name);
    const dyn_template_t *t = dyn__tpl_lookup(conn, tset, in_layouts, lset);
    if (!t)
        t = dyn__tpl_lookup(conn, tset, name, lset);
    if (!t)
        dyn__tpl_not_found(conn, tset, "layout", in_layouts, NULL, 0);
    return t;
}

dyn_conn_t *dyn_render(dyn_conn_t *conn, const char *name)
{
    const dyn_templates_t *set = NULL;
    const dyn_template_t *tpl = dyn__tpl_lookup(conn, NULL, name, &set);
    if (!tpl)
        dyn__tpl_not_found(conn, NULL, "template", name, NULL, 0);
    const dyn_templates_t *lset = NULL;
    const dyn_template_t *layout = find_layout(conn, set, tpl->format, &lset);

    dyn_arena_t *a = dyn_conn_arena(conn);
    const dyn_map_t *assigns = dyn_conn_assigns(conn);
    dyn_buf_t page;
    dyn_buf_init(&page, a, dyn__tpl_size_hint(tpl, FIRST_CAP));
    dyn_tpl_t t = {.conn = conn, .assigns = assigns, .out = &page, .tpl = tpl, .set = set};
    tpl->render(&t);
    dyn__tpl_size_seen(tpl, page.len);
    dyn_buf_t *body = &page;
    dyn_buf_t whole;
    if (layout && !page.failed) {
        dyn_buf_init(&whole, a, page.len + dyn__tpl_size_hint(layout, FIRST_CAP / 2));
        dyn_tpl_t lt = {
            .conn = conn,
            .assigns = assigns,
            .out = &whole,
            .tpl = layout,
            .set = lset,
            .inner = dyn_vstrn(page.data, page.len),
        };
        layout->render(&lt);
        dyn__tpl_size_seen(layout, whole.len - page.len);
        body = &whole;
    }
    if (body->failed)
        act_failf(ACT_ENOMEM, "out of memory rendering template %s", name);

    if (!dyn_get_resp_header(conn, "content-type")) {
        const ctype_t *c = ctype_of(tpl->format);
        conn = c ? dyn_put_resp_content_type(conn, c->type, c->charset)
                 : dyn_put_resp_content_type(conn, "application/octet-stream", NULL);
    }
    int status = dyn_conn_state(conn) == DYN_STATE_UNSET ? 200 : dyn_conn_status(conn);
    return dyn_resp_borrow(conn, status, body->data, body->len);
}
