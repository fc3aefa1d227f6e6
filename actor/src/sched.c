/*
 * Schedulers: one thread per core, each with a libuv loop, a stealable run queue, an inbox and
 * a "run next" slot.
 *
 * Where a runnable actor goes (act__schedule):
 * - pinned to scheduler P (I/O owners; fibers after their first run): P's inbox, an MPSC queue
 *   only P consumes, waking P if it sleeps; or P's run-next slot when P itself woke it;
 * - otherwise, woken on a scheduler thread: that scheduler's run-next slot if the waker is
 *   running a turn (a reply runs while its message is hot in the cache, as Tokio's LIFO slot),
 *   else its run queue; a full run queue spills half into the global queue;
 * - woken by a foreign thread: a scheduler's inbox, round robin.
 * Fairness: the run-next slot is taken at most 32 times in a row; inbox and run queue
 * alternate; the global queue is looked at every 61 picks even when local work remains.
 *
 * Sleep and wake. With nothing to run or steal a scheduler sets `sleeping`, looks once more
 * for work, and blocks in uv_run. A thread that puts work in its inbox then reads `sleeping`
 * (both sides sequentially consistent: a Dekker handshake, so one of them sees the other) and
 * sends the uv_async only if it was set: no syscall while the scheduler is awake, no lost
 * wake-up, no spinning while idle. Work in a busy scheduler's own run queue wakes a sleeping
 * peer to steal it once the queue holds more than one actor.
 *
 * I/O: a busy scheduler polls its loop (uv_run NOWAIT) every 64 turns, an idle one blocks in
 * it. Epoch sections span batches of turns and close before any poll or sleep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor_int.h"

act__system_t act__sys;
_Thread_local act__thread_t *act__tls ACT__TLS;
_Thread_local uint64_t act__tls_gen ACT__TLS;

#define RUNQ_SLOTS 1024 /* holds 1023 actors */
#define NEXT_STREAK_MAX 32
#define TURNS_PER_POLL 64
#define GLOBAL_EVERY 61
#define STEAL_MAX 32
/* Polls of the loop before sleeping: more only burn syscalls at low load (measured: no gain
 * under load), fewer pay a sleep and wake-up for work that was about to arrive. */
#define SPIN_ROUNDS 2

int64_t act_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool act_system_running(void)
{
    return atomic_load_explicit(&act__sys.state, memory_order_acquire) == ACT__SYS_RUNNING;
}

unsigned act_sched_count(void)
{
    int st = atomic_load_explicit(&act__sys.state, memory_order_acquire);
    return st == ACT__SYS_DOWN ? 0 : act__sys.nsched;
}

int act_sched_time(unsigned i, act_sched_time_t *out)
{
    int st = atomic_load_explicit(&act__sys.state, memory_order_acquire);
    if (st != ACT__SYS_RUNNING)
        return ACT_ENOTRUNNING;
    if (i >= act__sys.nsched)
        return ACT_EBADARG;
    act__sched_t *s = &act__sys.scheds[i];
    /* uv_metrics_idle_time is thread-safe (libuv takes its metrics lock). */
    *out = (act_sched_time_t){.idle_ns = uv_metrics_idle_time(&s->loop),
                              .wall_ns = uv_hrtime() - s->born_ns};
    return 0;
}

int act_sched_self(void)
{
    act__thread_t *t = act__tls;
    /* The generation first: a context from before a stop is freed memory. */
    return (t && act__tls_gen == atomic_load(&act__sys.gen) && t->sched) ? t->sched->index : -1;
}

uv_loop_t *act_loop(void)
{
    int i = act_sched_self();
    return i < 0 ? NULL : &act__sys.scheds[i].loop;
}

