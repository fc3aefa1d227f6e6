/*
 * What compiled templates call (template.h): output by type, assigns, partials, value helpers,
 * and the process-wide list of template sets. Escaping is escape.c's.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/template.h"

#include "actor/actor.h"
#include "buf_int.h"
#include "template_int.h"

/* ---- output by type ----------------------------------------------------------------------- */

void dyn_tpl_fail(dyn_tpl_t *t, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    act_failf(DYN_ETEMPLATE, "%s:%d: %s", t->tpl ? t->tpl->name : "template", line, msg);
}

static void put_text(dyn_tpl_t *t, const char *s, size_t n, int esc)
{
    if (esc)
        dyn_html_escape(t->out, s, n);
    else
        dyn_tpl_text(t, s, n);
}

void dyn_tpl_put_cstr(dyn_tpl_t *t, const char *s, int esc, int line)
{
    (void)line;
    if (s)
        put_text(t, s, strlen(s), esc);
}

void dyn_tpl_put_str(dyn_tpl_t *t, dyn_str_t s, int esc, int line)
{
    (void)line;
    if (s.ptr)
        put_text(t, s.ptr, s.len, esc);
}

void dyn_tpl_put_safe(dyn_tpl_t *t, dyn_safe_t s, int esc, int line)
{
    (void)esc;
    (void)line;
    if (s.ptr && s.len)
        dyn_tpl_text(t, s.ptr, s.len);
}

void dyn_tpl_put_char(dyn_tpl_t *t, char c, int esc, int line)
{
    (void)line;
    put_text(t, &c, 1, esc);
}

void dyn_tpl_put_int(dyn_tpl_t *t, long long i, int esc, int line)
{
    (void)esc;
    (void)line;
    char buf[DYN__INT_TEXT_MAX], *end = buf + sizeof buf;
    unsigned long long u = i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i;
    char *p = dyn__utoa_back(u, end);
    if (i < 0)
        *--p = '-';
    dyn_tpl_text(t, p, (size_t)(end - p));
}

void dyn_tpl_put_uint(dyn_tpl_t *t, unsigned long long u, int esc, int line)
{
    (void)esc;
    (void)line;
    char buf[DYN__INT_TEXT_MAX], *end = buf + sizeof buf;
    char *p = dyn__utoa_back(u, end);
    dyn_tpl_text(t, p, (size_t)(end - p));
}

/* The shortest %g form that reads back as the same double. */
static int format_double(char *buf, size_t cap, double f)
{
    if (isnan(f))
        return snprintf(buf, cap, "nan");
    if (isinf(f))
        return snprintf(buf, cap, f < 0 ? "-inf" : "inf");
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    return n;
}

void dyn_tpl_put_float(dyn_tpl_t *t, double f, int esc, int line)
{
    (void)esc;
    (void)line;
    char buf[40];
    int n = format_double(buf, sizeof buf, f);
    if (n > 0)
        dyn_tpl_text(t, buf, (size_t)n);
}

void dyn_tpl_put_bool(dyn_tpl_t *t, bool b, int esc, int line)
{
    (void)esc;
    (void)line;
    if (b)
        dyn_tpl_text(t, "true", 4);
    else
        dyn_tpl_text(t, "false", 5);
}

