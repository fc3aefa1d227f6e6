/*
 * Templates: EEx-style files compiled into C functions at build time, and render().
 *
 * A template is a file under web/templates/, `fruits.html.eex`, of HTML (or any text) with C
 * in tags (docs/templates.md has the whole language):
 *
 *     <ul>
 *     <% DYN_FOR (fruit, @fruits) { %>
 *       <li><a href="/fruit/<%= dyn_get(fruit, "id") %>"><%= dyn_get(fruit, "name") %></a></li>
 *     <% } %>
 *     </ul>
 *
 * `<% %>` holds C statements, `<%= %>` an expression whose value is written, HTML-escaped in
 * html templates, `<%== %>` one written as it is, and `@name` is the assign `name` (a
 * `const dyn_value_t *`). The build turns each file into a function (dyn-eex, wired by the
 * CMake function dynamo_add_templates) and each directory into a set, a table of them by name
 * ("fruits.html", "layouts/home.html": the path under the directory without ".eex"). A route
 * renders one with the conn's assigns:
 *
 *     static dyn_conn_t *fruits(dyn_conn_t *conn)
 *     {
 *         conn = dyn_assign(conn, "fruits", dyn_vlist(fruit_list(conn)));
 *         return dyn_render(conn, "fruits.html");
 *     }
 *
 * Inside a template, `conn` is the request's conn (NULL outside a request), `assigns` its
 * assigns (a `const dyn_map_t *`), and `dyn_tpl` the rendering context below.
 *
 * Output. What <%= %> writes depends on the expression's type (chosen at compile time with
 * _Generic): strings (char *, const char *: NULL writes nothing; dyn_str_t), a char, any
 * integer, float and double (shortest form that reads back the same), bool (true/false), a
 * dyn_value_t or a pointer to one (null writes nothing, lists write their items one after the
 * other, a map or a pointer value is an error), and dyn_safe_t (dyn_raw: trusted markup, never
 * escaped). Another type is a compile error on the template's line.
 *
 * Escaping. In templates whose format is html, htm, xhtml, xml or svg, <%= %> escapes & < > "
 * ' into entities, replaces NUL and every invalid UTF-8 sequence with U+FFFD, and so is safe in
 * element content and in quoted attribute values. It is NOT enough in other contexts: an
 * unquoted attribute, a URL attribute (`javascript:` needs no special character: check the
 * scheme), inside <script> or <style>, or an event handler attribute. docs/templates.md says
 * what to do there. Other formats (json, txt...) write <%= %> as it is.
 *
 * Errors while rendering (an assign that is not there, a map written out, a partial or a
 * layout that does not exist) fail the request with DYN_ETEMPLATE or DYN_ENOTEMPLATE and a
 * message naming the template and the line; in dev the exception page shows it, with the
 * template's file and line in the backtrace (the generated C carries #line directives).
 *
 * Thread contract: rendering runs in the request's fiber; sets are immutable and shared.
 */
#ifndef DYN_TEMPLATE_H
#define DYN_TEMPLATE_H

#include <string.h>

#include "dynamo/buf.h"
#include "dynamo/conn.h"
#include "dynamo/value.h"

typedef struct dyn_tpl dyn_tpl_t;

/* A compiled template: what dyn-eex generates for one file. */
typedef struct dyn_template {
    const char *name;   /* "fruits.html", "layouts/home.html" */
    const char *format; /* "html": the name's last extension, "" if none */
    void (*render)(dyn_tpl_t *t);
} dyn_template_t;

/* A set of templates (one templates directory), sorted by name. */
typedef struct dyn_templates {
    const char *name; /* the set's name ("fruits") */
    const dyn_template_t *items;
    size_t n;
} dyn_templates_t;

/* The rendering context every template function gets (as `dyn_tpl`). */
struct dyn_tpl {
    dyn_conn_t *conn;           /* the request, or NULL */
    const dyn_map_t *assigns;   /* what @name reads; NULL is an empty set */
    dyn_buf_t *out;             /* where the output goes */
    const dyn_template_t *tpl;  /* the template running */
    const dyn_templates_t *set; /* its set: partials and layouts are found there first */
    dyn_value_t inner;          /* in a layout: @inner_content, the page inside it (a
                                   string written raw); null elsewhere */
    unsigned depth;             /* partial nesting (DYN_TPL_MAX_DEPTH at most) */
};

