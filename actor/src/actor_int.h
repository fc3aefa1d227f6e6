/*
 * The runtime's private structures: actors, threads, schedulers, the system.
 *
 * Life of an actor. act_spawn publishes it in the pid table and puts it on a run queue. A
 * sender finds it through the table (inside an epoch section), pushes onto its mailbox and, if
 * the push found the mailbox idle, schedules it: exactly once per idle -> busy transition
 * (mpsc_int.h). A scheduler runs it for one turn: a plain actor handles up to `batch`
 * messages, a fiber runs until it blocks. Then the mailbox is marked idle again, or the actor
 * goes back on a queue. An actor dies during one of its own turns (act__die): its slot is
 * cleared, links and monitors are told, its mailbox is drained, and its memory is retired to
 * the epoch collector, which frees it (after draining late messages again) when no sender can
 * still hold its pointer. A dead actor's mailbox never goes idle again, so a late send never
 * schedules it.
 *
 * Signals (link, unlink, exit, monitor, demonitor, down) travel through the mailbox like
 * messages, so signals from one actor to another keep their order, and the receiver applies
 * them in its own turn (act__signal): no actor's state is ever touched by another thread.
 */
#ifndef ACT_ACTOR_INT_H
#define ACT_ACTOR_INT_H

#include <assert.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <uv.h>

#include "actor/act.h"
#include "core_int.h"
#include "epoch_int.h"
#include "fiber_int.h"
#include "map_int.h"
#include "mpsc_int.h"
#include "runq_int.h"
#include "slots_int.h"

#define ACT__TLS __attribute__((tls_model("initial-exec")))

/* Internal message types, below ACT_MSG_USER and apart from the public ACT_MSG_EXIT/DOWN. */
enum {
    ACT__SIG_LINK = 16, /* from: the linker */
    ACT__SIG_UNLINK,    /* from: the unlinker */
    ACT__SIG_EXIT,      /* act_down_t: act_exit() */
    ACT__SIG_LINK_EXIT, /* act_down_t: a linked actor died */
    ACT__SIG_MONITOR,   /* from: the watcher, ref: the monitor */
    ACT__SIG_DEMONITOR, /* ref: the monitor */
    ACT__SIG_TIMEOUT,   /* ref: the receive wait it ends */
};

/* act_msg_t._flags (the core's half: core_int.h) */
#define ACT__MSG_REPLY 2u /* sent by act_reply */

enum act__kind { ACT__PLAIN, ACT__FIBER, ACT__PROXY };
enum act__status {
    ACT__RUNNABLE, /* ready, or running a turn */
    ACT__WAITING,  /* fiber blocked in receive */
    ACT__YIELDED,  /* fiber gave up its turn but has more to do */
    ACT__EXITING,  /* running its terminate / notifications */
    ACT__DEAD,
};

/* A fiber yields after batch * this many sends/spawns (or skipped messages) in one turn. */
#define ACT__REDUCTIONS_PER_MSG 10

/* Marker returned by act_stop. */
#define ACT__STOP_MARK 0x7ffffff0

/* Monitors, links past the first and the exit text, allocated on first use: an idle actor
 * without them stays small, and one with a link (inline in the actor) and a monitor or a
 * watcher (inline in its map) costs this one 64-byte block. Owner only. */
typedef struct act__ext {
    act__map_t monitors; /* ref -> pid: monitors this actor holds */
    act__map_t watchers; /* ref -> pid: monitors on this actor */
    act__map_t *links;   /* pid -> 1: links past link1 (NULL until a second link) */
    char *exit_text;     /* act_failf's text */
} act__ext_t;
static_assert(sizeof(act__ext_t) == 64, "one allocator size class");

/* What a blocking receiver (fiber or foreign thread) keeps between receives. Owner only. */
typedef struct act__rcv {
    act_msg_t *save_head; /* received but not yet matched, oldest first */
    act_msg_t *save_tail;
    act_ref_t await_ref; /* act_call in progress: its reply is let through */
    uint32_t n;          /* saved messages */
} act__rcv_t;