uint64_t act_actor_count(void)
{
    int st = atomic_load_explicit(&act__sys.state, memory_order_acquire);
    if (st != ACT__SYS_RUNNING && st != ACT__SYS_STOPPING)
        return 0;
    int64_t n = atomic_load_explicit(&act__sys.live_retired, memory_order_acquire);
    for (unsigned i = 0; i < act__sys.nsched; i++)
        n += atomic_load_explicit(&act__sys.scheds[i].thr.live, memory_order_acquire);
    pthread_mutex_lock(&act__sys.lock);
    for (act__thread_t *f = act__sys.foreign; f; f = f->next_foreign)
        n += atomic_load_explicit(&f->live, memory_order_acquire);
    pthread_mutex_unlock(&act__sys.lock);
    return n > 0 ? (uint64_t)n : 0;
}

act_ref_t act_make_ref(void)
{
    act__thread_t *t = act__thread();
    if (!t)
        return 0;
    return t->ref_hi | ++t->ref_next;
}

/* ---- thread contexts ------------------------------------------------------------------------ */

static void thread_ctx_init(act__thread_t *t, act__sched_t *s)
{
    memset(t, 0, sizeof *t);
    t->sched = s;
    t->epoch = act__epoch_register();
    /* 20 bits of thread id, 44 bits of counter: refs never repeat within a run. */
    uint64_t id = atomic_fetch_add_explicit(&act__sys.thread_ids, 1, memory_order_relaxed) + 1;
    t->ref_hi = id << 44;
}

static void thread_ctx_deinit(act__thread_t *t)
{
    act__slot_cache_flush(&t->slots);
    act__epoch_unregister(t->epoch);
}

static void bind_tls(act__thread_t *t)
{
    act__tls = t;
    act__tls_gen = atomic_load_explicit(&act__sys.gen, memory_order_relaxed);
}

/* pthread key destructor: a foreign thread that used the system exits. */
static void foreign_exit(void *arg)
{
    act__thread_t *t = arg;
    if (act__tls != t || act__tls_gen != atomic_load(&act__sys.gen))
        return; /* context of an earlier system, already freed */
    act_thread_detach();
}

act__thread_t *act__thread_slow(void)
{
    int st = atomic_load_explicit(&act__sys.state, memory_order_acquire);
    if (st != ACT__SYS_RUNNING && st != ACT__SYS_STOPPING)
        return NULL;
    act__thread_t *t = act_xmalloc(sizeof *t);
    thread_ctx_init(t, NULL);
    pthread_mutex_lock(&act__sys.lock);
    t->next_foreign = act__sys.foreign;
    act__sys.foreign = t;
    pthread_mutex_unlock(&act__sys.lock);
    bind_tls(t);
    pthread_setspecific(act__sys.tkey, t);
    return t;
}

void act_thread_detach(void)
{
    act__thread_t *t = act__tls;
    if (!t || act__tls_gen != atomic_load(&act__sys.gen) || t->sched)
        return;
    if (t->current)
        act__proxy_die(t);
    pthread_mutex_lock(&act__sys.lock);
    for (act__thread_t **p = &act__sys.foreign; *p; p = &(*p)->next_foreign) {
        if (*p == t) {
            *p = t->next_foreign;
            break;
        }
    }
    /* Under the lock, so act_actor_count never sees the count twice or not at all. */
    atomic_fetch_add_explicit(&act__sys.live_retired,
                              atomic_load_explicit(&t->live, memory_order_relaxed),
                              memory_order_release);
    pthread_mutex_unlock(&act__sys.lock);
    thread_ctx_deinit(t);
    pthread_setspecific(act__sys.tkey, NULL);
    act__tls = NULL;
    act_free(t);
}

/* ---- scheduling ----------------------------------------------------------------------------- */

void act__sched_wake(act__sched_t *s)
{
    /* Only the waker that flips `sleeping` pays for the syscall. */
    if (atomic_exchange_explicit(&s->sleeping, 0, memory_order_seq_cst))
        uv_async_send(&s->wake);
}

