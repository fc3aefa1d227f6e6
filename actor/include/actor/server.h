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
 * Return values of the callbacks: 0 to go on, act_stop(reason) to stop after this message (a
 * reply set by handle_call is sent first), a negative error to crash with it as the reason.
 * act_fail/act_failf crash at once. terminate(state, reason) runs on every exit, a kill
 * included (runtime rule): release the state's resources there.
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
 * may be NULL. *out (may be NULL) gets its pid. Returns 0, init's error (the server unlinks
 * before exiting, so the caller is not taken down), ACT_ENAMETAKEN, ACT_ETIMEDOUT (the
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
 * Returns 0, ACT_ENOPROC or ACT_ETIMEDOUT (the server is left running). Fiber or foreign
 * thread. */
ACT_API int act_server_stop(act_pid_t server, int reason, int64_t timeout_ms);

/* True if msg is a cast (act_server_cast). */
ACT_API bool act_msg_is_cast(const act_msg_t *msg);

#endif