typedef struct act__fib {
    act__fiber_t fiber;
    act__rcv_t rcv;
    act_fiber_fn fn;
    void *arg;
    size_t stack_size;
    bool started;
    unsigned taken;                         /* messages taken this turn, for fairness */
    void (*on_exit)(void *arg, int reason); /* act_fiber_on_exit */
    void *on_exit_arg;
    jmp_buf exit_jmp;
    struct act__catch *catch_top; /* innermost act_catch, or NULL */
} act__fib_t;

typedef struct act__thread act__thread_t;

typedef struct act__proxy {
    act__rcv_t rcv;
    sem_t sem; /* posted when a push finds the mailbox idle */
    bool idle; /* the thread marked the mailbox idle and may wait on sem */
} act__proxy_t;

typedef struct act__actor act__actor_t;
struct act__actor {
    /* Written by senders. */
    act__mpsc_t mbox;
    act_pid_t pid;         /* immutable */
    _Atomic int32_t sched; /* pinned scheduler or -1 (fibers pin themselves on first run) */
    uint8_t kind;          /* immutable */
    act__node_t rq;        /* run-queue link (scheduler inbox, global queue) */
    /* Owned by the actor's turn. */
    uint8_t status;
    bool trap_exit;
    bool started;
    _Atomic bool named; /* has a registered name (registry.c) */
    /* Mailbox length on request (act_info): no counter on the send path. The asker sets
     * info_req; the owner counts its queue at the end of its turn into info_len and clears
     * it. `saved` mirrors the size of a fiber's or proxy's save queue. */
    /* Set by act_exit(pid, ACT_KILL) before it sends the signal: the owner checks it before
     * every message, so a kill lands at once instead of behind the backlog (Erlang handles
     * signals before messages too). */
    _Atomic bool kill_pending;
    _Atomic bool info_req;
    _Atomic uint32_t info_len;
    _Atomic uint32_t saved;
    _Atomic uint32_t nlinks; /* mirrors of the link and monitor sets' sizes for act_info */
    _Atomic uint32_t nmonitors;
    _Atomic int32_t last_sched;
    int stop_reason;
    const act_behaviour_t *beh;
    void *state;
    act__ext_t *ext;
    /* The first link, inline: most actors have one (their supervisor) and need no ext for it.
     * More links go to ext->links. Owner only (signal.c). */
    act_pid_t link1;
    union {
        void *init_arg; /* plain: init's argument, until it ran */
        act__fib_t *fib;
        act__proxy_t *proxy;
    };
    act__epoch_entry_t retire;
};
/* An idle plain actor is this block plus its pid slot; a server adds a 16-byte header and stays
 * in the allocator's 160-byte class; a link and a monitor add one act__ext_t (64 B): a
 * supervised server that someone monitors stays under 256 bytes. */
static_assert(sizeof(act__actor_t) <= 144, "the idle actor's budget");

typedef struct act__sched act__sched_t;

/* Per-thread context: every scheduler thread has one, and so does every foreign thread that
 * touches the system (created on first use). */
struct act__thread {
    act__sched_t *sched;   /* NULL on a foreign thread */
    act__actor_t *current; /* the actor whose turn runs (scheduler), or the proxy */
    act__epoch_rec_t *epoch;
    act__slot_cache_t slots;
    uint64_t ref_next; /* refs: (thread id << 44) | counter */
    uint64_t ref_hi;
    _Atomic int64_t live; /* spawns minus deaths on this thread (only it writes) */
    jmp_buf *fail_jmp;    /* plain actors: where act_fail unwinds to */
    int fail_reason;
    act_msg_t *cur_msg; /* plain actors: the message being handled */
    bool cur_kept;      /* act_msg_keep was called on it */
    act__thread_t *next_foreign;
};

typedef struct act__timer act__timer_t;