static void push_inbox(act__sched_t *s, act__actor_t *a)
{
    atomic_store_explicit(&a->rq.next, NULL, memory_order_relaxed);
    /* seq_cst exchange, then a seq_cst load of `sleeping`: the waker's half of the Dekker
     * handshake with sleep() below. */
    uintptr_t prev =
        atomic_exchange_explicit(&s->inbox.head, (uintptr_t)&a->rq, memory_order_seq_cst);
    act__node_t *p = (act__node_t *)(prev & ~ACT__MPSC_IDLE);
    atomic_store_explicit(&p->next, &a->rq, memory_order_release);
    /* On s's own thread (a libuv callback of s's loop, possibly inside the uv_run it sleeps
     * in) no wake-up is needed: s looks at its queues as soon as the callback returns. */
    act__thread_t *t = act__tls;
    if (t && t->sched == s)
        return;
    if (atomic_load_explicit(&s->sleeping, memory_order_seq_cst))
        act__sched_wake(s);
}

static void wake_idle_peer(act__sched_t *self)
{
    if (atomic_load_explicit(&act__sys.n_idle, memory_order_relaxed) == 0)
        return;
    for (unsigned i = 1; i < act__sys.nsched; i++) {
        act__sched_t *s = &act__sys.scheds[(self->index + i) % act__sys.nsched];
        if (atomic_load_explicit(&s->sleeping, memory_order_relaxed)) {
            act__sched_wake(s);
            return;
        }
    }
}

/* Owner: a full run queue moves half of itself, plus a, to the global queue. */
static void spill(act__sched_t *s, act__actor_t *a)
{
    act__gchunk_t *c = act__gchunk_new();
    c->items[c->n++] = a;
    while (c->n < ACT__GCHUNK_ITEMS && c->n <= RUNQ_SLOTS / 2) {
        act__actor_t *x = act__runq_pop(&s->runq);
        if (!x)
            break;
        c->items[c->n++] = x;
    }
    act__globq_push(&act__sys.globq, c);
    wake_idle_peer(s);
}

/* Owner: back of the local queues. */
void act__requeue(act__sched_t *s, act__actor_t *a)
{
    int32_t pin = atomic_load_explicit(&a->sched, memory_order_relaxed);
    if (pin >= 0) {
        push_inbox(&act__sys.scheds[pin], a);
        return;
    }
    if (ACT_UNLIKELY(!act__runq_push(&s->runq, a))) {
        spill(s, a);
        return;
    }
    if (act__runq_size(&s->runq) > 1)
        wake_idle_peer(s);
}

void act__schedule(act__actor_t *a, bool hot)
{
    if (a->kind == ACT__PROXY) {
        sem_post(&a->proxy->sem);
        return;
    }
    act__thread_t *t = act__tls;
    act__sched_t *self = (t && t->sched) ? t->sched : NULL;
    int32_t pin = atomic_load_explicit(&a->sched, memory_order_relaxed);
    if (pin >= 0 && (!self || pin != self->index)) {
        push_inbox(&act__sys.scheds[pin], a);
        return;
    }
    if (!self) {
        unsigned i = atomic_fetch_add_explicit(&act__sys.rr, 1, memory_order_relaxed);
        push_inbox(&act__sys.scheds[i % act__sys.nsched], a);
        return;
    }
    if (hot && self->in_turn) {
        act__actor_t *old = self->next;
        self->next = a;
        if (old)
            act__requeue(self, old);
        return;
    }
    act__requeue(self, a);
}

static act__actor_t *actor_of(act__node_t *n)
{
    return n ? ACT_CONTAINER_OF(n, act__actor_t, rq) : NULL;
}

/* Runs one actor of the oldest global chunk and moves as many others as fit into the run
 * queue; the rest of the chunk goes back to the front. */
static act__actor_t *take_global(act__sched_t *s)
{
    act__gchunk_t *c = act__globq_take(&act__sys.globq);
    if (!c)
        return NULL;
    act__actor_t *first = c->items[c->head++];
    size_t room = act__runq_capacity(&s->runq) - act__runq_size(&s->runq);
    for (size_t k = room / 2; k > 0 && c->head < c->n; k--) {
        if (!act__runq_push(&s->runq, c->items[c->head]))
            break;
        c->head++;
    }
    if (c->head < c->n)
        act__globq_push_front(&act__sys.globq, c);
    else
        act_free(c);
    if (act__runq_size(&s->runq) > 1)
        wake_idle_peer(s);
    return first;
}

