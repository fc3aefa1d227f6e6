/*
 * Timers: a binary min-heap of deadlines per scheduler, driven by one uv_timer_t of its loop,
 * plus a map ref -> timer so that any thread can cancel.
 *
 * A timer belongs to the scheduler it was created on (a foreign thread's go round robin). Heap
 * and map sit under the scheduler's `tlock`: the owner takes it to fire timers, other threads to
 * add or cancel. Timers are not the message path, and cancellation must be exact (a successful
 * cancel guarantees the message is never delivered), which a lock gives simply. The uv timer is
 * only touched by the owner: another thread that makes a new earliest deadline sets
 * `timers_dirty` and wakes the owner, which re-arms.
 *
 * The ref names its scheduler in bits 48-57, so a cancel finds the right lock at once.
 */
#include <stdlib.h>

#include "actor_int.h"

struct act__timer {
    int64_t deadline;
    act_timer_t ref;
    act_pid_t to;
    act_msg_t *msg;
    size_t idx; /* position in the heap */
};

static bool earlier(const act__timer_t *a, const act__timer_t *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->ref < b->ref);
}

static void heap_set(act__sched_t *s, size_t i, act__timer_t *t)
{
    s->heap[i] = t;
    t->idx = i;
}

static void sift_up(act__sched_t *s, size_t i)
{
    act__timer_t *t = s->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(t, s->heap[parent]))
            break;
        heap_set(s, i, s->heap[parent]);
        i = parent;
    }
    heap_set(s, i, t);
}

static void sift_down(act__sched_t *s, size_t i)
{
    act__timer_t *t = s->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_len)
            break;
        if (c + 1 < s->heap_len && earlier(s->heap[c + 1], s->heap[c]))
            c++;
        if (!earlier(s->heap[c], t))
            break;
        heap_set(s, i, s->heap[c]);
        i = c;
    }
    heap_set(s, i, t);
}

static int heap_push(act__sched_t *s, act__timer_t *t)
{
    if (s->heap_len == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
        act__timer_t **h = act_realloc(s->heap, cap * sizeof *h);
        if (!h)
            return ACT_ENOMEM;
        s->heap = h;
        s->heap_cap = cap;
    }
    heap_set(s, s->heap_len++, t);
    sift_up(s, t->idx);
    return 0;
}

static void heap_remove(act__sched_t *s, act__timer_t *t)
{
    size_t i = t->idx;
    act__timer_t *last = s->heap[--s->heap_len];
    if (i == s->heap_len)
        return;
    heap_set(s, i, last);
    if (i > 0 && earlier(last, s->heap[(i - 1) / 2]))
        sift_up(s, i);
    else
        sift_down(s, i);
}

static void on_timer(uv_timer_t *h);

/* Owner: arms the uv timer for the earliest deadline. */
static void rearm(act__sched_t *s)
{
    pthread_mutex_lock(&s->tlock);
    int64_t d = s->heap_len ? s->heap[0]->deadline : -1;
    pthread_mutex_unlock(&s->tlock);
    if (d < 0) {
        if (s->armed_at >= 0)
            uv_timer_stop(&s->timer);
        s->armed_at = -1;
        return;
    }
    if (d == s->armed_at)
        return;
    int64_t delay = d - act_now_ms();
    uv_update_time(&s->loop);
    uv_timer_start(&s->timer, on_timer, delay > 0 ? (uint64_t)delay : 0, 0);
    s->armed_at = d;
}

static void on_timer(uv_timer_t *h)
{
    act__sched_t *s = h->data;
    s->armed_at = -1;
    int64_t now = act_now_ms();
    bool sent = false;
    for (;;) {
        pthread_mutex_lock(&s->tlock);
        act__timer_t *t = NULL;
        if (s->heap_len && s->heap[0]->deadline <= now) {
            t = s->heap[0];
            heap_remove(s, t);
            act__map_del(&s->timers, t->ref, NULL);
        }
        pthread_mutex_unlock(&s->tlock);
        if (!t)
            break;
        /* The creator is the sender (act_send here would name nobody: no actor runs). */
        act__send_from(t->to, t->msg, t->msg->from);
        act_free(t);
        sent = true;
    }
    rearm(s);
    /* A sleeping scheduler's uv_run(UV_RUN_ONCE) runs due timers before it polls, with a poll
     * timeout computed after them: the actors these sends just queued on this scheduler would
     * wait for the next event, for ever on an idle node. uv_stop makes that poll return at
     * once (uv_backend_timeout is 0 once stop_flag is set). */
    if (sent)
        uv_stop(h->loop);
}

