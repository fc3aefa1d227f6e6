/*
 * The posts router, forwarded to from "/posts": a request to /posts/recent is seen here as
 * /recent (its script_name keeps /posts).
 *
 *     defmodule PostsRouter do
 *       use Dynamo.Router
 *       get "/recent" do
 *         # Get all recent posts
 *       end
 *     end
 */
#include "hello.h"

static dyn_conn_t *recent(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "Recent posts (script_name %s, path_info %s)",
                                dyn_conn_script_name_str(conn), dyn_conn_path_info_str(conn)));
}

DYN_ROUTER(posts_router, DYN_GET("/recent", recent));
