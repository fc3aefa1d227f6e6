/*
 * Servers: Erlang's gen_server in C.
 *
 * A server is a plain actor (no stack of its own: it handles one message at a time on the
 * scheduler's stack and never blocks) driven by a const table of callbacks the user declares
 * statically: init, handle_call, handle_cast, handle_info, terminate. Its state is a block of
 * state_size zeroed bytes the runtime allocates with the actor.
 *
 * Messages are sorted as gen_server does:
 * - a call (sent by act_server_call / act_call: it carries a reference and the caller's pid)
 *   goes to handle_call, which replies now (sets *reply) or later (leaves *reply NULL, keeps
 *   what it needs, `req->from` and `req->ref`, and answers with act_reply_to from any later
 *   callback, or another actor);
 * - a cast (sent by act_server_cast) goes to handle_cast;
 * - anything else (timers, DOWN, EXIT when trapping, plain act_send) goes to handle_info.
 * An EXIT signal from the server's parent (the actor that started it: its supervisor), when
 * the server traps exits, stops the server with that reason (terminate runs), as in OTP; a
 * server that does not trap exits simply dies with it.
 *
 * Return values of the callbacks, gen_server's return tuples:
 * - 0 to go on ({noreply, State}, or {reply, ...} when handle_call set *reply);
 * - act_stop(reason) to stop after this message (a reply set by handle_call is sent first);
 * - act_server_continue(arg): handle_continue(state, arg) runs right after, before any other
 *   message ({continue, Arg}); from init, after the starter got its answer, so slow setup
 *   there does not hold the starter (or the supervisor) up;
 * - act_server_timeout(ms): if no message comes within ms, handle_info gets an
 *   ACT_MSG_SERVER_TIMEOUT (gen_server's Timeout; any message cancels it);
 * - a negative error to crash with it as the reason. act_fail/act_failf crash at once;
 * - from init only, act_server_ignore(): the start returns 0 with no pid (gen_server's
 *   ignore).
 * terminate(state, reason) runs on every exit, a kill included (runtime rule): release the
 * state's resources there.
 *
 * sys: act_server_get_status, act_server_get_state, act_server_suspend and
 * act_server_resume are Erlang's sys:get_status, get_state, suspend and resume. A suspended
 * server answers only these, act_server_stop and its parent's exit; every other message waits,
 * in order, until it resumes. Supervision-tree walks (act_sup_walk, act_sup_dump) show each
 * server's state summary (format_status) and whether it is suspended.
 *
 * Calls time out (default ACT_SERVER_CALL_TIMEOUT, 5 s) and fail at once if the server dies:
 * act_call's monitor guards the wait, and a reply that comes after a timeout is dropped, never
 * delivered to a later call.
 */
#ifndef ACT_SERVER_H
#define ACT_SERVER_H

#include "actor/sup.h"

/* Default timeout of act_server_call, in ms (gen_server's 5 s). */
#define ACT_SERVER_CALL_TIMEOUT 5000

/* The message handle_info gets when a timeout set with act_server_timeout expires. */
enum { ACT_MSG_SERVER_TIMEOUT = 0x42 };

/* Bytes of a server's state summary (format_status), NUL included. */
#define ACT_SERVER_SUMMARY_MAX 128

