/*
 * What the server counts, for every file above: its references (its memory goes with the last)
 * and its connections (max_connections). A leaf: listen.c, conn.c, req.c and server.c use it,
 * it uses none of them, so they no longer call each other in a circle. Any thread.
 *
 * References: the caller's handle, the listener, each worker (until its libuv handles have
 * closed), each connection and each request hold one, so the server outlives whatever still
 * runs on it, also when the system stops with connections open.
 */
#include <unistd.h>

#include "conn_int.h"

void http__server_ref(http_server_t *srv)
{
    atomic_fetch_add_explicit(&srv->refs, 1, memory_order_relaxed);
}

static void server_free(http_server_t *srv)
{
    for (unsigned i = 0; srv->workers && i < srv->nworkers; i++) {
        http__worker_t *w = &srv->workers[i];
        http__pool_deinit(&w->rbufs);
        http__pool_deinit(&w->arenas);
        act_free(w->corked);
        if (w->lfd >= 0)
            close(w->lfd);
    }
    act_free(srv->workers);
    act_free((char *)srv->cfg.host);
    act_free((char *)srv->cfg.server_name);
    act_free((char *)srv->cfg.name);
    act_free(srv);
}

void http__server_unref(http_server_t *srv)
{
    /* acq_rel: every holder's writes happen before the free. */
    if (atomic_fetch_sub_explicit(&srv->refs, 1, memory_order_acq_rel) == 1)
        server_free(srv);
}

bool http__server_conn_reserve(http_server_t *srv)
{
    uint32_t max = srv->lim.max_connections;
    uint32_t n = atomic_load_explicit(&srv->nconns, memory_order_relaxed);
    do {
        if (n >= max)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&srv->nconns, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

void http__server_conn_gone(http_server_t *srv)
{
    /* seq_cst with the worker's seq_cst reservation retry after setting paused_full: one of
     * them sees the other (do_accept in listen.c). */
    uint32_t prev = atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_seq_cst);
    if (prev < srv->lim.max_connections)
        return;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        act_pid_t pid = HTTP__PID(srv->workers[i].pid);
        if (pid)
            act_send(pid, act_msg_alloc(sizeof(act_msg_t), HTTP__M_RESUME));
    }
}