static void put_value(dyn_tpl_t *t, const dyn_value_t *v, int esc, int line, unsigned depth)
{
    switch (v->type) {
    case DYN_V_NULL:
        return;
    case DYN_V_BOOL:
        dyn_tpl_put_bool(t, v->b, esc, line);
        return;
    case DYN_V_INT:
        dyn_tpl_put_int(t, v->i, esc, line);
        return;
    case DYN_V_FLOAT:
        dyn_tpl_put_float(t, v->f, esc, line);
        return;
    case DYN_V_STR:
        /* The layout's page (@inner_content, or a copy of its value) is markup we made. */
        if (t->inner.type == DYN_V_STR && v->s.ptr == t->inner.s.ptr && v->s.len == t->inner.s.len)
            esc = 0;
        put_text(t, v->s.ptr, v->s.len, esc);
        return;
    case DYN_V_LIST:
        if (depth > 32)
            dyn_tpl_fail(t, line, "lists nested deeper than 32 levels");
        for (size_t i = 0, n = dyn_list_len(v->l); i < n; i++)
            put_value(t, dyn_list_at(v->l, i), esc, line, depth + 1);
        return;
    case DYN_V_MAP:
        dyn_tpl_fail(t, line, "cannot write a map: write its fields (dyn_get(v, \"key\"))");
    case DYN_V_PTR:
        dyn_tpl_fail(t, line, "cannot write a pointer value");
    }
    dyn_tpl_fail(t, line, "cannot write a value of type %d", (int)v->type);
}

void dyn_tpl_put_value(dyn_tpl_t *t, dyn_value_t v, int esc, int line)
{
    put_value(t, &v, esc, line, 0);
}

void dyn_tpl_put_vptr(dyn_tpl_t *t, const dyn_value_t *v, int esc, int line)
{
    if (!v)
        return;
    /* the common cases first, one call shallower */
    if (v->type == DYN_V_STR && esc && t->inner.type != DYN_V_STR)
        dyn_html_escape(t->out, v->s.ptr, v->s.len);
    else if (v->type == DYN_V_INT)
        dyn_tpl_put_int(t, v->i, esc, line);
    else
        put_value(t, v, esc, line, 0);
}

/* ---- assigns ------------------------------------------------------------------------------ */

const dyn_value_t *dyn_tpl_assign(dyn_tpl_t *t, const char *name, int line)
{
    if (t->inner.type == DYN_V_STR && !strcmp(name, "inner_content"))
        return &t->inner;
    const dyn_value_t *v = t->assigns ? dyn_map_get(t->assigns, name) : NULL;
    if (__builtin_expect(v != NULL, 1))
        return v;
    char list[256] = "";
    size_t used = 0;
    dyn_str_t k;
    const dyn_value_t *it;
    for (size_t i = 0; t->assigns && dyn_map_at(t->assigns, i, &k, &it); i++) {
        int n = snprintf(list + used, sizeof list - used, "%s@%s", i ? ", " : "", k.ptr);
        if (n < 0 || (size_t)n >= sizeof list - used) {
            snprintf(list + sizeof list - 5, 5, "...");
            break;
        }
        used += (size_t)n;
    }
    dyn_tpl_fail(t, line, "assign @%s not available (assigns: %s)", name, used ? list : "none");
}

/* ---- value helpers ------------------------------------------------------------------------ */

static const dyn_value_t null_value = {.type = DYN_V_NULL};

const dyn_value_t *dyn_getn(const dyn_value_t *v, const char *key, size_t len)
{
    const dyn_value_t *r = v && v->type == DYN_V_MAP ? dyn_map_getn(v->m, key, len) : NULL;
    return r ? r : &null_value;
}

const dyn_value_t *dyn_at(const dyn_value_t *v, size_t i)
{
    const dyn_value_t *r = v && v->type == DYN_V_LIST ? dyn_list_at(v->l, i) : NULL;
    return r ? r : &null_value;
}

size_t dyn_len(const dyn_value_t *v)
{
    if (!v)
        return 0;
    switch (v->type) {
    case DYN_V_LIST:
        return dyn_list_len(v->l);
    case DYN_V_MAP:
        return dyn_map_len(v->m);
    case DYN_V_STR:
        return v->s.len;
    default:
        return 0;
    }
}

dyn_iter_t dyn_iter_of(const dyn_value_t *v, const char *file, int line)
{
    dyn_iter_t it = {.once = 1};
    if (!v || v->type == DYN_V_NULL)
        return it;
    if (v->type != DYN_V_LIST)
        act_failf(DYN_ETEMPLATE, "%s:%d: DYN_FOR needs a list, not a %s", file, line,
                  dyn_vtype_name(v->type));
    it.l = v->l;
    it.n = dyn_list_len(v->l);
    return it;
}

