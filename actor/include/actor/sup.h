/*
 * Supervisors: Erlang/OTP's supervisor (and Elixir's DynamicSupervisor) in C.
 *
 * A supervisor is a fiber actor that traps exits and starts children from child specs, in
 * order; it restarts them when they exit, by their restart type and the supervisor's
 * strategy, and stops them in reverse order with their shutdown policy. A user who knows
 * OTP should find no surprise:
 *
 * - Strategies: ACT_ONE_FOR_ONE (restart the child that exited), ACT_ONE_FOR_ALL (stop all
 *   the others in reverse order, then start them all again in order), ACT_REST_FOR_ONE (stop
 *   the children started after it, in reverse, then start it and them again), and
 *   ACT_SIMPLE_ONE_FOR_ONE: a dynamic supervisor with one child spec, a template, whose
 *   children are started on demand (act_sup_start_child with an argument), all alike. Its
 *   per-child cost is O(1) (hash maps, no lists), so 10,000s of children and high churn are
 *   fine; it stops its children all at once, in no order, like OTP's.
 * - Restart types: ACT_PERMANENT (always restarted), ACT_TRANSIENT (restarted only after an
 *   abnormal exit: any reason but ACT_NORMAL and ACT_SHUTDOWN), ACT_TEMPORARY (never; the
 *   child is forgotten when it exits).
 * - Restart intensity: if more than max_restarts restarts happen within max_seconds, the
 *   supervisor gives up: it stops all its children and exits with ACT_SHUTDOWN (as OTP does,
 *   so a transient parent does not restart it), its exit text saying why ("reached max
 *   restart intensity ..."). Its own supervisor then counts one restart, so a failure that
 *   persists climbs the tree until an application dies. The last restart times are kept in a
 *   fixed ring (at most ACT_SUP_RING_MAX entries, one per allowed restart; above that a
 *   64-bucket sliding window approximates the period to 1/64), so a restart costs the same
 *   whatever the intensity.
 * - Shutdown of a child: ACT_SHUTDOWN_BRUTAL_KILL sends ACT_KILL; a timeout in ms sends
 *   ACT_SHUTDOWN and, if the child has not exited after that long, ACT_KILL; ACT_INFINITY
 *   sends ACT_SHUTDOWN and waits (the default for supervisors; workers default to 5000 ms).
 *   The supervisor monitors the child meanwhile, so a child that unlinked itself cannot hang
 *   it.
 * - A supervisor stops when its parent (the actor that started it) exits or sends it an exit
 *   signal, with that reason, after stopping its children; a kill ends it at once (its
 *   children then get the kill through their links).
 *
 * Starting: act_sup_start_link() spawns the supervisor linked to the caller and returns once
 * every child runs, like supervisor:start_link. A child's start function runs inside the
 * supervisor, must link the child to it (act_spawn_opts_t.link, or one of the helpers below)
 * and return only once the child is initialized: act_server_child_start (server.h),
 * act_sup_child_start (a nested supervisor) and act_start_link (any actor) do exactly that. If
 * a child fails to start, the supervisor stops the children already started, reports it and
 * the start fails with ACT_ECHILDSTART (act_start_failure(), start.h, says which child and
 * why, through every level of the tree). A start function that returns 0 with *out ==
 * ACT_PID_NONE means "ignore": the child is kept in the spec list, not running (a temporary
 * or dynamic child is forgotten, as in OTP: it could never be started again).
 *
 * Reports: a child's abnormal exit, a failed start and giving up are reported through
 * report.h (stderr by default; tests and benchmarks silence it).
 *
 * Threads: the functions that wait (act_sup_start_link, the calls below) need a fiber actor or
 * a foreign thread (main, a test) and return ACT_ENOTFIBER in a plain actor; a plain actor
 * uses act_sup_start_child_async. A supervisor that calls itself (from one of its start
 * functions) gets -EDEADLK.
 */
#ifndef ACT_SUP_H
#define ACT_SUP_H

#include "actor/actor.h"
#include "actor/start.h"

typedef enum act_restart {
    ACT_PERMANENT = 0, /* default */
    ACT_TRANSIENT,
    ACT_TEMPORARY,
} act_restart_t;