typedef struct act_server {
    size_t state_size; /* bytes of zeroed state handed to every callback */
    /* Runs in the new server before any message; the starter waits for it. Return 0, or a
     * negative error / act_stop(reason) to fail the start with it. May be NULL. */
    int (*init)(void *state, void *arg);
    /* A call. Set *reply (a message you allocate; it is sent to the caller with the request's
     * reference) or leave it NULL and reply later with act_reply_to(req->from, req->ref, r).
     * req is borrowed (act_msg_keep to hold on to it). NULL: the server crashes on a call. */
    int (*handle_call)(void *state, act_msg_t *req, act_msg_t **reply);
    /* A cast (borrowed). NULL: casts are dropped. */
    int (*handle_cast)(void *state, act_msg_t *msg);
    /* Any other message (borrowed). NULL: dropped. */
    int (*handle_info)(void *state, act_msg_t *msg);
    /* Runs once at exit with the reason, whatever it is. May be NULL. */
    void (*terminate)(void *state, int reason);
    /* Runs when a callback returned act_server_continue(arg), before any other message.
     * Returns like the others. NULL: asking to continue crashes the server. */
    int (*handle_continue)(void *state, void *arg);
    /* Writes a one-line summary of the state into buf (len bytes, NUL-terminated; cut if
     * longer) for status pages and tree dumps (gen_server's format_status). Runs in the server,
     * between two messages. May be NULL (no summary). */
    void (*format_status)(const void *state, char *buf, size_t len);
    /* The server's kind, for status output ("stack"). NULL: "server". Static storage. */
    const char *name;
} act_server_t;

typedef struct act_server_opts {
    const char *name;   /* register under this name before init (ACT_ENAMETAKEN if taken) */
    int sched;          /* ACT_SCHED_ANY (default), ACT_SCHED_SELF or ACT_SCHED_ON(i) */
    bool trap_exit;     /* start trapping exits (or call act_trap_exit in init) */
    int64_t timeout_ms; /* how long to wait for init: 0 means ACT_INFINITY, as in OTP */
    bool no_wait;       /* return once spawned: init runs concurrently and a failure shows as
                           the server's exit (for plain actors, which cannot wait) */
} act_server_opts_t;

/* Starts a server linked to the caller and waits for its init (unless opts->no_wait). opts
 * may be NULL. *out (may be NULL) gets its pid (ACT_PID_NONE if init returned
 * act_server_ignore()). Returns 0, init's error (the server unlinks before exiting, so the
 * caller is not taken down, and releases its name first), ACT_ENAMETAKEN, ACT_ETIMEDOUT (the
 * server is killed), ACT_EBADARG (no server or state_size too large), ACT_ENOTFIBER (a plain
 * actor without no_wait) or an act_spawn error. A crash (act_fail) inside init reaches the
 * caller through the link too. Fiber or foreign thread (or any actor with no_wait). */
ACT_API int act_server_start_link(const act_server_t *srv, void *arg, const act_server_opts_t *opts,
                                  act_pid_t *out);
/* The same without a link. */
ACT_API int act_server_start(const act_server_t *srv, void *arg, const act_server_opts_t *opts,
                             act_pid_t *out);

/* A start function for supervisor children: act_server_start_link(cs->spec->mod, cs->arg)
 * on cs->sched, registered under cs->spec->name if set. */
ACT_API int act_server_child_start(const act_child_start_t *cs, act_pid_t *out);

/* A child spec's fields for a server: {ACT_SERVER_CHILD("stack", &stack_server, arg)}. */
#define ACT_SERVER_CHILD(id_, server_, arg_)                                                       \
    .id = (id_), .start = act_server_child_start, .mod = (server_), .arg = (arg_)

/* Calls the server: sends req (taking it) and waits for the reply, up to
 * ACT_SERVER_CALL_TIMEOUT. Returns 0 with *reply owned by the caller (act_msg_free), or
 * ACT_ETIMEDOUT, ACT_ENOPROC (no such server), ACT_ECALLDOWN (it exited before replying;
 * *reason, if not NULL, gets its exit reason), ACT_ENOTFIBER (plain actor). */
ACT_API int act_server_call(act_pid_t server, act_msg_t *req, act_msg_t **reply);
/* The same with a timeout in ms (ACT_INFINITY: for ever) and the server's exit reason. */
ACT_API int act_server_call_timeout(act_pid_t server, act_msg_t *req, int64_t timeout_ms,
                                    act_msg_t **reply, int *reason);
/* act_server_call to the server registered under name (ACT_ENONAME if none; req freed). */
ACT_API int act_server_call_name(const char *name, act_msg_t *req, act_msg_t **reply);