void act__timers_sync(act__sched_t *s)
{
    if (atomic_exchange_explicit(&s->timers_dirty, false, memory_order_acq_rel))
        rearm(s);
}

int act__timers_init(act__sched_t *s)
{
    pthread_mutex_init(&s->tlock, NULL);
    uv_timer_init(&s->loop, &s->timer);
    s->timer.data = s;
    s->armed_at = -1;
    s->heap = NULL;
    s->heap_len = s->heap_cap = 0;
    s->timers = (act__map_t){0};
    s->timer_seq = 0;
    atomic_init(&s->timers_dirty, false);
    return 0;
}

static void timer_close_cb(uv_handle_t *h)
{
    (void)h;
}

void act__timers_deinit(act__sched_t *s)
{
    for (size_t i = 0; i < s->heap_len; i++) {
        act_msg_free(s->heap[i]->msg);
        act_free(s->heap[i]);
    }
    act_free(s->heap);
    s->heap = NULL;
    s->heap_len = s->heap_cap = 0;
    act__map_deinit(&s->timers);
    uv_close((uv_handle_t *)&s->timer, timer_close_cb);
    pthread_mutex_destroy(&s->tlock);
}

int act_send_after(act_pid_t pid, int64_t ms, act_msg_t *msg, act_timer_t *out)
{
    act__thread_t *t = act__thread();
    if (!t || ms < 0) {
        act_msg_free(msg);
        return t ? ACT_EBADARG : ACT_ENOTRUNNING;
    }
    act__sched_t *s = t->sched;
    if (!s) {
        unsigned i = atomic_fetch_add_explicit(&act__sys.rr, 1, memory_order_relaxed);
        s = &act__sys.scheds[i % act__sys.nsched];
    }
    act__timer_t *tm = act_malloc(sizeof *tm);
    if (!tm) {
        act_msg_free(msg);
        return ACT_ENOMEM;
    }
    msg->from = t->current ? t->current->pid : ACT_PID_NONE;
    tm->deadline = act_now_ms() + ms;
    tm->to = pid;
    tm->msg = msg;
    pthread_mutex_lock(&s->tlock);
    tm->ref = ((uint64_t)(s->index + 1) << 48) | (++s->timer_seq & ((1ULL << 48) - 1));
    int rc = heap_push(s, tm);
    if (rc == 0 && (rc = act__map_put(&s->timers, tm->ref, (uint64_t)(uintptr_t)tm)) != 0)
        heap_remove(s, tm);
    bool first = rc == 0 && tm->idx == 0;
    /* Read under the lock: once it is released the owner may fire and free the timer. */
    act_timer_t ref = tm->ref;
    pthread_mutex_unlock(&s->tlock);
    if (rc) {
        act_msg_free(msg);
        act_free(tm);
        return rc;
    }
    if (out)
        *out = ref;
    if (first) {
        if (s == t->sched) {
            rearm(s);
        } else {
            /* The owner re-arms; wake it if it sleeps (it checks the flag before sleeping). */
            atomic_store_explicit(&s->timers_dirty, true, memory_order_seq_cst);
            if (atomic_load_explicit(&s->sleeping, memory_order_seq_cst))
                act__sched_wake(s);
        }
    }
    return 0;
}

int act_timer_cancel(act_timer_t ref, int64_t *remaining_ms)
{
    if (!act_system_running() && atomic_load(&act__sys.state) != ACT__SYS_STOPPING)
        return ACT_ENOTRUNNING;
    uint64_t si = ref >> 48;
    if (si == 0 || si > act__sys.nsched)
        return ACT_ENOTIMER;
    act__sched_t *s = &act__sys.scheds[si - 1];
    uint64_t v = 0;
    pthread_mutex_lock(&s->tlock);
    bool found = act__map_del(&s->timers, ref, &v);
    act__timer_t *t = (act__timer_t *)(uintptr_t)v;
    if (found)
        heap_remove(s, t);
    pthread_mutex_unlock(&s->tlock);
    if (!found)
        return ACT_ENOTIMER;
    if (remaining_ms) {
        int64_t left = t->deadline - act_now_ms();
        *remaining_ms = left > 0 ? left : 0;
    }
    /* The uv timer may stay armed for this deadline: it fires, finds nothing due, re-arms. */
    act_msg_free(t->msg);
    act_free(t);
    return 0;
}
