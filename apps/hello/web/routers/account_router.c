/*
 * The account router: the README's hook that lets only requests with a user_info parameter
 * proceed, on a sub-router of its own, so only its routes pay for it.
 *
 *     prepare do
 *       unless conn.params[:user_info] do
 *         halt! conn.status(400)
 *       end
 *     end
 */
#include "hello.h"

/* prepare do
 *   conn.fetch :params
 * end
 * (In this router only, as the README advises: the other routes never pay for parsing.) */
static dyn_conn_t *fetch_params(dyn_conn_t *conn)
{
    return dyn_fetch(conn, DYN_FETCH_PARAMS);
}

static dyn_conn_t *require_user_info(dyn_conn_t *conn)
{
    const char *user_info = dyn_param(conn, "user_info");
    if (!user_info)
        return dyn_halt(dyn_status(conn, 400));
    return dyn_assign_str(conn, "user_info", user_info);
}

static dyn_conn_t *account(dyn_conn_t *conn)
{
    return dyn_resp(
        conn, 200,
        dyn_sprintf(conn, "Account of %s", dyn_value_str(dyn_conn_assign(conn, "user_info"), "")));
}

DYN_ROUTER(account_router, DYN_PREPARE(fetch_params), DYN_PREPARE(require_user_info),
           DYN_GET("/", account));
