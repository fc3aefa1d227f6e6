/*
 * Actors: spawning, identity, exits, links, monitors.
 *
 * Two kinds of actor:
 * - A plain actor is a behaviour (act_behaviour_t: init, handle, terminate) plus its state. Its
 *   handler runs on the scheduler's stack, once per message, and must not block. It costs a
 *   few hundred bytes and migrates freely between schedulers (work stealing).
 * - A fiber actor runs a function on its own stack (from a per-scheduler pool, with a guard
 *   page), so it can block: act_receive, act_call and act_sleep suspend that actor only. A fiber
 *   may be stolen by another scheduler before it first runs; from then on it stays on the
 *   scheduler that ran it (C code may cache thread-local addresses, errno's included, across a
 *   call, so a stack must not change threads).
 *
 * Exits follow Erlang. An actor exits when its handler calls act_stop() or returns a negative
 * error (reason = that error), when a fiber's function returns (ACT_NORMAL), with act_fail()
 * (which unwinds out of the handler or fiber at once), or on an exit signal: act_exit(pid,
 * reason) or the death of a linked actor. A signal with ACT_NORMAL does not kill (except an
 * actor's exit signal to itself); ACT_KILL always kills (reason ACT_KILLED) and cannot be
 * trapped; otherwise an actor that traps exits receives an ACT_MSG_EXIT message instead of
 * dying. Linked actors and monitors learn the reason; a monitor's ACT_MSG_DOWN comes with its
 * ref; monitoring or linking to an actor that is already dead yields ACT_NOPROC.
 *
 * A memory fault cannot be caught safely in C: it ends the OS process (the node's supervisor,
 * dynctl, restarts it).
 */
#ifndef ACT_ACTOR_H
#define ACT_ACTOR_H

#include "actor/msg.h"
#include "actor/types.h"

/* A plain actor's callbacks, declared statically by the user (STYLE section 6). `state` is the
 * actor's state: the inline block of act_spawn_opts_t.state_size bytes (zeroed), or the
 * caller's act_spawn_opts_t.state pointer. */
typedef struct act_behaviour {
    const char *name; /* for reports; may be NULL */
    /* Runs in the new actor before its first message. Return 0, or a negative error to exit
     * with that reason (or call act_stop). May be NULL. */
    int (*init)(void *state, void *arg);
    /* Handles one message (borrowed: see msg.h). Return 0 to go on; return act_stop(reason)
     * to exit after this message; a negative error exits with that reason. */
    int (*handle)(void *state, act_msg_t *msg);
    /* Runs once when the actor exits, whatever the reason (a kill included), with that
     * reason, before links and monitors are told: release the state's resources here. (init
     * always runs first, even for an actor killed before its first turn: init owns its
     * argument.) May be NULL. */
    void (*terminate)(void *state, int reason);
} act_behaviour_t;

/* A fiber actor's body. Returning exits with ACT_NORMAL. */
typedef void (*act_fiber_fn)(void *arg);

/* Scheduler choice for act_spawn_opts_t.sched. A pinned actor never migrates: actors that own
 * libuv handles must be pinned to the scheduler whose loop holds them. */
#define ACT_SCHED_ANY 0           /* any scheduler; plain actors migrate under work stealing */
#define ACT_SCHED_SELF (-1)       /* pinned to the caller's scheduler (ANY from a foreign thread) */
#define ACT_SCHED_ON(i) ((i) + 1) /* pinned to scheduler i */

typedef struct act_spawn_opts {
    const act_behaviour_t *behaviour; /* a plain actor; or */
    act_fiber_fn fiber;               /* a fiber actor running fiber(arg) */
    void *arg;                        /* behaviour->init's or fiber's argument */
    void *state;                      /* plain: the state pointer (caller keeps ownership) */
    size_t state_size;                /* plain: allocate this many zeroed bytes as the state */
    int sched;                        /* ACT_SCHED_ANY (0), ACT_SCHED_SELF or ACT_SCHED_ON(i) */
    bool link;                        /* link to the caller atomically (spawn_link) */
    bool trap_exit;                   /* start trapping exits */
    size_t stack_size;                /* fiber stack; 0: the system default */
    act_ref_t *monitor; /* if not NULL: monitor the new actor atomically, ref stored here */
} act_spawn_opts_t;

/* Starts an actor; *out (may be NULL) gets its pid. The actor runs its init (or fiber) on a
 * scheduler, concurrently with the caller. Returns 0, ACT_EBADARG (neither or both of
 * behaviour and fiber, no handle), ACT_ENOSCHED (no such scheduler), ACT_ESHUTDOWN,
 * ACT_ETOOMANY or ACT_ENOMEM. Any
 * thread (from a foreign thread, link/monitor attach that thread's proxy: see act_self). */
ACT_API int act_spawn(const act_spawn_opts_t *opts, act_pid_t *out);

/* The calling actor's pid. On a foreign thread (main, a test), the pid of that thread's proxy:
 * created on first use so the thread can receive, call, link and monitor like an actor; it
 * lives until act_thread_detach() or the thread's exit. ACT_PID_NONE if the system is down. */
ACT_API act_pid_t act_self(void);

/* Ends the calling foreign thread's proxy (links and monitors fire with ACT_NORMAL). Called
 * automatically when a thread that used act_self() exits. */
ACT_API void act_thread_detach(void);

/* For a plain actor's handler: `return act_stop(reason);` exits after this message. Returns a
 * positive marker that only means something as the handler's return value. */
ACT_API int act_stop(int reason);

