/*
 * Applications: Erlang/OTP's application behaviour and application controller in C.
 *
 * An application is a descriptor the user declares statically (act_app_t): a name, a version,
 * the names of the applications it depends on, a start callback that starts its top
 * supervisor, a stop callback, its default environment (key/value strings) and its type. The
 * controller knows the descriptors that were loaded (act_app_load), starts an application
 * after its dependencies (missing and circular dependencies are refused with a clear error
 * and report, before anything starts), and stops applications in the reverse order.
 *
 * Types, with Erlang's consequences when an application's top supervisor exits by itself:
 * - ACT_APP_PERMANENT (the default): the node stops (act_system_request_stop with
 *   ACT_NODE_EXIT_APP_DIED), whatever the reason;
 * - ACT_APP_TRANSIENT: the node stops if the reason is abnormal (not ACT_NORMAL);
 * - ACT_APP_TEMPORARY: reported, nothing else.
 * Stopping an application on purpose (act_app_stop, the node's shutdown) is never a death.
 *
 * The controller is a fiber actor started on first use; it runs the start and stop callbacks,
 * so the top supervisor is linked to it, and watches the top supervisors. It registers an
 * act_system_on_stop hook: act_system_stop() stops every application, newest first, before
 * anything else is killed, then forgets every descriptor and environment (load them again
 * after the next act_system_start).
 *
 * Environment: act_app_env_get(app, key) gives the value set by act_app_set_env or at start
 * (act_app_start's env), else the descriptor's default. Values are strings, valid until the
 * system stops.
 *
 * Threads: act_app_start/stop/stop_all wait for the controller: fiber or foreign thread; from
 * inside an application's start or stop callback they return -EDEADLK. The rest: any thread.
 */
#ifndef ACT_APP_H
#define ACT_APP_H

#include "actor/sup.h"

typedef enum act_app_type {
    ACT_APP_PERMANENT = 0, /* default */
    ACT_APP_TRANSIENT,
    ACT_APP_TEMPORARY,
} act_app_type_t;

/* One environment entry. Arrays of them end with {NULL, NULL}. */
typedef struct act_app_env {
    const char *key;
    const char *value;
} act_app_env_t;

typedef struct act_app act_app_t;
struct act_app {
    const char *name;        /* unique, not empty */
    const char *version;     /* for reports and dumps; may be NULL */
    const char *const *deps; /* names of the applications to start first, NULL-terminated;
                                may be NULL */
    /* Starts the application's supervision tree from the controller's fiber: start the top
     * supervisor linked to the caller (act_sup_start_link) and store its pid in *top. Return
     * 0 or a negative error (nothing left running). NULL: a library application, which runs
     * no actor. */
    int (*start)(const act_app_t *app, act_pid_t *top);
    /* Runs after the top supervisor has exited (stopped or died). May be NULL. */
    void (*stop)(const act_app_t *app);
    const act_app_env_t *env; /* default environment, ends with {NULL, NULL}; may be NULL */
    act_app_type_t type;      /* ACT_APP_PERMANENT (default), _TRANSIENT, _TEMPORARY */
};

/* Makes a descriptor known to the controller (borrowed until the system stops). Loading the
 * same descriptor again does nothing. Returns 0, ACT_EBADARG (no name), -EEXIST (another
 * descriptor with that name), ACT_ENOTRUNNING or ACT_ENOMEM. Any thread. */
ACT_API int act_app_load(const act_app_t *app);

/* Starts application `name` (loaded), after the dependencies it needs that do not run yet,
 * in dependency order. env (may be NULL; ends with {NULL, NULL}) overrides `name`'s
 * environment first. If anything fails, the applications this call started are stopped again.
 * Returns 0; ACT_ENOAPP (not loaded); ACT_EDEPMISSING or ACT_EDEPCYCLE (nothing started; a
 * report names the chain); ACT_EAPPSTARTED (already running; a start asked for while another
 * start of `name` was under way gets that start's result instead, as in OTP); or the error of
 * the start callback that failed (reported). Fiber or foreign thread. */
ACT_API int act_app_start(const char *name, const act_app_env_t *env);

/* Stops a running application: its top supervisor gets an exit signal with ACT_SHUTDOWN and
 * is waited for (it stops its tree), then the stop callback runs. Applications that depend on
 * it are not stopped (as in OTP). Returns 0, ACT_ENOAPP or ACT_EAPPNOTSTARTED. Fiber or
 * foreign thread. */
ACT_API int act_app_stop(const char *name);

/* Stops every running application, the last started first. Returns 0. Fiber or foreign
 * thread. */
ACT_API int act_app_stop_all(void);

/* Sets (overrides) an environment entry of application `app` (need not be loaded); copies
 * both strings. Returns 0, ACT_EBADARG, ACT_ENOTRUNNING or ACT_ENOMEM. Any thread. */
ACT_API int act_app_set_env(const char *app, const char *key, const char *value);

/* The value of `key` in `app`'s environment: the override if set, else the loaded descriptor's
 * default, else NULL. Valid until the system stops. Any thread. */
ACT_API const char *act_app_env_get(const char *app, const char *key);

/* act_app_env_get parsed as a decimal integer; `def` if absent or not a number. */
ACT_API long long act_app_env_int(const char *app, const char *key, long long def);

typedef struct act_app_info {
    const char *name; /* the descriptor's strings (static) */
    const char *version;
    act_app_type_t type;
    act_pid_t top; /* the top supervisor, ACT_PID_NONE for a library application */
} act_app_info_t;

/* The running applications in start order. *out is the caller's (act_free; NULL when *n is
 * 0). Returns 0, ACT_ENOTRUNNING or ACT_ENOMEM. Any thread. */
ACT_API int act_app_which(act_app_info_t **out, size_t *n);

/* The top supervisor of a running application, or ACT_PID_NONE. Any thread. */
ACT_API act_pid_t act_app_top(const char *name);

/* Every running application and its supervision tree as text (act_sup_dump's lines under a
 * line per application): what `dynctl status` prints. *text is the caller's (act_free).
 * Returns 0, ACT_ENOTRUNNING or ACT_ENOMEM. Fiber or foreign thread. */
ACT_API int act_app_dump(char **text);

ACT_API const char *act_app_type_str(act_app_type_t t);

#endif
