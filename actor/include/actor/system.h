/*
 * The actor system: schedulers, configuration, start and orderly stop.
 *
 * One system per process (like one Erlang node). act_system_start() starts one scheduler
 * thread per core (configurable); each owns a libuv loop in which it sleeps when it has no
 * work, so an idle system uses no CPU. act_system_stop() runs the stop hooks in reverse order
 * (the application controller registers one), exits every remaining actor, joins every thread
 * and frees everything.
 */
#ifndef ACT_SYSTEM_H
#define ACT_SYSTEM_H

#include <uv.h>

#include "actor/types.h"

typedef struct act_config {
    unsigned schedulers;       /* 0: ACT_SCHEDULERS from the environment, else one per core */
    size_t fiber_stack_size;   /* default 128 KiB (x4 under sanitizers) */
    unsigned batch;            /* messages a plain actor handles per turn; default 100 */
    uint32_t max_actors;       /* default 16M live actors */
    unsigned fiber_stack_pool; /* stacks kept per scheduler for reuse; default 64 */
    bool pin_threads;          /* pin scheduler i to CPU i (mod cores); default off */
} act_config_t;

/* Starts the system. cfg may be NULL for defaults. Returns 0, ACT_EBADARG, -EALREADY if
 * running, or an error from thread/loop creation. Call from a foreign thread (main). */
ACT_API int act_system_start(const act_config_t *cfg);

/* Orderly stop: runs the stop hooks (last registered first), then exits every remaining actor
 * with ACT_KILL (their terminate callbacks run), joins the schedulers and frees all memory.
 * Returns 0, ACT_ENOTRUNNING, or -EDEADLK when called from a scheduler thread (an actor asks
 * for a stop with act_system_request_stop instead). */
ACT_API int act_system_stop(void);

/* Registers fn(arg) to run at the start of act_system_stop, on the stopping thread, before any
 * actor is killed; hooks run last-registered first. Returns 0 or ACT_ENOMEM. */
ACT_API int act_system_on_stop(void (*fn)(void *arg), void *arg);

/* Asks the system to stop with an exit status; act_system_wait() returns it. Any thread,
 * async-signal-safe (a signal handler may call it). The first request wins. */
ACT_API void act_system_request_stop(int status);
/* Blocks the calling foreign thread until act_system_request_stop(); returns its status. */
ACT_API int act_system_wait(void);

ACT_API bool act_system_running(void);
/* Number of schedulers of the running system (0 if stopped). */
ACT_API unsigned act_sched_count(void);
/* A scheduler's time since the system started, in nanoseconds: wall_ns in all, idle_ns of it
 * asleep waiting for work (blocked in its event loop's poll). Utilisation over an interval is
 * 1 - (idle2 - idle1) / (wall2 - wall1), Erlang's scheduler_wall_time: sample twice. A busy
 * scheduler's short spins before it sleeps count as busy. Returns 0, ACT_ENOTRUNNING or
 * ACT_EBADARG (i >= act_sched_count()). Any thread, while the system runs. */
typedef struct act_sched_time {
    uint64_t idle_ns;
    uint64_t wall_ns;
} act_sched_time_t;
ACT_API int act_sched_time(unsigned i, act_sched_time_t *out);
/* The calling thread's scheduler index, or -1 on a foreign thread. */
ACT_API int act_sched_self(void);
/* The libuv loop of the calling scheduler thread (NULL on a foreign thread). Handles made on it
 * belong to actors pinned to this scheduler: their callbacks run on this thread between actor
 * turns, so they may touch the owning actor's state. */
ACT_API uv_loop_t *act_loop(void);

/* Live actors (proxies of foreign threads excluded). Any thread. */
ACT_API uint64_t act_actor_count(void);

/* Monotonic milliseconds (the clock timers use). Any thread. */
ACT_API int64_t act_now_ms(void);

#endif
