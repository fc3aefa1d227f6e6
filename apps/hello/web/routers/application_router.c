/*
 * The application router: the Dynamo README's routes, one by one.
 *
 *     defmodule ApplicationRouter do
 *       use Dynamo.Router
 *       prepare do ... end
 *       forward "/posts", to: PostsRouter
 *       get "/" do ... end
 *       ...
 *     end
 */
#include <string.h>

#include "dynamo/template.h"
#include "hello.h"

/* prepare do
 *   conn.assign :layout, "application.html"
 * end
 * (The README's "prepare the connection, sometimes by setting a layout".) */
static dyn_conn_t *use_layout(dyn_conn_t *conn)
{
    return dyn_assign_str(conn, "layout", "application.html");
}

/* get "/" do
 *   conn = conn.assign(:title, "Welcome to Dynamo!")
 *   render conn, "index.html"
 * end */
static dyn_conn_t *welcome(dyn_conn_t *conn)
{
    conn = dyn_assign_str(conn, "title", "Welcome to Dynamo!");
    return dyn_render(conn, "index.html");
}

/* get "/hello/world" do
 *   conn.resp(200, "Hello world")
 * end */
static dyn_conn_t *hello_world(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "Hello world");
}

/* put "/users/:user_id" do
 *   conn.resp 200, "Got user id: #{conn.params[:user_id]}"
 * end */
static dyn_conn_t *put_user(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_sprintf(conn, "Got user id: %s", dyn_param(conn, "user_id")));
}

/* @prepare :authenticate_user
 * get "/users/:user_id" do ... end
 *
 * defp authenticate_user(conn) do
 *   unless conn.session[:user_id] do halt! conn.status(401) end
 * end */
static dyn_conn_t *authenticate_user(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    if (!dyn_session_get(conn, "user_id"))
        return dyn_halt(dyn_status(conn, 401));
    return conn;
}

/* POST /login with user_id=...: a session for that user (a real app checks a password
 * first). Renewed first, so a session id fixed before login is worth nothing after it. Try it:
 *   curl -c jar -d user_id=42 localhost:4000/login && curl -b jar localhost:4000/users/42 */
static dyn_conn_t *login(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION | DYN_FETCH_PARAMS);
    const char *user = dyn_param(conn, "user_id");
    if (!user || !*user)
        return dyn_halt(dyn_resp(conn, 400, "user_id is required"));
    conn = dyn_session_renew(conn);
    return dyn_resp(dyn_session_put_str(conn, "user_id", user), 200, "Logged in");
}

static dyn_conn_t *show_user(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_sprintf(conn, "User %s", dyn_param(conn, "user_id")));
}

// get "/hello/*" do
//   conn.resp 200, "Match all routes starting with /hello"
// end
static dyn_conn_t *hello_any(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "Match all routes starting with /hello");
}

/* get "/section/:section" when section in ["contact", "about"] do
 *   render conn, "#{section}.html"
 * end
 * (web/templates/about.html.eex and contact.html.eex) */
static bool known_section(dyn_conn_t *conn)
{
    const char *section = dyn_param(conn, "section");
    return strcmp(section, "contact") == 0 || strcmp(section, "about") == 0;
}

static dyn_conn_t *section(dyn_conn_t *conn)
{
    const char *s = dyn_param(conn, "section");
    conn = dyn_assign_str(conn, "title", strcmp(s, "about") == 0 ? "About us" : "Contact us");
    return dyn_render(conn, dyn_sprintf(conn, "%s.html", s));
}

/* A route that crashes, to see the exception handler: in dev the page with the reason, the
 * route, the backtrace and the request; in prod a plain 500 and a log line. */
static dyn_conn_t *oops(dyn_conn_t *conn)
{
    act_failf(ACT_CRASH, "oops: %s", dyn_param(conn, "what"));
}

/* finalize: after every route of this router (the README's finalize hook). */
static dyn_conn_t *served_by(dyn_conn_t *conn)
{
    return dyn_put_resp_header(conn, "x-served-by", "application_router");
}

DYN_ROUTER(application_router,
           /* It is common to break your Dynamo in many routers forwarding the requests
            * between them. */
           DYN_PREPARE(use_layout), DYN_FORWARD("/posts", &posts_router),
           DYN_FORWARD("/account", &account_router), DYN_GET("/", welcome),
           DYN_GET("/hello/world", hello_world), DYN_PUT("/users/:user_id", put_user),
           DYN_GET("/users/:user_id", show_user, .prepare = DYN_HOOKS(authenticate_user)),
           DYN_POST("/login", login), DYN_GET("/hello/*", hello_any),
           DYN_GET("/section/:section", section, DYN_GUARD(known_section)),
           DYN_GET("/oops/*what", oops), DYN_FINALIZE(served_by));
