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
#include <string.h>

#include "hello.h"

/* Finds user_info in the query string. (The params fetch of the next step will do this for
 * every parameter, query and body; the hook then reads dyn_param(conn, "user_info").) */
static int find_user_info(const char *key, size_t klen, const char *value, size_t vlen, void *arg)
{
    (void)vlen;
    if (klen == 9 && memcmp(key, "user_info", 9) == 0) {
        *(const char **)arg = value;
        return 1;
    }
    return 0;
}

static dyn_conn_t *require_user_info(dyn_conn_t *conn)
{
    const char *q = dyn_conn_query(conn);
    char *buf = dyn_alloc(conn, strlen(q) + 2);
    const char *found = NULL;
    int rc = dyn_urlencoded_each(q, strlen(q), buf, NULL, find_user_info, &found);
    if (rc < 0 || !found)
        return dyn_halt(dyn_status(conn, 400));
    return dyn_assign_str(conn, "user_info", found);
}

static dyn_conn_t *account(dyn_conn_t *conn)
{
    return dyn_resp(
        conn, 200,
        dyn_sprintf(conn, "Account of %s", dyn_value_str(dyn_conn_assign(conn, "user_info"), "")));
}

DYN_ROUTER(account_router, DYN_PREPARE(require_user_info), DYN_GET("/", account));