typedef enum act_child_type {
    ACT_WORKER = 0, /* default */
    ACT_SUPERVISOR,
} act_child_type_t;

typedef enum act_strategy {
    ACT_ONE_FOR_ONE = 0, /* default */
    ACT_ONE_FOR_ALL,
    ACT_REST_FOR_ONE,
    ACT_SIMPLE_ONE_FOR_ONE, /* dynamic: one template spec, children started on demand */
} act_strategy_t;

/* act_child_spec_t.shutdown: send ACT_KILL at once. (ACT_INFINITY waits forever; 0 means the
 * default: 5000 ms for a worker, ACT_INFINITY for a supervisor.) */
#define ACT_SHUTDOWN_BRUTAL_KILL (-2)
#define ACT_SHUTDOWN_DEFAULT_MS 5000

typedef struct act_child_spec act_child_spec_t;

/* What a start function gets. */
typedef struct act_child_start {
    const act_child_spec_t *spec; /* the child's spec (the supervisor's copy) */
    void *arg;                    /* spec->arg */
    void *extra;                  /* dynamic supervisors: act_sup_start_child's argument */
    int sched;                    /* where the child should run: give it to act_spawn_opts_t.sched
                                     (ACT_SCHED_ANY for static children) */
} act_child_start_t;

/* Starts one child inside the supervisor: spawns it linked to the caller, waits until it is
 * initialized, and stores its pid in *out. Returns 0, or a negative error (nothing left
 * running). Runs in the supervisor's fiber: it may block (act_start_link and friends do). */
typedef int (*act_start_fn)(const act_child_start_t *cs, act_pid_t *out);

/* A child spec: declared by the user (usually in a static const table). The supervisor copies
 * it (id included) when it starts; arg, mod and name are borrowed for the supervisor's life. */
struct act_child_spec {
    const char *id;        /* unique among siblings, not empty (dynamic template: any) */
    act_start_fn start;    /* how to start the child */
    void *arg;             /* the start function's argument */
    const void *mod;       /* a behaviour table for generic start functions: act_server_t
                              for act_server_child_start, act_sup_spec_t for
                              act_sup_child_start; NULL otherwise */
    const char *name;      /* generic start functions register the child under this name */
    act_restart_t restart; /* ACT_PERMANENT (default), ACT_TRANSIENT, ACT_TEMPORARY */
    int64_t shutdown;      /* ms, ACT_SHUTDOWN_BRUTAL_KILL or ACT_INFINITY; 0: default */
    act_child_type_t type; /* ACT_WORKER (default) or ACT_SUPERVISOR */
};

/* Field lists for child specs; add fields after them:
 *     static const act_child_spec_t kids[] = {
 *         {ACT_SERVER_CHILD("stack", &stack_server, NULL), .name = "stacker"},
 *         {ACT_SUP_CHILD("web", &web_sup)},
 *         {ACT_WORKER_CHILD("ticker", ticker_start, NULL), .restart = ACT_TRANSIENT},
 *     }; */
#define ACT_WORKER_CHILD(id_, start_, arg_) .id = (id_), .start = (start_), .arg = (arg_)
#define ACT_SUP_CHILD(id_, spec_)                                                                  \
    .id = (id_), .start = act_sup_child_start, .mod = (spec_), .type = ACT_SUPERVISOR

/* Largest max_restarts kept exactly in a ring of restart times (see the top). */
#define ACT_SUP_RING_MAX 1024

/* A supervisor's spec: strategy, intensity and children. Declared by the user (static, or
 * built at run time: act_sup_start_link copies it, and the children's specs, before it
 * returns). */