static act__actor_t *steal(act__sched_t *s)
{
    unsigned n = act__sys.nsched;
    if (n < 2)
        return NULL;
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    unsigned start = (unsigned)(s->rng >> 33) % n;
    for (unsigned i = 0; i < n; i++) {
        act__sched_t *v = &act__sys.scheds[(start + i) % n];
        if (v == s)
            continue;
        size_t avail = act__runq_size(&v->runq);
        if (avail == 0)
            continue;
        size_t k = (avail + 1) / 2;
        if (k > STEAL_MAX)
            k = STEAL_MAX;
        act__actor_t *first = act__runq_pop(&v->runq);
        if (!first)
            continue;
        for (size_t j = 1; j < k; j++) {
            act__actor_t *x = act__runq_pop(&v->runq);
            if (!x)
                break;
            act__requeue(s, x);
        }
        return first;
    }
    return NULL;
}

static act__actor_t *find_work(act__sched_t *s)
{
    act__actor_t *a = s->next;
    if (a) {
        s->next = NULL;
        if (s->next_streak++ < NEXT_STREAK_MAX)
            return a;
        act__requeue(s, a); /* let the others run first */
    }
    s->next_streak = 0;
    if (++s->tick % GLOBAL_EVERY == 0 && (a = take_global(s)))
        return a;
    /* Rounds: the actors in the run queue when a round starts all run, then the actors that
     * were in the inbox when its turn came (up to the node that was last then), then a new
     * round. Taking from each in turn one by one instead would let a pinned actor that
     * requeues itself (a fiber spawning in a loop) run after every single actor it feeds. */
    if (!s->inbox_end && s->ring_quota == 0) {
        act__node_t *last =
            (act__node_t *)(atomic_load_explicit(&s->inbox.head, memory_order_acquire) &
                            ~ACT__MPSC_IDLE);
        s->inbox_end = last == &s->inbox.stub ? NULL : last;
    }
    if (s->inbox_end) {
        act__node_t *n = act__mpsc_pop(&s->inbox);
        if (!n || n == s->inbox_end) {
            s->inbox_end = NULL;
            s->ring_quota = act__runq_size(&s->runq) + 1;
        }
        if (n)
            return actor_of(n);
    }
    if (s->ring_quota == 0)
        s->ring_quota = act__runq_size(&s->runq) + 1;
    if ((a = act__runq_pop(&s->runq))) {
        s->ring_quota--;
        return a;
    }
    s->ring_quota = 0;
    if ((a = actor_of(act__mpsc_pop(&s->inbox))) || (a = take_global(s)))
        return a;
    return steal(s);
}

static bool has_local_work(act__sched_t *s)
{
    return s->next || !act__mpsc_is_empty(&s->inbox) || act__runq_size(&s->runq) > 0 ||
           act__globq_len(&act__sys.globq) > 0 ||
           atomic_load_explicit(&s->timers_dirty, memory_order_seq_cst);
}

/* ---- the loop ------------------------------------------------------------------------------- */

static void on_wake(uv_async_t *h)
{
    act__timers_sync(h->data);
}

static void on_reclaim(uv_timer_t *h)
{
    (void)h; /* the loop polls the epoch after every wake-up */
}

static void run_turn(act__sched_t *s, act__actor_t *a)
{
    act__thread_t *t = &s->thr;
    t->current = a;
    atomic_store_explicit(&a->last_sched, s->index, memory_order_relaxed);
    s->in_turn = true;
    if (a->kind == ACT__PLAIN)
        act__run_plain(s, a);
    else
        act__run_fiber(s, a);
    s->in_turn = false;
    t->current = NULL;
}

