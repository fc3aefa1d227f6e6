/*
 * Connection timeouts: one list per kind per worker, one uv_timer per worker.
 *
 * All connections of a worker share each kind's duration, so appending at arming keeps every
 * list sorted by deadline: arming and disarming are O(1) list moves (a request arms two or
 * three), and the timer only ever aims at the earliest list head. It is not re-aimed when a
 * head is disarmed: it then fires early, finds nothing due, and aims at the new heads.
 *
 * A due connection is told by a message carrying its timer generation; the connection acts
 * only if it has not re-armed since (the message may cross a re-arm).
 */
#include "conn_int.h"

/* Unlinks c from its list; its kind stays (a fired timer is still "armed" for rearm's
 * purposes until the connection handles the timeout). */
static void tl_remove(http__worker_t *w, http__conn_t *c)
{
    if (!(c->flags & HTTP__C_TLINKED))
        return;
    c->flags &= ~HTTP__C_TLINKED;
    http__tlist_t *l = &w->tl[c->tkind];
    l->n--;
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        l->head = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        l->tail = c->tprev;
    c->tprev = c->tnext = NULL;
}

static void on_timer(uv_timer_t *t);

static void aim(http__worker_t *w, int64_t at)
{
    if (w->closed)
        return;
    if (w->timer_at >= 0 && w->timer_at <= at)
        return;
    int64_t now = (int64_t)uv_now(w->timer.loop);
    uv_timer_start(&w->timer, on_timer, (uint64_t)(at > now ? at - now : 0), 0);
    w->timer_at = at;
}

void http__timer_arm(http__conn_t *c, int kind)
{
    http__worker_t *w = c->w;
    tl_remove(w, c);
    c->tkind = HTTP__T_NONE;
    c->tgen++;
    if (kind == HTTP__T_NONE || w->closed)
        return;
    http__tlist_t *l = &w->tl[kind];
    if (l->ms <= 0)
        return; /* this timeout is off */
    int64_t deadline = (int64_t)uv_now(w->timer.loop) + l->ms;
    c->deadline = (uint32_t)deadline;
    c->tkind = (uint8_t)kind;
    c->flags |= HTTP__C_TLINKED;
    c->tprev = l->tail;
    c->tnext = NULL;
    if (l->tail)
        l->tail->tnext = c;
    else
        l->head = c;
    l->tail = c;
    l->n++;
    aim(w, deadline);
}

static void on_timer(uv_timer_t *t)
{
    http__worker_t *w = t->data;
    int64_t now = (int64_t)uv_now(t->loop);
    int64_t next = INT64_MAX;
    w->timer_at = -1;
    for (int k = 1; k < HTTP__T_COUNT; k++) {
        http__tlist_t *l = &w->tl[k];
        while (l->head && (int32_t)((uint32_t)now - l->head->deadline) >= 0) {
            http__conn_t *c = l->head;
            tl_remove(w, c);
            http__tick_t *m = act_msg_new(http__tick_t, HTTP__M_TIMEOUT);
            m->gen = c->tgen;
            m->hdr.ref = (act_ref_t)k; /* the kind that fired */
            act_send(c->pid, &m->hdr);
        }
        if (l->head) {
            /* Deadlines are truncated to 32 bits: rebuild the full one from now. */
            int64_t at = now + (int32_t)(l->head->deadline - (uint32_t)now);
            if (at < next)
                next = at;
        }
    }
    if (next != INT64_MAX)
        aim(w, next);
}

int http__timers_init(http__worker_t *w)
{
    const http_limits_t *lim = &w->srv->lim;
    uint32_t ms[HTTP__T_COUNT] = {
        [HTTP__T_HEAD] = lim->header_timeout_ms, [HTTP__T_IDLE] = lim->idle_timeout_ms,
        [HTTP__T_BODY] = lim->body_timeout_ms,   [HTTP__T_WRITE] = lim->write_timeout_ms,
        [HTTP__T_LINGER] = HTTP__LINGER_MS,
    };
    for (int k = 0; k < HTTP__T_COUNT; k++)
        w->tl[k] = (http__tlist_t){.ms = ms[k] == HTTP_UNLIMITED ? 0 : (int64_t)ms[k]};
    w->timer_at = -1;
    int rc = uv_timer_init(act_loop(), &w->timer);
    if (rc)
        return rc;
    w->timer.data = w;
    return 0;
}