typedef struct act_sup_spec {
    const char *name;        /* for reports and dumps ("supervisor" if NULL) */
    bool register_name;      /* also register the supervisor under `name` */
    act_strategy_t strategy; /* ACT_ONE_FOR_ONE (default) ... */
    /* More than max_restarts restarts within max_seconds makes the supervisor give up. Both 0:
     * Elixir's defaults, 3 in 5 s. max_restarts 0 with max_seconds > 0: no restart allowed.
     * max_restarts > 0 needs max_seconds > 0 (ACT_EBADARG otherwise, as OTP's
     * invalid_period). */
    int max_restarts;
    int max_seconds;
    /* ACT_SIMPLE_ONE_FOR_ONE: most children at once (0: no limit). */
    size_t max_children;
    const act_child_spec_t *children; /* in start order; SIMPLE_ONE_FOR_ONE: exactly one, the
                                         template (started by nobody until asked) */
    size_t nchildren;
    /* Where the supervisor itself runs (act_spawn_opts_t.sched): ACT_SCHED_ANY (default), or
     * ACT_SCHED_ON(i) / ACT_SCHED_SELF to keep it beside the children it starts there (a
     * dynamic supervisor per scheduler starts children on its own scheduler with no hand-off).
     * As a supervisor's child (act_sup_child_start) the child spec's `sched` applies when this
     * is ACT_SCHED_ANY. */
    int sched;
} act_sup_spec_t;

/* Starts a supervisor linked to the caller and waits until all its children run. *out (may
 * be NULL) gets its pid. Returns 0; ACT_EBADARG (no spec, a child without id or start, two
 * children with the same id, a dynamic spec without exactly one child, bad intensity);
 * ACT_ECHILDSTART (a child failed to start: see the report); ACT_ENAMETAKEN (register_name);
 * ACT_ENOTFIBER (plain actor); or an act_spawn error. The caller, linked, gets an exit signal
 * when the supervisor exits (trap exits, or let it take you down). Fiber or foreign thread. */
ACT_API int act_sup_start_link(const act_sup_spec_t *spec, act_pid_t *out);

/* A start function for supervisor children: act_sup_start_link(cs->spec->mod), registered
 * under cs->spec->name when set. */
ACT_API int act_sup_child_start(const act_child_start_t *cs, act_pid_t *out);

/* Stops a supervisor: it stops its children in reverse order and exits with ACT_NORMAL (its
 * own supervisor restarts it if it is a permanent child). Waits up to timeout_ms (ACT_INFINITY
 * to wait for ever) for the exit. Returns 0, ACT_ENOPROC, ACT_ETIMEDOUT or ACT_EBADARG (a
 * timeout below ACT_INFINITY). Fiber or foreign thread. */
ACT_API int act_sup_stop(act_pid_t sup, int64_t timeout_ms);

/* ---- dynamic children (ACT_SIMPLE_ONE_FOR_ONE) ------------------------------------------- */

/* Starts a child from the template with `extra` as act_child_start_t.extra, on scheduler
 * `sched` (ACT_SCHED_ANY, ACT_SCHED_ON(i), or ACT_SCHED_SELF: the caller's scheduler, resolved
 * here, not in the supervisor), and waits for it. *out (may be NULL) gets its
 * pid. Returns 0, ACT_EMAXCHILDREN, the start function's error, ACT_ENOTSUP (not a dynamic
 * supervisor), ACT_ENOPROC or ACT_ECALLDOWN (no supervisor). The supervisor never frees
 * extra: it reuses it for restarts of the child (permanent/transient templates). Fiber or
 * foreign thread. */
ACT_API int act_sup_start_child(act_pid_t sup, void *extra, int sched, act_pid_t *out);

/* ---- Asynchronous start, for plain actors (an HTTP listener starting one connection child
 * per accepted socket): a message, never a wait. ---- */

/* The reply policy of an asynchronous start. */
enum {
    ACT_SUP_REPLY_NONE = 0, /* no result message (a failure is still reported, report.h) */
    ACT_SUP_REPLY_ERRORS,   /* a result only when the start failed */
    ACT_SUP_REPLY_ALWAYS,   /* a result for every request */
};

/* Message types: the request a dynamic supervisor understands and the result it sends back. */
enum {
    ACT_MSG_SUP_START_CHILD = 0x40, /* act_sup_start_req_t, to the supervisor */
    ACT_MSG_SUP_STARTED = 0x41,     /* act_sup_started_t, to reply_to */
};

/* An asynchronous start request. Build it with act_sup_start_child_async, or allocate it with
 * act_msg_new(act_sup_start_req_t, ACT_MSG_SUP_START_CHILD) and act_send it yourself. */
