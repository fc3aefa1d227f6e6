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

#include "hello.h"

/* get "/" do
 *   conn = conn.assign(:title, "Welcome to Dynamo!")
 *   render conn, "index.html"
 * end */
static dyn_conn_t *welcome(dyn_conn_t *conn)
{
    conn = dyn_assign_str(conn, "title", "Welcome to Dynamo!");
    const char *title = dyn_value_str(dyn_conn_assign(conn, "title"), "");
    dyn_buf_t b;
    dyn_buf_init(&b, dyn_conn_arena(conn), 1024);
    dyn_buf_puts(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    dyn_buf_html(&b, title, strlen(title));
    dyn_buf_puts(&b, "</title></head><body><h1>");
    dyn_buf_html(&b, title, strlen(title));
    dyn_buf_puts(&b, "</h1><ul>"
                     "<li><a href=\"/hello/world\">/hello/world</a></li>"
                     "<li><a href=\"/section/about\">/section/about</a></li>"
                     "<li><a href=\"/posts/recent\">/posts/recent</a></li>"
                     "<li><a href=\"/account?user_info=me\">/account?user_info=me</a></li>"
                     "<li><a href=\"/oops/hello\">/oops/hello</a> (the exception page)</li>"
                     "</ul></body></html>\n");
    conn = dyn_put_resp_content_type(conn, "text/html", "utf-8");
    return dyn_resp_borrow(conn, 200, b.data, b.len);
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
 * end
 * (Sessions come with the session plug; until then the user is named by an x-user-id header.) */
static dyn_conn_t *authenticate_user(dyn_conn_t *conn)
{
    if (!dyn_conn_req_header(conn, "x-user-id"))
        return dyn_halt(dyn_status(conn, 401));
    return conn;
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
 * end */
static bool known_section(dyn_conn_t *conn)
{
    const char *section = dyn_param(conn, "section");
    return strcmp(section, "contact") == 0 || strcmp(section, "about") == 0;
}

static dyn_conn_t *section(dyn_conn_t *conn)
{
    const char *s = dyn_param(conn, "section");
    conn = dyn_put_resp_content_type(conn, "text/html", "utf-8");
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "<!DOCTYPE html>\n<html><body><h1>%s</h1></body></html>\n",
                                strcmp(s, "about") == 0 ? "About us" : "Contact us"));
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
           DYN_FORWARD("/posts", &posts_router), DYN_FORWARD("/account", &account_router),
           DYN_GET("/", welcome), DYN_GET("/hello/world", hello_world),
           DYN_PUT("/users/:user_id", put_user),
           DYN_GET("/users/:user_id", show_user, .prepare = DYN_HOOKS(authenticate_user)),
           DYN_GET("/hello/*", hello_any),
           DYN_GET("/section/:section", section, DYN_GUARD(known_section)),
           DYN_GET("/oops/*what", oops), DYN_FINALIZE(served_by));
