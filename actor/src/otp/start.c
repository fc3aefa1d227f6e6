/*
 * Starting actors as supervised children: the start handshake (otp_int.h), act_start_link and
 * act_init_ack.
 *
 * Plain children are acknowledged automatically: act_start_link spawns them behind a thin
 * wrapper behaviour whose init runs the user's init and acknowledges its result (every later
 * message costs one more indirect call; servers, the common case, ack from their own init and
 * pay nothing). Fibers acknowledge themselves (act_init_ack) whenever they are ready; to find
 * their starter they look themselves up in `fibers`, a map from child pid to starter pid. The
 * starter fills it under `fibers_lock` held *around* the spawn, so the child cannot look
 * before its entry exists; the entry goes when the child acknowledges or when the starter
 * stops waiting, and the map is freed whenever it empties. (An entry outlives both only if the
 * starter is killed while it waits and the child never acknowledges: a stop hook frees it.)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "otp_int.h"

#include "map_int.h"

/* The last failed start's text on this thread (act_start_failure). act__start_wait writes it
 * as it returns, so the caller reads its own start's text: nothing can run on the thread in
 * between. */
static _Thread_local char failure[ACT_START_FAILURE_MAX];

const char *act_start_failure(void)
{
    return failure;
}

void act__start_failure_set(const char *text)
{
    /* Every start clears it: keep that to one store (the restart rate feels a snprintf). */
    if (!text || !text[0]) {
        failure[0] = '\0';
        return;
    }
    snprintf(failure, sizeof failure, "%s", text);
}

void act__ack(act_pid_t starter, int status, const char *text)
{
    size_t len = status && text ? strlen(text) : 0;
    if (len >= ACT_START_FAILURE_MAX)
        len = ACT_START_FAILURE_MAX - 1;
    act__ack_t *a = (act__ack_t *)act_msg_alloc(sizeof(act__ack_t) + len + 1, ACT__MSG_ACK);
    a->status = status;
    memcpy(a->text, text ? text : "", len);
    a->text[len] = '\0';
    act_send(starter, &a->hdr);
}

int act__init_status(int rc)
{
    rc = act__exit_reason_of(rc);
    return rc != ACT_NORMAL ? rc : ACT_ECHILDSTART;
}

static bool match_exit_of(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_EXIT && ((const act_down_t *)m)->pid == *(const act_pid_t *)arg;
}

static void flush_exit(act_pid_t pid)
{
    act_msg_t *m;
    while (act_receive(match_exit_of, &pid, 0, &m) == 0)
        act_msg_free(m);
}

typedef struct {
    act_pid_t pid;
    act_ref_t mref;
} watch_t;

static bool match_start(const act_msg_t *m, void *arg)
{
    const watch_t *w = arg;
    switch (m->type) {
    case ACT__MSG_ACK:
        return m->from == w->pid;
    case ACT_MSG_DOWN:
        return w->mref != 0 && m->ref == w->mref;
    case ACT_MSG_EXIT:
        return w->mref == 0 && ((const act_down_t *)m)->pid == w->pid;
    default:
        return false;
    }
}

int act__start_wait(act_pid_t child, act_ref_t mref, int64_t timeout_ms)
{
    watch_t w = {child, mref};
    act_msg_t *m = NULL;
    int rc = act_receive(match_start, &w, timeout_ms, &m);
    act__start_failure_set(NULL);
    if (rc) {
        /* Timed out: the child goes, and nothing of it stays queued here. */
        act_unlink(child);
        act_exit(child, ACT_KILL);
        if (mref)
            act_demonitor(mref, ACT_DEMONITOR_FLUSH);
        else
            flush_exit(child);
        return rc;
    }
    if (m->type == ACT__MSG_ACK) {
        int status = ((act__ack_t *)m)->status;
        act__start_failure_set(((act__ack_t *)m)->text);
        act_msg_free(m);
        if (mref)
            act_demonitor(mref, ACT_DEMONITOR_FLUSH);
        return status;
    }
    /* The child died before acknowledging: the DOWN consumed the monitor, or the EXIT the
     * link. */
    int reason = ((act_down_t *)m)->reason;
    act__start_failure_set(((act_down_t *)m)->text);
    act_msg_free(m);
    return reason != ACT_NORMAL ? reason : ACT_ECHILDSTART;
}

static bool match_down(const act_msg_t *m, void *arg)
{
    const watch_t *w = arg;
    if (m->type == ACT_MSG_DOWN)
        return m->ref == w->mref;
    return m->type == ACT_MSG_EXIT && ((const act_down_t *)m)->pid == w->pid;
}

int act__await_down(act_pid_t pid, act_ref_t mref, int64_t timeout_ms, int *reason)
{
    watch_t w = {pid, mref};
    int64_t deadline = timeout_ms < 0 ? -1 : act_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline < 0 ? ACT_INFINITY : deadline - act_now_ms();
        if (deadline >= 0 && left < 0)
            left = 0;
        act_msg_t *m;
        int rc = act_receive(match_down, &w, left, &m);
        if (rc)
            return rc;
        /* The link's EXIT comes before the DOWN (links are told first): drop it, go on. */
        bool down = m->type == ACT_MSG_DOWN;
        if (down && reason)
            *reason = ((act_down_t *)m)->reason;
        act_msg_free(m);
        if (down)
            return 0;
    }
}