bool dyn_tuple_next(dyn_iter_t *it, const dyn_value_t **const *vars, size_t n, const char *file,
                    int line)
{
    const dyn_value_t *t = dyn_iter_next(it);
    if (!t)
        return false;
    if (t->type != DYN_V_LIST || dyn_list_len(t->l) < n)
        act_failf(DYN_ETEMPLATE, "%s:%d: DYN_FOR_TUPLE: item %zu is %s, not a tuple of %zu", file,
                  line, it->i - 1, t->type == DYN_V_LIST ? "too short" : dyn_vtype_name(t->type),
                  n);
    for (size_t i = 0; i < n; i++)
        *vars[i] = dyn_list_at(t->l, i);
    return true;
}

dyn_iter_t dyn_map_iter_of(const dyn_value_t *v, const char *file, int line)
{
    dyn_iter_t it = {.once = 1};
    if (!v || v->type == DYN_V_NULL)
        return it;
    if (v->type != DYN_V_MAP)
        act_failf(DYN_ETEMPLATE, "%s:%d: DYN_FOR_MAP needs a map, not a %s", file, line,
                  dyn_vtype_name(v->type));
    it.m = v->m;
    it.n = dyn_map_len(v->m);
    return it;
}

/* ---- sets --------------------------------------------------------------------------------- */

static dyn_templates_node_t *_Atomic sets;

void dyn_templates_register(dyn_templates_node_t *node)
{
    dyn_templates_node_t *head = atomic_load_explicit(&sets, memory_order_relaxed);
    do {
        node->next = head;
        /* release: pairs with the acquire load of the readers, which then see node->set */
    } while (!atomic_compare_exchange_weak_explicit(&sets, &head, node, memory_order_release,
                                                    memory_order_relaxed));
}