struct act__sched {
    act__thread_t thr;
    int index;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t timer;   /* drives the timer heap */
    uv_timer_t reclaim; /* retries epoch reclamation while idle */
    act__runq_t runq;   /* stealable */
    act__mpsc_t inbox;  /* pinned actors and pushes from other threads */
    act__actor_t *next; /* run next (the actor the running one just woke) */
    unsigned next_streak;
    unsigned tick;
    size_t ring_quota;      /* run-queue picks left in this round */
    act__node_t *inbox_end; /* last inbox node of this round's inbox turn */
    bool in_turn;
    _Atomic bool stop; /* set by act_system_stop */
    _Alignas(64) _Atomic int sleeping;
    _Atomic bool timers_dirty;
    _Alignas(64) act__stack_pool_t stacks;
    act__fiber_t thread_fiber;
    /* timers (timer.c), under tlock */
    pthread_mutex_t tlock;
    act__timer_t **heap;
    size_t heap_len, heap_cap;
    act__map_t timers; /* ref -> act__timer_t* */
    uint64_t timer_seq;
    int64_t armed_at; /* deadline the uv timer is armed for, or -1 (owner) */
    uint64_t rng;
    uint64_t born_ns; /* uv_hrtime() when it was set up (act_sched_time) */
};

typedef struct act__hook {
    void (*fn)(void *);
    void *arg;
} act__hook_t;

typedef struct act__system {
    _Atomic int state; /* ACT__SYS_* */
    act_config_t cfg;
    unsigned nsched;
    act__sched_t *scheds;
    act__globq_t globq;
    /* Live actors (proxies excluded): every thread counts its spawns and deaths in its own
     * act__thread_t.live (no locked instruction); the count is their sum, plus what exited
     * foreign threads left in live_retired. */
    _Atomic int64_t live_retired;
    _Atomic int n_idle;   /* schedulers asleep */
    _Atomic unsigned rr;  /* round robin for pushes from foreign threads */
    _Atomic uint64_t gen; /* bumped at every start: stale thread contexts notice */
    _Atomic uint32_t thread_ids;
    pthread_mutex_t lock; /* hooks, foreign thread list */
    act__hook_t *hooks;
    size_t nhooks;
    act__thread_t *foreign; /* foreign thread contexts */
    pthread_key_t tkey;
    _Atomic int stop_status;
    _Atomic bool stop_requested;
    sem_t stop_sem;
} act__system_t;

enum { ACT__SYS_DOWN, ACT__SYS_STARTING, ACT__SYS_RUNNING, ACT__SYS_STOPPING };

extern act__system_t act__sys;
extern _Thread_local act__thread_t *act__tls ACT__TLS;
extern _Thread_local uint64_t act__tls_gen ACT__TLS;

/* sched.c */
static inline void act__live_add(act__thread_t *t, int64_t d)
{
    /* Only t's thread writes its counter: a plain add, published for act_actor_count. */
    atomic_store_explicit(&t->live, atomic_load_explicit(&t->live, memory_order_relaxed) + d,
                          memory_order_release);
}

/* The calling thread's context, creating a foreign one if needed; NULL if the system is down. */
act__thread_t *act__thread_slow(void);
static inline act__thread_t *act__thread(void)
{
    act__thread_t *t = act__tls;
    if (ACT_LIKELY(t != NULL &&
                   act__tls_gen == atomic_load_explicit(&act__sys.gen, memory_order_relaxed)))
        return t;
    return act__thread_slow();
}
/* Puts a runnable actor on a queue (or wakes its thread). hot: the caller just sent to it, so
 * run it next on this scheduler if possible. */
void act__schedule(act__actor_t *a, bool hot);
/* Wakes s if it sleeps (any thread). */
void act__sched_wake(act__sched_t *s);
/* Scheduler thread: puts a runnable actor at the back of this scheduler's queues. */
void act__requeue(act__sched_t *s, act__actor_t *a);
/* Scheduler thread: back to the scheduler from a fiber (status says why). */
void act__fiber_suspend(act__actor_t *a, uint8_t status);