typedef struct act_sup_start_req {
    act_msg_t hdr;
    void *extra;        /* act_child_start_t.extra of the new child (e.g. a socket fd) */
    int sched;          /* where the child runs: ACT_SCHED_ON(i) pins it to scheduler i */
    unsigned reply;     /* ACT_SUP_REPLY_* */
    act_pid_t reply_to; /* who gets the result (ACT_PID_NONE: nobody) */
    uint64_t tag;       /* copied into the result: the requester's correlation */
} act_sup_start_req_t;

/* The result of an asynchronous start, sent to reply_to. */
typedef struct act_sup_started {
    act_msg_t hdr; /* type ACT_MSG_SUP_STARTED, from = the supervisor */
    int status;    /* 0, ACT_EMAXCHILDREN, ACT_ENOTSUP, or the start function's error */
    act_pid_t pid; /* the child (ACT_PID_NONE when status != 0) */
    void *extra;   /* the request's extra: on failure it is the requester's again (close
                      the socket...) */
    uint64_t tag;  /* the request's tag */
} act_sup_started_t;

/* Asks dynamic supervisor `sup` to start a child from its template with `extra`, on `sched`:
 * the child is spawned there (ACT_SCHED_ON(i): pinned to scheduler i; ACT_SCHED_SELF: pinned
 * to the caller's own scheduler, e.g. the listener's, whose libuv loop must own the child's
 * handles). With reply != ACT_SUP_REPLY_NONE
 * and reply_to set, an act_sup_started_t goes to reply_to: with ACT_SUP_REPLY_ERRORS only for
 * failures (max_children reached, the start function failed), with ACT_SUP_REPLY_ALWAYS
 * always. Requests from one sender are handled in order. Returns 0 once the request is queued,
 * ACT_ENOPROC (no such supervisor: extra is still the caller's) or ACT_EBADARG.
 *
 * Ownership of extra: on a successful start the child owns it (through its start function);
 * on a failure it comes back in the result. A request the supervisor never took (it died with
 * the request queued, or the request reached it after its death) comes back too, with status
 * ACT_ENOPROC, unless reply is ACT_SUP_REPLY_NONE; a request sent to a supervisor already known
 * dead fails here with ACT_ENOPROC. Only the start under way when a supervisor is killed has
 * no result (its start function holds extra). Any thread, any actor (a plain actor included);
 * never blocks. */
ACT_API int act_sup_start_child_async(act_pid_t sup, void *extra, int sched, unsigned reply,
                                      act_pid_t reply_to, uint64_t tag);

/* Stops the dynamic child `pid` with its shutdown policy and forgets it (no restart). A child
 * that is restarting (its restart failed and will be retried) is named by the pid it exited
 * with, and taken out of the loop. Returns 0 (also for a pid that is no longer alive, as
 * OTP), ACT_ENOCHILD (a live actor that is not a child of sup), ACT_ENOTSUP (static
 * supervisor: use act_sup_terminate_child). Fiber or foreign thread. */
ACT_API int act_sup_terminate_pid(act_pid_t sup, act_pid_t pid);

/* ---- static children (one_for_one, one_for_all, rest_for_one) ----------------------------- */

/* Adds a child spec (copied) at the end and starts it. *out (may be NULL) gets its pid.
 * Returns 0; ACT_ECHILDRUNNING if a child with that id runs (*out gets its pid: OTP's
 * {error, {already_started, Pid}}); ACT_ECHILDEXISTS if one is present but not running or
 * restarting (already_present); ACT_EBADARG; the start function's error; or ACT_ENOTSUP
 * (dynamic supervisor: use act_sup_start_child). Fiber or foreign thread. */
ACT_API int act_sup_add_child(act_pid_t sup, const act_child_spec_t *spec, act_pid_t *out);

/* Stops the child `id` with its shutdown policy, or takes it out of its restart loop if it is
 * restarting (the children a rest_for_one or one_for_all restart stopped behind it stay
 * stopped, as in OTP; which_children shows only the child in the loop as restarting, the
 * ones waiting behind it as not running). Its spec stays (a temporary child's goes) until
 * act_sup_delete_child; act_sup_restart_child starts it again. Returns 0 or ACT_ENOCHILD. Fiber or
 * foreign thread. */
ACT_API int act_sup_terminate_child(act_pid_t sup, const char *id);

/* Starts the stopped child `id` again. Returns 0, ACT_ENOCHILD, ACT_ECHILDRUNNING,
 * ACT_ERESTARTING (the supervisor is restarting it: its start failed and will be retried), or
 * the start function's error. Fiber or foreign thread. */