/* Sends msg (taking it) to the server's handle_cast. Returns 0 or ACT_ENOPROC (msg freed).
 * Any thread or actor; never blocks. */
ACT_API int act_server_cast(act_pid_t server, act_msg_t *msg);
ACT_API int act_server_cast_name(const char *name, act_msg_t *msg);

/* Stops the server, as gen_server:stop: asks it to exit with `reason` (terminate runs; it
 * need not trap exits) and waits up to timeout_ms (ACT_INFINITY: for ever) for the exit.
 * Returns 0, ACT_ENOPROC, ACT_ETIMEDOUT (the server is left running) or ACT_EBADARG (a
 * timeout below ACT_INFINITY: nothing is sent). Fiber or foreign thread. */
ACT_API int act_server_stop(act_pid_t server, int reason, int64_t timeout_ms);

/* True if msg is a cast (act_server_cast). */
ACT_API bool act_msg_is_cast(const act_msg_t *msg);

/* For a callback's return: `return act_server_continue(arg);` runs handle_continue(state, arg)
 * right after this callback, before any other message. A reply set by handle_call is sent
 * first. In the server only. */
ACT_API int act_server_continue(void *arg);
/* For init's return: `return act_server_ignore();` (gen_server's ignore) ends the server
 * normally without an error: its start returns 0 with *out = ACT_PID_NONE, the name it was to
 * register is free again, and a supervisor keeps the child's spec, not running (sup.h: a
 * temporary or dynamic child is forgotten). Returned from another callback, the server
 * crashes. In the server only. */
ACT_API int act_server_ignore(void);
/* For a callback's return: `return act_server_timeout(ms);` goes on, and if no message comes
 * within ms (ACT_INFINITY: never), handle_info gets an ACT_MSG_SERVER_TIMEOUT. Any message
 * the server handles cancels it; system requests (below) do not count. In the server only. */
ACT_API int act_server_timeout(int64_t ms);

/* ---- sys: introspection and suspension ------------------------------------------------- */

/* What act_server_get_status tells (sys:get_status). */
typedef struct act_server_status {
    const char *name;                     /* act_server_t.name, or "server" (static storage) */
    bool suspended;                       /* act_server_suspend'ed */
    size_t waiting;                       /* messages set aside while suspended, not handled yet */
    char summary[ACT_SERVER_SUMMARY_MAX]; /* format_status's text ("" without one) */
} act_server_status_t;

/* The server's status, asked of the server itself (its summary is taken between two
 * messages). Returns 0, ACT_ENOPROC, ACT_ETIMEDOUT, ACT_EBADARG (pid is not a server: nothing
 * is sent to it) or ACT_ENOTFIBER (a plain actor cannot wait). Fiber or foreign thread. */
ACT_API int act_server_get_status(act_pid_t server, act_server_status_t *out, int64_t timeout_ms);
/* sys:get_state: copies the server's state, taken between two messages, into buf (up to len
 * bytes of its state_size) and stores state_size in *size (may be NULL). The copy is shallow:
 * pointers in it point into memory the server owns and changes or frees as it goes. Returns
 * as act_server_get_status. Fiber or foreign thread. */
ACT_API int act_server_get_state(act_pid_t server, void *buf, size_t len, size_t *size,
                                 int64_t timeout_ms);
/* sys:suspend: from its answer on, the server handles only system requests, act_server_stop
 * and its parent's exit signal; calls, casts and other messages wait, in order (a call made
 * meanwhile times out as usual, and its late reply is dropped). Suspending twice is no error.
 * Returns as act_server_get_status. Fiber or foreign thread. */
ACT_API int act_server_suspend(act_pid_t server, int64_t timeout_ms);
/* sys:resume: the server handles what waited, in order, then what comes. Resuming a server
 * that is not suspended is no error. Returns as act_server_get_status. */
ACT_API int act_server_resume(act_pid_t server, int64_t timeout_ms);

#endif