static void sleep_once(act__sched_t *s)
{
    atomic_store_explicit(&s->sleeping, 1, memory_order_seq_cst);
    /* The sleeper's half of the handshake: look again after announcing the sleep. */
    if (atomic_load_explicit(&s->stop, memory_order_acquire) || has_local_work(s)) {
        atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&act__sys.n_idle, 1, memory_order_relaxed);
    uv_run(&s->loop, UV_RUN_ONCE);
    atomic_fetch_sub_explicit(&act__sys.n_idle, 1, memory_order_relaxed);
    atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
}

static void sched_main(void *arg)
{
    act__sched_t *s = arg;
    act__thread_t *t = &s->thr;
    bind_tls(t);
    act__fiber_init_thread(&s->thread_fiber);
    if (act__sys.cfg.pin_threads) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(s->index % (unsigned)sysconf(_SC_NPROCESSORS_ONLN), &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    unsigned turns = 0, idle_rounds = 0;
    while (!atomic_load_explicit(&s->stop, memory_order_acquire)) {
        act__actor_t *a = find_work(s);
        if (a) {
            idle_rounds = 0;
            if (t->epoch->depth == 0)
                act__epoch_enter(t->epoch);
            run_turn(s, a);
            if (++turns < TURNS_PER_POLL)
                continue;
            turns = 0;
            act__epoch_exit(t->epoch);
            act__epoch_poll(t->epoch);
            uv_run(&s->loop, UV_RUN_NOWAIT);
            act__timers_sync(s);
            continue;
        }
        if (t->epoch->depth)
            act__epoch_exit(t->epoch);
        turns = 0;
        uint64_t pending = act__epoch_poll(t->epoch);
        if (idle_rounds++ < SPIN_ROUNDS) {
            uv_run(&s->loop, UV_RUN_NOWAIT);
            act__timers_sync(s);
            continue;
        }
        /* Sleep. If retired memory waits for others to move the epoch on, come back for it;
         * with nothing pending no timer is armed, so an idle system uses no CPU. */
        if (pending)
            uv_timer_start(&s->reclaim, on_reclaim, 10, 0);
        sleep_once(s);
        uv_timer_stop(&s->reclaim);
        /* sleep_once returns at once when another thread added the earliest timer (it set
         * timers_dirty but saw us awake, so it sent no wake-up): re-arm here, or we would
         * loop without ever arming it. */
        act__timers_sync(s);
    }
    if (t->epoch->depth)
        act__epoch_exit(t->epoch);
    act__fiber_deinit_thread(&s->thread_fiber);
}

/* ---- start and stop ------------------------------------------------------------------------- */

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void sched_deinit(act__sched_t *s)
{
    act__timers_deinit(s);
    uv_close((uv_handle_t *)&s->wake, close_cb);
    uv_close((uv_handle_t *)&s->reclaim, close_cb);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&s->loop) != 0)
        fprintf(stderr, "act_system_stop: scheduler %d: libuv handles still open\n", s->index);
    act__stack_pool_deinit(&s->stacks);
    act__runq_deinit(&s->runq);
    thread_ctx_deinit(&s->thr);
}

static int sched_init(act__sched_t *s, int index)
{
    s->index = index;
    s->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(index + 1);
    int rc = uv_loop_init(&s->loop);
    if (rc)
        return rc;
    /* libuv then times each wait in epoll (act_sched_time): two clock reads and an uncontended
     * mutex per poll, and one more epoll_wait(0) before each sleep. */
    uv_loop_configure(&s->loop, UV_METRICS_IDLE_TIME);
    s->born_ns = uv_hrtime();
    if ((rc = act__runq_init(&s->runq, RUNQ_SLOTS))) {
        uv_loop_close(&s->loop);
        return rc;
    }
    act__mpsc_init(&s->inbox, false);
    uv_async_init(&s->loop, &s->wake, on_wake);
    s->wake.data = s;
    uv_timer_init(&s->loop, &s->reclaim);
    size_t stack = act__sys.cfg.fiber_stack_size;
    act__stack_pool_init(&s->stacks, stack, act__sys.cfg.fiber_stack_pool);
    thread_ctx_init(&s->thr, s);
    atomic_init(&s->sleeping, 0);
    return act__timers_init(s);
}