/* For a fiber actor: fn(arg, reason) runs once when the calling fiber exits, whatever the
 * reason (its function returns, act_fail, a kill), before links and monitors are told: the
 * fiber's equivalent of a plain actor's terminate, to release heap state that a kill would
 * otherwise skip (act_fail unwinds past the fiber's frames). One per fiber: a later call
 * replaces it, fn NULL removes it. An act_fail inside fn ends fn with that reason. Returns 0
 * or ACT_ENOTFIBER. */
ACT_API int act_fiber_on_exit(void (*fn)(void *arg, int reason), void *arg);

/* Exits the calling actor now with `reason`, unwinding out of its handler or fiber (frames in
 * between are skipped: release their resources before, or in terminate). act_failf adds a
 * text that links and monitors receive (act_down_t.text). Inside act_catch they unwind to the
 * catch instead, which gets the reason and text. Actor context only. */
ACT_API __attribute__((noreturn)) void act_fail(int reason);
ACT_API __attribute__((noreturn, format(printf, 2, 3))) void act_failf(int reason, const char *fmt,
                                                                       ...);

/* ---- catching a failure (Erlang's try ... catch exit:Reason) ------------------------------- */

/* Frames kept in a caught failure's backtrace. */
#define ACT_BACKTRACE_MAX 48

/* A failure caught by act_catch. */
typedef struct act_failure {
    int reason;                      /* act_fail's reason */
    char text[512];                  /* act_failf's text (truncated), or "" */
    void *frames[ACT_BACKTRACE_MAX]; /* return addresses where act_fail was called, innermost
                                        first (the caller of act_fail/act_failf is frames[0]) */
    int nframes;
} act_failure_t;

/* Runs fn(arg) in the calling fiber and catches an act_fail/act_failf made by fn or by
 * anything it calls: instead of ending the actor, the failure unwinds to here (frames in
 * between are skipped, as with act_fail), *out gets its reason, its text and the backtrace
 * taken where act_fail was called, and act_catch returns 1. Returns 0 when fn returns. Exit
 * signals are not failures of the actor's own and are never caught: a kill, or the death of a
 * linked actor while not trapping exits, ends the fiber as usual, whatever catches are active.
 * Catches nest (the innermost catches). Fiber actors only: ACT_ENOTFIBER elsewhere (fn does
 * not run). The backtrace is captured only when a catch is active: act_fail costs no more
 * otherwise. */
ACT_API int act_catch(void (*fn)(void *arg), void *arg, act_failure_t *out);

/* Sends an exit signal with `reason` to pid (see the rules at the top). Signals travel in
 * order with the sender's messages, except ACT_KILL, which lands before the victim handles
 * its next message (a plain actor), takes its next message or sends (a fiber), as Erlang
 * handles signals ahead of messages: a flooded actor can still be killed at once. Returns 0
 * or ACT_ENOPROC. Any thread. */
ACT_API int act_exit(act_pid_t pid, int reason);

/* Links the caller and pid both ways. Returns 0; ACT_ENOPROC if pid is known dead (if it dies
 * before the link is made, the caller gets an exit signal with ACT_NOPROC instead). */
ACT_API int act_link(act_pid_t pid);
ACT_API int act_unlink(act_pid_t pid);

/* Trap exits on or off for the caller; returns the previous setting. */
ACT_API bool act_trap_exit(bool on);

/* Monitors pid: one ACT_MSG_DOWN with *ref when it exits (ACT_NOPROC at once if already dead).
 * Returns 0 (even for a dead pid) or ACT_EBADARG. */
ACT_API int act_monitor(act_pid_t pid, act_ref_t *ref);

/* Removes a monitor. With ACT_DEMONITOR_FLUSH a DOWN already queued for it is removed too
 * (fiber actors and foreign threads; a plain actor's handler never sees a DOWN for a monitor
 * it removed in any case). Returns 0 or ACT_ENOMONITOR. */
#define ACT_DEMONITOR_FLUSH 1u
ACT_API int act_demonitor(act_ref_t ref, unsigned flags);

/* A fresh unique reference. Any thread. */
ACT_API act_ref_t act_make_ref(void);

/* True if pid names a live actor (a snapshot: it may exit right after). Any thread. */
ACT_API bool act_is_alive(act_pid_t pid);

/* Formats a pid as "<index.generation>" into buf (at least ACT_PID_STRLEN bytes). */
#define ACT_PID_STRLEN 24
ACT_API const char *act_pid_str(act_pid_t pid, char *buf);

/* A snapshot of an actor for introspection (supervisor dumps, dynctl status). */
typedef struct act_info {
    act_pid_t pid;
    const char *behaviour; /* behaviour name, "fiber" or "proxy" (static storage) */
    size_t mailbox_len;    /* messages waiting (with a fiber's received-but-unmatched ones) */
    bool mailbox_known;    /* false: the actor was busy past 100 ms (or the caller could not
                            * wait); mailbox_len is then only what it had set aside */
    int sched;             /* the scheduler it runs on last, -1 if unknown */
    bool pinned;
    bool trap_exit;
    size_t links;
    size_t monitors;
} act_info_t;
/* Fills *info for pid. Returns 0 or ACT_ENOPROC. The mailbox length of an actor that is busy
 * comes from the actor itself at the end of its turn: a fiber or foreign thread waits up to
 * 100 ms for it; elsewhere (a plain actor's handler) mailbox_known may be false. Other fields
 * are snapshots. Any thread. */
ACT_API int act_info(act_pid_t pid, act_info_t *info);

#endif