ACT_API int act_sup_restart_child(act_pid_t sup, const char *id, act_pid_t *out);

/* Removes the stopped child `id`'s spec. Returns 0, ACT_ENOCHILD, ACT_ECHILDRUNNING or
 * ACT_ERESTARTING (terminate it first: that ends its restart loop). */
ACT_API int act_sup_delete_child(act_pid_t sup, const char *id);

/* ---- introspection --------------------------------------------------------------------- */

typedef struct act_child_info {
    const char *id; /* points into the same block as the array */
    act_pid_t pid;  /* ACT_PID_NONE if not running */
    act_child_type_t type;
    act_restart_t restart;
    uint32_t restarts; /* times the supervisor restarted this child */
    bool restarting;   /* its restart failed and will be retried (pid is ACT_PID_NONE) */
} act_child_info_t;

/* The supervisor's children, newest first as OTP lists them (the last started or added
 * first; dynamic ones in no order, the restarting ones last). *out is one block the caller
 * frees with act_free (NULL when *n is 0). Returns 0, ACT_ENOPROC or ACT_ENOMEM. Fiber or
 * foreign thread. */
ACT_API int act_sup_which_children(act_pid_t sup, act_child_info_t **out, size_t *n);

typedef struct act_child_counts {
    size_t specs;       /* children, running or not (a dynamic supervisor: 1, its template) */
    size_t active;      /* running */
    size_t supervisors; /* children of type supervisor, running or not */
    size_t workers;     /* children of type worker, running or not */
} act_child_counts_t;

/* Counts, as supervisor:count_children. Returns 0 or ACT_ENOPROC. Fiber or foreign thread. */
ACT_API int act_sup_count_children(act_pid_t sup, act_child_counts_t *out);

/* One actor of a supervision tree, for act_sup_walk. */
typedef struct act_sup_node {
    unsigned depth; /* 0 for the supervisor walked */
    const char *id; /* child id; the supervisor's name at depth 0 */
    act_pid_t pid;  /* ACT_PID_NONE for a child that is not running */
    act_child_type_t type;
    act_restart_t restart;   /* ACT_PERMANENT at depth 0 */
    act_strategy_t strategy; /* supervisors only */
    uint32_t restarts;       /* restarts of this child by its supervisor (0 at depth 0) */
    size_t mailbox_len;      /* messages queued (act_info; a suspended server's waiting ones
                                included), 0 when not running */
    bool restarting;         /* its restart failed and will be retried (pid is ACT_PID_NONE) */
    bool suspended;          /* a server suspended by act_server_suspend */
    const char *summary;     /* a server's state summary (its format_status), "" for other
                                actors or a server that did not answer within 1 s; valid
                                during the visit */
} act_sup_node_t;

/* Visits the tree under sup depth first, in start order: the supervisor, then each child,
 * each child supervisor's subtree right after it; each server child is asked for its status
 * (server.h's act_server_get_status), so a status page can show what every server holds. fn returns
 * 0 to go on, anything else to stop the walk (that value is returned). Returns 0, fn's value,
 * ACT_ENOPROC or ACT_ENOMEM. Fiber or foreign thread (it calls each supervisor). */
typedef int (*act_sup_walk_fn)(const act_sup_node_t *node, void *arg);
ACT_API int act_sup_walk(act_pid_t sup, act_sup_walk_fn fn, void *arg);

/* The tree as text, one line per actor, indented by depth (a server's summary in state=""):
 *     stacker_sup <12.1> supervisor one_for_one restarts=0 mailbox=0
 *       stack <14.3> worker permanent restarts=2 mailbox=0 state="2 items"
 * *text (NUL-terminated) is the caller's, freed with act_free. Returns 0, ACT_ENOPROC or
 * ACT_ENOMEM. Fiber or foreign thread. */
ACT_API int act_sup_dump(act_pid_t sup, char **text);

/* Names for reports and dumps ("one_for_one", "permanent", "worker"...). */
ACT_API const char *act_strategy_str(act_strategy_t s);
ACT_API const char *act_restart_str(act_restart_t r);
ACT_API const char *act_child_type_str(act_child_type_t t);

#endif