/* actor.c */
act__actor_t *act__lookup(act_pid_t pid); /* inside an epoch section */
/* Owner, end of a turn: answers a pending act_info request. */
void act__info_answer(act__actor_t *a);
/* Runs the death sequence of the calling actor (its own turn or fiber). */
void act__die(act__actor_t *a, int reason, const char *text);
/* After a death: releases the stack and retires the actor (scheduler thread). */
void act__finalize(act__sched_t *s, act__actor_t *a);
void act__run_plain(act__sched_t *s, act__actor_t *a);
void act__run_fiber(act__sched_t *s, act__actor_t *a);
act__ext_t *act__ext(act__actor_t *a);
/* Adds pid to a's link set (owner only; signal.c). Returns 0 or ACT_ENOMEM. */
int act__links_add(act__actor_t *a, act_pid_t pid);
/* Frees the link set past link1 (signal.c). */
void act__links_free(act__ext_t *x);
void act__ext_free(act__actor_t *a);
/* Sends msg from the current context with an explicit sender (runtime signals). */
int act__send_from(act_pid_t to, act_msg_t *msg, act_pid_t from);
/* Creates the foreign thread's proxy actor. */
act__actor_t *act__proxy_new(act__thread_t *t);
void act__proxy_free_all(void);
void act__proxy_die(act__thread_t *t);
/* Kills every live actor (system stop). */
void act__kill_all(void);

/* signal.c */
enum { ACT__SIG_CONSUMED, ACT__SIG_DELIVER, ACT__SIG_DIE };

/* act_fail for an exit signal (a kill, a linked actor's death): never caught by act_catch. */
__attribute__((noreturn)) void act__fail_signal(int reason);
/* Applies a system message (type < ACT_MSG_USER) to actor a in its own turn. CONSUMED: msg was
 * freed. DELIVER: msg is for the actor (a user-visible ACT_MSG_EXIT/ACT_MSG_DOWN, or any other
 * type). DIE: a must exit with *reason (msg freed; the signal's text is a's exit text now). */
int act__signal(act__actor_t *a, act_msg_t *msg, int *reason);
/* A kill is pending and msg was just taken: applies it if it is link or monitor
 * bookkeeping (so the death notifications reach everyone who asked), else frees it. */
void act__signal_killed(act__actor_t *a, act_msg_t *msg);
/* What an actor does with each message it takes from its mailbox, in its own turn (plain
 * actors' batches, fibers' and proxies' receives): a pending kill wins (DIE with ACT_KILLED),
 * then signals are applied (act__signal); anything else is DELIVERed. */
static inline int act__signal_take(act__actor_t *a, act_msg_t *msg, int *reason)
{
    if (ACT_UNLIKELY(atomic_load_explicit(&a->kill_pending, memory_order_relaxed))) {
        act__signal_killed(a, msg);
        *reason = ACT_KILLED;
        return ACT__SIG_DIE;
    }
    if (ACT_LIKELY(msg->type >= ACT_MSG_USER))
        return ACT__SIG_DELIVER;
    return act__signal(a, msg, reason);
}
/* Dead actor: answers a leftover message (link/monitor requests get noproc) and frees it. */
void act__signal_dead(act__actor_t *a, act_msg_t *msg);
/* Tells links and monitors that a died with reason. */
void act__signal_notify_exit(act__actor_t *a, int reason, const char *text);
act_down_t *act__down_new(uint32_t type, act_pid_t pid, int reason, const char *text);

/* receive.c */
void act__rcv_free(act__actor_t *a, act__rcv_t *r);

/* timer.c */
int act__timers_init(act__sched_t *s);
void act__timers_deinit(act__sched_t *s);
/* Async wake: re-arm the uv timer if another thread changed the heap. */
void act__timers_sync(act__sched_t *s);

/* registry.c */
int act__registry_init(void);
void act__registry_deinit(void);
void act__registry_drop_pid(act__actor_t *a);

#endif
