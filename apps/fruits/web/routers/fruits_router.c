/*
 * The fruits router: the Dynamo README's template example.
 *
 *     prepare do
 *       conn.assign :layout, "home.html"
 *     end
 *
 *     get "/fruits" do
 *       conn = conn.assign(:fruits, [{0, "Apple"}, {1, "Orange"}, {2, "Banana"}])
 *       render conn, "fruits.html"
 *     end
 *
 * Each fruit of the list is a tuple {id, name} as in the seed: a list value of two items, which
 * the template binds with DYN_FOR_TUPLE (the seed's `lc { id, name } inlist @fruits`). The page
 * of one fruit gets it as a map instead, read by field name. `?extra=NAME` appends a fruit named
 * NAME, the way user input reaches a page: it comes back escaped, whatever it holds.
 */
#include <stdlib.h>
#include <string.h>

#include "dynamo/template.h"
#include "fruits.h"

static const char *const names[] = {"Apple", "Orange", "Banana"};
#define NFRUITS (sizeof names / sizeof names[0])

/* prepare do conn.assign :layout, "home.html" end */
static dyn_conn_t *use_home_layout(dyn_conn_t *conn)
{
    conn = dyn_assign_str(conn, "layout", "home.html");
    return dyn_assign_str(conn, "title", "Fruits");
}

/* {id, name} */
static dyn_value_t tuple(dyn_conn_t *conn, int64_t id, const char *name)
{
    dyn_list_t *t = dyn_list_new(dyn_conn_arena(conn), 2);
    if (!t || dyn_list_push(t, dyn_vint(id)) || dyn_list_push(t, dyn_vstr(name)))
        act_failf(ACT_ENOMEM, "out of memory building the fruit list");
    return dyn_vlist(t);
}

/* %{id: id, name: name} */
static dyn_value_t record(dyn_conn_t *conn, int64_t id, const char *name)
{
    dyn_map_t *m = dyn_map_new(dyn_conn_arena(conn));
    if (!m || dyn_map_put(m, "id", dyn_vint(id)) || dyn_map_put(m, "name", dyn_vstr(name)))
        act_failf(ACT_ENOMEM, "out of memory building the fruit");
    return dyn_vmap(m);
}

/* get "/fruits" do ... render conn, "fruits.html" end */
static dyn_conn_t *list_fruits(dyn_conn_t *conn)
{
    dyn_list_t *list = dyn_list_new(dyn_conn_arena(conn), NFRUITS + 1);
    if (!list)
        act_failf(ACT_ENOMEM, "out of memory building the fruit list");
    for (size_t i = 0; i < NFRUITS; i++)
        dyn_list_push(list, tuple(conn, (int64_t)i, names[i]));
    conn = dyn_fetch(conn, DYN_FETCH_QUERY); /* a query that does not decode is a 400 */
    const char *extra = dyn_param(conn, "extra");
    if (extra && extra[0])
        dyn_list_push(list, tuple(conn, NFRUITS, extra));
    conn = dyn_assign(conn, "fruits", dyn_vlist(list));
    return dyn_render(conn, "fruits.html");
}

/* get "/fruit/:id": one fruit, or 404. */
static dyn_conn_t *show_fruit(dyn_conn_t *conn)
{
    char *end;
    const char *id = dyn_param(conn, "id");
    long n = strtol(id, &end, 10);
    if (*end || end == id || n < 0 || (size_t)n >= NFRUITS) {
        conn = dyn_assign_str(conn, "title", "No such fruit");
        conn = dyn_assign(conn, "fruit", dyn_vnull());
        return dyn_render(dyn_status(conn, 404), "fruit.html");
    }
    conn = dyn_assign_str(conn, "title", names[n]);
    conn = dyn_assign(conn, "fruit", record(conn, n, names[n]));
    return dyn_render(conn, "fruit.html");
}

static dyn_conn_t *home(dyn_conn_t *conn)
{
    return dyn_redirect(conn, "/fruits");
}

DYN_ROUTER(fruits_router, DYN_PREPARE(use_home_layout), DYN_GET("/", home),
           DYN_GET("/fruits", list_fruits), DYN_GET("/fruit/:id", show_fruit));