/* ---- act_start_link: plain children ---------------------------------------------------- */

typedef struct {
    const act_behaviour_t *beh;
    void *ustate;
} wrap_t;

#define WRAP_HDR ((sizeof(wrap_t) + 15) & ~(size_t)15)

typedef struct {
    const act_behaviour_t *beh;
    void *arg;
    void *ustate; /* the caller's state pointer, when it gave one */
    bool inline_state;
    act_pid_t starter;
} wrap_start_t;

static int wrap_init(void *state, void *arg)
{
    wrap_start_t *r = arg;
    wrap_t *w = state;
    w->beh = r->beh;
    w->ustate = r->inline_state ? (char *)state + WRAP_HDR : r->ustate;
    void *uarg = r->arg;
    act_pid_t starter = r->starter;
    act_free(r);
    int rc = w->beh->init ? w->beh->init(w->ustate, uarg) : 0;
    if (rc == 0) {
        act__ack(starter, 0, NULL);
        return 0;
    }
    int status = act__init_status(rc);
    act_unlink(starter);
    act__ack(starter, status, NULL);
    return rc;
}

static int wrap_handle(void *state, act_msg_t *msg)
{
    wrap_t *w = state;
    return w->beh->handle(w->ustate, msg);
}

static void wrap_terminate(void *state, int reason)
{
    wrap_t *w = state;
    if (w->beh && w->beh->terminate)
        w->beh->terminate(w->ustate, reason);
}

static const act_behaviour_t wrap_beh = {
    .name = "start_link",
    .init = wrap_init,
    .handle = wrap_handle,
    .terminate = wrap_terminate,
};

/* ---- act_start_link: fibers ------------------------------------------------------------ */

static pthread_mutex_t fibers_lock = PTHREAD_MUTEX_INITIALIZER;
static act__map_t fibers;  /* child pid -> starter pid, under fibers_lock */
static bool fibers_hooked; /* a stop hook will free `fibers`, under fibers_lock */

static void fibers_free(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fibers_lock);
    act__map_deinit(&fibers);
    fibers_hooked = false;
    pthread_mutex_unlock(&fibers_lock);
}

/* Under fibers_lock: removes child's entry; *starter (may be NULL) gets the starter. */
static bool fibers_take(act_pid_t child, uint64_t *starter)
{
    bool found = act__map_del(&fibers, child, starter);
    if (found && fibers.len == 0)
        act__map_deinit(&fibers);
    return found;
}

int act_start_link(const act_spawn_opts_t *opts, int64_t timeout_ms, act_pid_t *out)
{
    if (!opts || opts->monitor || !opts->behaviour == !opts->fiber ||
        (opts->behaviour && !opts->behaviour->handle) || opts->state_size > (SIZE_MAX >> 2))
        return ACT_EBADARG;
    if (!act_system_running())
        return ACT_ENOTRUNNING;
    if (!act__can_wait())
        return ACT_ENOTFIBER;
    act_ref_t mref = 0;
    act_spawn_opts_t o = *opts;
    o.link = true;
    o.monitor = act__self_traps() ? NULL : &mref;
    act_pid_t self = act_self();
    act_pid_t pid;
    int rc;
    if (opts->behaviour) {
        wrap_start_t *r = act_malloc(sizeof *r);
        if (!r)
            return ACT_ENOMEM;
        *r = (wrap_start_t){opts->behaviour, opts->arg, opts->state, opts->state_size != 0, self};
        o.behaviour = &wrap_beh;
        o.arg = r;
        o.state = NULL;
        o.state_size = WRAP_HDR + opts->state_size;
        if ((rc = act_spawn(&o, &pid))) {
            act_free(r);
            return rc;
        }
    } else {
        pthread_mutex_lock(&fibers_lock);
        if (!fibers_hooked && act_system_on_stop(fibers_free, NULL) == 0)
            fibers_hooked = true;
        rc = act_spawn(&o, &pid);
        if (rc == 0 && act__map_put(&fibers, pid, self) != 0) {
            act_unlink(pid);
            act_exit(pid, ACT_KILL);
            if (mref)
                act_demonitor(mref, ACT_DEMONITOR_FLUSH);
            rc = ACT_ENOMEM;
        }
        pthread_mutex_unlock(&fibers_lock);
        if (rc)
            return rc;
    }
    rc = act__start_wait(pid, mref, timeout_ms);
    if (opts->fiber) {
        pthread_mutex_lock(&fibers_lock);
        fibers_take(pid, NULL);
        pthread_mutex_unlock(&fibers_lock);
    }
    if (rc == 0 && out)
        *out = pid;
    return rc;
}

int act_init_ack(int status)
{
    if (act_sched_self() < 0 || !act__can_wait()) /* a fiber on a scheduler */
        return ACT_ENOTFIBER;
    if (status > 0)
        return ACT_EBADARG;
    uint64_t starter = 0;
    pthread_mutex_lock(&fibers_lock);
    bool found = fibers_take(act_self(), &starter);
    pthread_mutex_unlock(&fibers_lock);
    if (!found)
        return ACT_EBADARG;
    if (status == 0) {
        act__ack(starter, 0, NULL);
        return 0;
    }
    act_unlink(starter);
    act__ack(starter, status, NULL);
    act_fail(status);
}