static unsigned default_schedulers(void)
{
    const char *env = getenv("ACT_SCHEDULERS");
    if (env && atoi(env) > 0)
        return (unsigned)atoi(env);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

int act_system_start(const act_config_t *cfg)
{
    int expected = ACT__SYS_DOWN;
    if (!atomic_compare_exchange_strong(&act__sys.state, &expected, ACT__SYS_STARTING))
        return -EALREADY;
    act_config_t c = cfg ? *cfg : (act_config_t){0};
    if (c.schedulers == 0)
        c.schedulers = default_schedulers();
    if (c.schedulers > 1024)
        goto badarg;
    if (c.fiber_stack_size == 0) {
        c.fiber_stack_size = 128 * 1024;
#if defined(DYN_ASAN) || defined(DYN_TSAN)
        c.fiber_stack_size *= 4;
#endif
    }
    c.fiber_stack_size = act__stack_round(c.fiber_stack_size);
    if (c.batch == 0)
        c.batch = 100;
    if (c.max_actors == 0)
        c.max_actors = 16u << 20;
    if (c.fiber_stack_pool == 0)
        c.fiber_stack_pool = 64;
    act__sys.cfg = c;
    act__sys.nsched = c.schedulers;
    atomic_store(&act__sys.live_retired, 0);
    atomic_store(&act__sys.n_idle, 0);
    atomic_store(&act__sys.stop_requested, false);
    atomic_store(&act__sys.stop_status, 0);
    pthread_mutex_init(&act__sys.lock, NULL);
    act__sys.hooks = NULL;
    act__sys.nhooks = 0;
    act__sys.foreign = NULL;
    sem_init(&act__sys.stop_sem, 0, 0);
    pthread_key_create(&act__sys.tkey, foreign_exit);
    atomic_fetch_add(&act__sys.gen, 1);

    int rc;
    act__epoch_init();
    if ((rc = act__slots_init(c.max_actors)))
        goto fail_slots;
    if ((rc = act__registry_init()))
        goto fail_registry;
    act__globq_init(&act__sys.globq);
    act__sys.scheds = act_calloc_aligned(64, c.schedulers * sizeof *act__sys.scheds);
    if (!act__sys.scheds) {
        rc = ACT_ENOMEM;
        goto fail_scheds;
    }
    unsigned ok = 0;
    for (; ok < c.schedulers; ok++)
        if ((rc = sched_init(&act__sys.scheds[ok], (int)ok)))
            break;
    if (ok < c.schedulers) {
        for (unsigned i = 0; i < ok; i++)
            sched_deinit(&act__sys.scheds[i]);
        goto fail_init;
    }
    atomic_store_explicit(&act__sys.state, ACT__SYS_RUNNING, memory_order_release);
    for (unsigned i = 0; i < c.schedulers; i++) {
        if ((rc = uv_thread_create(&act__sys.scheds[i].thread, sched_main, &act__sys.scheds[i])))
            act_fatal("act_system_start: cannot create scheduler thread: %s", uv_strerror(rc));
    }
    return 0;

fail_init:
    act_free(act__sys.scheds);
fail_scheds:
    act__globq_deinit(&act__sys.globq);
    act__registry_deinit();
fail_registry:
    act__slots_deinit();
fail_slots:
    act__epoch_deinit();
    pthread_key_delete(act__sys.tkey);
    sem_destroy(&act__sys.stop_sem);
    pthread_mutex_destroy(&act__sys.lock);
    atomic_store(&act__sys.state, ACT__SYS_DOWN);
    return rc;
badarg:
    atomic_store(&act__sys.state, ACT__SYS_DOWN);
    return ACT_EBADARG;
}

int act_system_on_stop(void (*fn)(void *arg), void *arg)
{
    if (!act_system_running())
        return ACT_ENOTRUNNING;
    pthread_mutex_lock(&act__sys.lock);
    act__hook_t *h = act_realloc(act__sys.hooks, (act__sys.nhooks + 1) * sizeof *h);
    if (!h) {
        pthread_mutex_unlock(&act__sys.lock);
        return ACT_ENOMEM;
    }
    h[act__sys.nhooks++] = (act__hook_t){fn, arg};
    act__sys.hooks = h;
    pthread_mutex_unlock(&act__sys.lock);
    return 0;
}

void act_system_request_stop(int status)
{
    bool expected = false;
    if (atomic_compare_exchange_strong(&act__sys.stop_requested, &expected, true)) {
        atomic_store(&act__sys.stop_status, status);
        sem_post(&act__sys.stop_sem);
    }
}

int act_system_wait(void)
{
    if (atomic_load(&act__sys.state) == ACT__SYS_DOWN)
        return ACT_ENOTRUNNING;
    while (sem_wait(&act__sys.stop_sem) != 0 && errno == EINTR)
        ;
    sem_post(&act__sys.stop_sem); /* later waiters return too */
    return atomic_load(&act__sys.stop_status);
}

int act_system_stop(void)
{
    if (act_sched_self() >= 0)
        return -EDEADLK;
    int expected = ACT__SYS_RUNNING;
    if (atomic_load(&act__sys.state) != ACT__SYS_RUNNING)
        return ACT_ENOTRUNNING;

    /* 1. Stop hooks, newest first, while everything still runs (applications stop here). */
    for (;;) {
        pthread_mutex_lock(&act__sys.lock);
        if (act__sys.nhooks == 0) {
            pthread_mutex_unlock(&act__sys.lock);
            break;
        }
        act__hook_t h = act__sys.hooks[--act__sys.nhooks];
        pthread_mutex_unlock(&act__sys.lock);
        h.fn(h.arg);
    }
    if (!atomic_compare_exchange_strong(&act__sys.state, &expected, ACT__SYS_STOPPING))
        return ACT_ENOTRUNNING;

    /* 2. Kill what is left and wait for the deaths (terminate callbacks run). New spawns are
     * refused from here on. */
    int64_t warn_at = act_now_ms() + 5000;
    while (act_actor_count() > 0) {
        act__kill_all();
        for (int i = 0; i < 100 && act_actor_count() > 0; i++)
            usleep(1000);
        if (act_now_ms() > warn_at) {
            fprintf(stderr,
                    "act_system_stop: %llu actors do not exit (a fiber that never receives?)\n",
                    (unsigned long long)act_actor_count());
            warn_at = act_now_ms() + 5000;
        }
    }

    /* 3. Join the schedulers. */
    for (unsigned i = 0; i < act__sys.nsched; i++) {
        act__sched_t *s = &act__sys.scheds[i];
        atomic_store_explicit(&s->stop, true, memory_order_release);
        atomic_store(&s->sleeping, 1);
        act__sched_wake(s);
    }
    for (unsigned i = 0; i < act__sys.nsched; i++)
        uv_thread_join(&act__sys.scheds[i].thread);

    /* 4. Free everything: foreign threads' proxies, then the collector, then the tables. */
    act__proxy_free_all();
    act__thread_t *f = act__sys.foreign;
    act__sys.foreign = NULL;
    while (f) {
        act__thread_t *next = f->next_foreign;
        thread_ctx_deinit(f);
        act_free(f);
        f = next;
    }
    act__tls = NULL;
    for (unsigned i = 0; i < act__sys.nsched; i++)
        sched_deinit(&act__sys.scheds[i]);
    act__epoch_deinit();
    act__registry_deinit();
    act__globq_deinit(&act__sys.globq);
    act__slots_deinit();
    act_free(act__sys.scheds);
    act__sys.scheds = NULL;
    act_free(act__sys.hooks);
    act__sys.hooks = NULL;
    pthread_key_delete(act__sys.tkey);
    sem_destroy(&act__sys.stop_sem);
    pthread_mutex_destroy(&act__sys.lock);
    atomic_fetch_add(&act__sys.gen, 1);
    atomic_store(&act__sys.state, ACT__SYS_DOWN);
    return 0;
}