static const dyn_template_t *find_in(const dyn_templates_t *set, const char *name)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, set->items[mid].name);
        if (c == 0)
            return &set->items[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const dyn_template_t *dyn_template_find(const dyn_templates_t *set, const char *name)
{
    if (set)
        return find_in(set, name);
    for (dyn_templates_node_t *n = atomic_load_explicit(&sets, memory_order_acquire); n;
         n = n->next) {
        const dyn_template_t *t = find_in(n->set, name);
        if (t)
            return t;
    }
    return NULL;
}

const dyn_template_t *dyn__tpl_lookup(dyn_conn_t *conn, const dyn_templates_t *first,
                                      const char *name, const dyn_templates_t **set)
{
    const dyn_template_t *t;
    if (first && (t = find_in(first, name))) {
        *set = first;
        return t;
    }
    const dyn_templates_t *web = conn ? dyn__web_templates(conn) : NULL;
    if (web && web != first && (t = find_in(web, name))) {
        *set = web;
        return t;
    }
    for (dyn_templates_node_t *n = atomic_load_explicit(&sets, memory_order_acquire); n;
         n = n->next) {
        if ((t = find_in(n->set, name))) {
            *set = n->set;
            return t;
        }
    }
    return NULL;
}

static void list_set(char *buf, size_t cap, size_t *used, const dyn_templates_t *s)
{
    for (size_t i = 0; i < s->n && *used + 1 < cap; i++) {
        int n = snprintf(buf + *used, cap - *used, "%s%s", *used ? ", " : "", s->items[i].name);
        if (n < 0 || (size_t)n >= cap - *used) {
            snprintf(buf + cap - 5, 5, "...");
            *used = cap - 1;
            return;
        }
        *used += (size_t)n;
    }
}

void dyn__tpl_not_found(dyn_conn_t *conn, const dyn_templates_t *first, const char *what,
                        const char *name, const char *from, int line)
{
    char list[300] = "";
    size_t used = 0;
    if (first)
        list_set(list, sizeof list, &used, first);
    const dyn_templates_t *web = conn ? dyn__web_templates(conn) : NULL;
    if (web && web != first)
        list_set(list, sizeof list, &used, web);
    for (dyn_templates_node_t *n = atomic_load_explicit(&sets, memory_order_acquire); n;
         n = n->next)
        if (n->set != first && n->set != web)
            list_set(list, sizeof list, &used, n->set);
    if (from)
        act_failf(DYN_ENOTEMPLATE, "%s:%d: %s \"%s\" not found (templates: %s)", from, line, what,
                  name, used ? list : "none");
    act_failf(DYN_ENOTEMPLATE, "%s \"%s\" not found (templates: %s)", what, name,
              used ? list : "none");
}

/* ---- buffer sizes ------------------------------------------------------------------------- */

/* The last output size of templates, in a small table indexed by the template's address: a
 * collision only costs a growth, and a race a stale size, so relaxed atomics do. */
#define HINTS 256
static _Atomic uint32_t hints[HINTS];

static _Atomic uint32_t *hint_slot(const dyn_template_t *t)
{
    return &hints[((uintptr_t)t / sizeof *t) % HINTS];
}

size_t dyn__tpl_size_hint(const dyn_template_t *t, size_t at_least)
{
    size_t h = atomic_load_explicit(hint_slot(t), memory_order_relaxed);
    h += h / 8 + 64;
    return h > at_least ? h : at_least;
}

void dyn__tpl_size_seen(const dyn_template_t *t, size_t len)
{
    atomic_store_explicit(hint_slot(t), len > UINT32_MAX ? UINT32_MAX : (uint32_t)len,
                          memory_order_relaxed);
}

/* ---- partials ----------------------------------------------------------------------------- */

dyn_safe_t dyn_tpl_partial_map(dyn_tpl_t *t, const char *name, const dyn_map_t *assigns, int line)
{
    if (t->depth >= DYN_TPL_MAX_DEPTH)
        dyn_tpl_fail(t, line, "partials nested %d deep rendering \"%s\" (does it render itself?)",
                     DYN_TPL_MAX_DEPTH, name);
    const dyn_templates_t *set = NULL;
    const dyn_template_t *p = dyn__tpl_lookup(t->conn, t->set, name, &set);
    if (!p)
        dyn__tpl_not_found(t->conn, t->set, "partial", name, t->tpl ? t->tpl->name : "template",
                           line);
    dyn_tpl_t sub = {
        .conn = t->conn,
        .assigns = assigns,
        .out = t->out,
        .tpl = p,
        .set = set,
        .inner = t->inner,
        .depth = t->depth + 1,
    };
    p->render(&sub);
    return (dyn_safe_t){"", 0};
}

dyn_safe_t dyn_tpl_partial(dyn_tpl_t *t, const char *name, const dyn_kv_t *kvs, int line)
{
    dyn_map_t *m = dyn_map_new(t->out->arena);
    if (!m)
        dyn_tpl_fail(t, line, "out of memory");
    for (; kvs->key; kvs++)
        if (dyn_map_put(m, kvs->key, kvs->value))
            dyn_tpl_fail(t, line, "out of memory");
    return dyn_tpl_partial_map(t, name, m, line);
}

int dyn_template_render(const dyn_templates_t *set, const char *name, const dyn_map_t *assigns,
                        dyn_conn_t *conn, dyn_buf_t *out)
{
    const dyn_templates_t *from = set;
    const dyn_template_t *tpl = set ? find_in(set, name) : dyn__tpl_lookup(conn, NULL, name, &from);
    if (!tpl)
        return DYN_ENOTEMPLATE;
    dyn_tpl_t t = {.conn = conn, .assigns = assigns, .out = out, .tpl = tpl, .set = from};
    size_t start = out->len;
    dyn_buf_reserve(out, dyn__tpl_size_hint(tpl, 0));
    tpl->render(&t);
    dyn__tpl_size_seen(tpl, out->len - start);
    return 0;
}