/* Partials nested deeper than this fail (a template that renders itself, by mistake). */
#define DYN_TPL_MAX_DEPTH 64

/* Trusted markup: written as it is, even by <%= %>. */
typedef struct dyn_safe {
    const char *ptr;
    size_t len;
} dyn_safe_t;

/* s (NUL-terminated; NULL is empty) or s[0..len) as trusted markup, never escaped: Phoenix's
 * raw/1. Only for text you made, never for anything a client sent. */
static inline dyn_safe_t dyn_raw(const char *s)
{
    return (dyn_safe_t){s, s ? strlen(s) : 0};
}
static inline dyn_safe_t dyn_rawn(const char *s, size_t len)
{
    return (dyn_safe_t){s, len};
}

/* ---- rendering --------------------------------------------------------------------------- */

/* Renders template `name` ("index.html") with the conn's assigns and sets the response, as
 * the README's `render conn, "index.html"`:
 * - the template is looked up in the request's web module (code reloading: reload.h), then in
 *   the Dynamo's web, then in every set linked into the program;
 * - if the `layout` assign names a layout ("home.html", or "home" meaning home.<format>) whose
 *   format is the template's, the page is rendered inside it: layouts/<layout> is looked up,
 *   then <layout>, and the layout writes the page with <%= @inner_content %>; a layout of
 *   another format (a json template under an html layout) is not applied, a missing one is
 *   an error; false or null turns layouts off;
 * - the content type comes from the format unless one was set (html: text/html;
 *   charset=utf-8, json: application/json, txt: text/plain; charset=utf-8, xml, css, js, csv,
 *   svg; others application/octet-stream);
 * - the status stays if one was set (dyn_status), else 200;
 * - the output is built in the request's arena and the response borrows it (no copy).
 * Returns conn. Fails the request with DYN_ENOTEMPLATE when the template or the layout does
 * not exist (the message lists the templates there are) and DYN_ETEMPLATE on errors while
 * rendering. Request fiber. */
DYN_API dyn_conn_t *dyn_render(dyn_conn_t *conn, const char *name);

/* Renders template `name` of `set` (NULL: the sets linked into the program) with `assigns`
 * (may be NULL) into out, without layout or response: for mails, benchmarks, tests. conn may
 * be NULL (templates then see conn NULL). Returns 0 or DYN_ENOTEMPLATE. Errors while rendering
 * fail the calling actor (act_failf). */
DYN_API int dyn_template_render(const dyn_templates_t *set, const char *name,
                                const dyn_map_t *assigns, dyn_conn_t *conn, dyn_buf_t *out);

/* The template `name` of `set`, or NULL. set NULL: the first match among the sets linked into
 * the program, in registration order. Any thread. */
DYN_API const dyn_template_t *dyn_template_find(const dyn_templates_t *set, const char *name);

/* The content type for a format: "text/html; charset=utf-8" for "html"... (see dyn_render). */
DYN_API const char *dyn_template_content_type(const char *format);

/* ---- partials ---------------------------------------------------------------------------- */

/* An assign for a partial. */
typedef struct dyn_kv {
    const char *key;
    dyn_value_t value;
} dyn_kv_t;

/* Inside a template: renders the partial `name` right into the output, with only the assigns
 * given (Phoenix's render "item.html", item: item), and returns an empty dyn_safe_t so both
 * <%= DYN_RENDER(...) %> and <% DYN_RENDER(...); %> work:
 *
 *     <% DYN_FOR (fruit, @fruits) { %>
 *       <%= DYN_RENDER("fruit.html", DYN_KV("fruit", fruit), DYN_KV("rank", i++)) %>
 *     <% } %>
 *
 * DYN_KV's value may be any type DYN_V takes. The partial is looked up in the template's set,
 * then as dyn_render does. DYN_RENDER_MAP passes a whole map (`assigns` passes the caller's). */
#define DYN_RENDER(name, ...)                                                                      \
    dyn_tpl_partial(dyn_tpl, (name), (const dyn_kv_t[]){__VA_ARGS__ __VA_OPT__(, ){.key = NULL}},  \
                    __LINE__)
#define DYN_RENDER_MAP(name, map) dyn_tpl_partial_map(dyn_tpl, (name), (map), __LINE__)
#define DYN_KV(k, v) ((dyn_kv_t){(k), DYN_V(v)})

DYN_API dyn_safe_t dyn_tpl_partial(dyn_tpl_t *t, const char *name, const dyn_kv_t *kvs, int line);
DYN_API dyn_safe_t dyn_tpl_partial_map(dyn_tpl_t *t, const char *name, const dyn_map_t *assigns,
                                       int line);

/* A C value as a dyn_value_t: strings (borrowed), integers, floating point, bool, dyn_value_t
 * and pointers to one, lists and maps. */
#define DYN_V(x)                                                                                   \
    _Generic((x), char *: dyn__v_cstr, const char *: dyn__v_cstr, dyn_str_t: dyn__v_str,         \
             signed char: dyn_vint, short: dyn_vint, int: dyn_vint, long: dyn_vint,                \
             long long: dyn_vint, unsigned char: dyn_vint, unsigned short: dyn_vint,               \
             unsigned: dyn_vint, unsigned long: dyn__v_u64, unsigned long long: dyn__v_u64,       \
             float: dyn_vfloat, double: dyn_vfloat, _Bool: dyn_vbool, dyn_value_t: dyn__v_value,   \
             dyn_value_t *: dyn__v_ptr, const dyn_value_t *: dyn__v_ptr, dyn_list_t *: dyn_vlist,  \
             dyn_map_t *: dyn_vmap)(x)

static inline dyn_value_t dyn__v_cstr(const char *s)
{
    return s ? dyn_vstr(s) : dyn_vnull();
}
static inline dyn_value_t dyn__v_str(dyn_str_t s)
{
    return dyn_vstrn(s.ptr, s.len);
}
static inline dyn_value_t dyn__v_u64(unsigned long long u)
{
    return u > INT64_MAX ? dyn_vfloat((double)u) : dyn_vint((int64_t)u);
}
static inline dyn_value_t dyn__v_value(dyn_value_t v)
{
    return v;
}
static inline dyn_value_t dyn__v_ptr(const dyn_value_t *v)
{
    return v ? *v : dyn_vnull();
}

/* ---- helpers for templates (and any C) --------------------------------------------------- */

/* Field `key` of a map value, or item `i` of a list value; a null value (never NULL) when v
 * is not a map/list or has no such entry, so chains like dyn_get(dyn_get(u, "a"), "b") work. */
DYN_API const dyn_value_t *dyn_getn(const dyn_value_t *v, const char *key, size_t len);
static inline const dyn_value_t *dyn_get(const dyn_value_t *v, const char *key)
{
    return dyn_getn(v, key, strlen(key)); /* a literal's length is known at compile time */
}
DYN_API const dyn_value_t *dyn_at(const dyn_value_t *v, size_t i);
/* The length of a list or map value, or of a string; 0 otherwise. */
DYN_API size_t dyn_len(const dyn_value_t *v);

/* Iterates the items of a list value (null: none; another type fails with the file and line):
 *
 *     <% DYN_FOR (fruit, @fruits) { %> ... <% } %>
 *
 * `fruit` is a const dyn_value_t * in the body; break and continue work as in any loop. */
#define DYN_FOR(var, list)                                                                         \
    for (dyn_iter_t var##__it = dyn_iter_of((list), __FILE__, __LINE__); var##__it.once;           \
         var##__it.once = 0)                                                                       \
        for (const dyn_value_t *var; (var = dyn_iter_next(&var##__it)) != NULL;)

/* Iterates a list of tuples (lists), binding each tuple's items to names: the README's
 * `lc { id, name } inlist @fruits do`, for fruits assigned as [[0, "Apple"], [1, "Orange"]]:
 *
 *     <% DYN_FOR_TUPLE (@fruits, id, name) { %>
 *       <li><a href="/fruit/<%= id %>"><%= name %></a></li>
 *     <% } %>
 *
 * Each name is a const dyn_value_t * (up to 8 names). A tuple with fewer items than names, or
 * an item that is not a list, fails with the file and line. */
#define DYN_FOR_TUPLE(list, first, ...)                                                            \
    for (dyn_iter_t first##__it = dyn_iter_of((list), __FILE__, __LINE__); first##__it.once;       \
         first##__it.once = 0)                                                                     \
        for (const dyn_value_t *first = NULL DYN__TPL_FE(DYN__TPL_DECL, __VA_ARGS__);              \
             dyn_tuple_next(                                                                       \
                 &first##__it,                                                                     \
                 (const dyn_value_t **[]){&first DYN__TPL_FE(DYN__TPL_ADDR, __VA_ARGS__)},         \
                 1 + DYN__TPL_COUNT(__VA_ARGS__), __FILE__, __LINE__);)
#define DYN__TPL_DECL(x) , *x = NULL
#define DYN__TPL_ADDR(x) , &x
#define DYN__TPL_FE1(m, a) m(a)
#define DYN__TPL_FE2(m, a, ...) m(a) DYN__TPL_FE1(m, __VA_ARGS__)
#define DYN__TPL_FE3(m, a, ...) m(a) DYN__TPL_FE2(m, __VA_ARGS__)
#define DYN__TPL_FE4(m, a, ...) m(a) DYN__TPL_FE3(m, __VA_ARGS__)
#define DYN__TPL_FE5(m, a, ...) m(a) DYN__TPL_FE4(m, __VA_ARGS__)
#define DYN__TPL_FE6(m, a, ...) m(a) DYN__TPL_FE5(m, __VA_ARGS__)
#define DYN__TPL_FE7(m, a, ...) m(a) DYN__TPL_FE6(m, __VA_ARGS__)
#define DYN__TPL_PICK(_1, _2, _3, _4, _5, _6, _7, N, ...) N
#define DYN__TPL_FE(m, ...)                                                                        \
    __VA_OPT__(DYN__TPL_PICK(__VA_ARGS__, DYN__TPL_FE7, DYN__TPL_FE6, DYN__TPL_FE5, DYN__TPL_FE4,  \
                             DYN__TPL_FE3, DYN__TPL_FE2, DYN__TPL_FE1, )(m, __VA_ARGS__))
#define DYN__TPL_COUNT(...) (0 __VA_OPT__(+DYN__TPL_PICK(__VA_ARGS__, 7, 6, 5, 4, 3, 2, 1, 0)))

/* Iterates the entries of a map value in insertion order: key (a dyn_str_t) and val. */
#define DYN_FOR_MAP(key, val, map)                                                                 \
    for (dyn_iter_t key##__it = dyn_map_iter_of((map), __FILE__, __LINE__); key##__it.once;        \
         key##__it.once = 0)                                                                       \
        for (dyn_str_t key = {0}; key##__it.once; key##__it.once = 0)                              \
            for (const dyn_value_t *val; dyn_map_iter_next(&key##__it, &key, &val);)

typedef struct dyn_iter {
    const dyn_list_t *l;
    const dyn_map_t *m;
    size_t i;
    size_t n;
    int once;
} dyn_iter_t;

DYN_API dyn_iter_t dyn_iter_of(const dyn_value_t *v, const char *file, int line);
DYN_API dyn_iter_t dyn_map_iter_of(const dyn_value_t *v, const char *file, int line);
static inline const dyn_value_t *dyn_iter_next(dyn_iter_t *it)
{
    return it->i < it->n ? dyn_list_at(it->l, it->i++) : NULL;
}
/* The next tuple of a DYN_FOR_TUPLE: its first n items into *vars[0..n). */
DYN_API bool dyn_tuple_next(dyn_iter_t *it, const dyn_value_t **const *vars, size_t n,
                            const char *file, int line);
static inline bool dyn_map_iter_next(dyn_iter_t *it, dyn_str_t *key, const dyn_value_t **val)
{
    return it->i < it->n && dyn_map_at(it->m, it->i++, key, val);
}

/* ---- sets and registration (generated code uses these) ----------------------------------- */

/* Defines the set dyn_templates_<set_> over a sorted array of n_ templates. */
#define DYN_TEMPLATES_DEFINE(set_, items_, n_)                                                     \
    const dyn_templates_t dyn_templates_##set_ = {#set_, (items_), (n_)}
/* Declares the set dyn_templates_<set_> of a templates directory (to pass it around). */
#define DYN_TEMPLATES_DECLARE(set_) extern const dyn_templates_t dyn_templates_##set_

/* A link in the process-wide list of sets; lives in the set's generated file. */
typedef struct dyn_templates_node {
    const dyn_templates_t *set;
    struct dyn_templates_node *next;
} dyn_templates_node_t;

/* Adds a set to the process-wide list (the generated registries do it before main, for sets
 * linked into the program). Any thread. */
DYN_API void dyn_templates_register(dyn_templates_node_t *node);

#define DYN_TEMPLATES_REGISTER(set_)                                                               \
    static dyn_templates_node_t dyn__templates_node_##set_ = {&dyn_templates_##set_, NULL};        \
    __attribute__((constructor)) static void dyn__templates_register_##set_(void)                  \
    {                                                                                              \
        dyn_templates_register(&dyn__templates_node_##set_);                                       \
    }                                                                                              \
    extern int dyn__templates_semicolon_##set_

/* ---- what generated template functions call ---------------------------------------------- */

#define DYN_TPL_BEGIN(t)                                                                           \
    dyn_conn_t *conn = (t)->conn;                                                                  \
    const dyn_map_t *assigns = (t)->assigns;                                                       \
    (void)conn;                                                                                    \
    (void)assigns

/* Literal text (and short pieces of output: no call for them when there is room). */
static inline void dyn_tpl_text(dyn_tpl_t *t, const char *s, size_t n)
{
    dyn_buf_t *b = t->out;
    if (__builtin_expect(b->len + n < b->cap && !b->failed, 1)) {
        char *d = b->data + b->len;
        if (__builtin_constant_p(n) || n > 16)
            memcpy(d, s, n);
        else
            for (size_t i = 0; i < n; i++)
                d[i] = s[i];
        b->len += n;
        b->data[b->len] = '\0';
    } else {
        dyn_buf_put(b, s, n);
    }
}

/* @name: the assign, or the request fails naming it and the assigns there are. */
DYN_API const dyn_value_t *dyn_tpl_assign(dyn_tpl_t *t, const char *name, int line);

/* <%= v %>: esc is 1 for escaped output, 0 for raw. */
#define DYN_TPL_EMIT(t, v, esc)                                                                    \
    _Generic((v), char *: dyn_tpl_put_cstr, const char *: dyn_tpl_put_cstr,                      \
             dyn_str_t: dyn_tpl_put_str, dyn_safe_t: dyn_tpl_put_safe, char: dyn_tpl_put_char,    \
             signed char: dyn_tpl_put_int, short: dyn_tpl_put_int, int: dyn_tpl_put_int,          \
             long: dyn_tpl_put_int, long long: dyn_tpl_put_int, unsigned char: dyn_tpl_put_uint,   \
             unsigned short: dyn_tpl_put_uint, unsigned: dyn_tpl_put_uint,                         \
             unsigned long: dyn_tpl_put_uint, unsigned long long: dyn_tpl_put_uint,                \
             float: dyn_tpl_put_float, double: dyn_tpl_put_float, _Bool: dyn_tpl_put_bool,         \
             dyn_value_t: dyn_tpl_put_value, dyn_value_t *: dyn_tpl_put_vptr,                      \
             const dyn_value_t *: dyn_tpl_put_vptr)(t, v, esc, __LINE__)

DYN_API void dyn_tpl_put_cstr(dyn_tpl_t *t, const char *s, int esc, int line);
DYN_API void dyn_tpl_put_str(dyn_tpl_t *t, dyn_str_t s, int esc, int line);
DYN_API void dyn_tpl_put_safe(dyn_tpl_t *t, dyn_safe_t s, int esc, int line);
DYN_API void dyn_tpl_put_char(dyn_tpl_t *t, char c, int esc, int line);
DYN_API void dyn_tpl_put_int(dyn_tpl_t *t, long long i, int esc, int line);
DYN_API void dyn_tpl_put_uint(dyn_tpl_t *t, unsigned long long u, int esc, int line);
DYN_API void dyn_tpl_put_float(dyn_tpl_t *t, double f, int esc, int line);
DYN_API void dyn_tpl_put_bool(dyn_tpl_t *t, bool b, int esc, int line);
DYN_API void dyn_tpl_put_value(dyn_tpl_t *t, dyn_value_t v, int esc, int line);
DYN_API void dyn_tpl_put_vptr(dyn_tpl_t *t, const dyn_value_t *v, int esc, int line);

/* Fails the render: "<template>:<line>: <message>" with DYN_ETEMPLATE. */
DYN_API __attribute__((noreturn, format(printf, 3, 4))) void dyn_tpl_fail(dyn_tpl_t *t, int line,
                                                                          const char *fmt, ...);

#endif
