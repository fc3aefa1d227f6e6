/*
 * The node: one OS process running an actor system and its applications, what `dynctl start`
 * runs (an Erlang node booted with a release).
 *
 * act_node_run() starts the system, loads the descriptors, applies the configuration, starts
 * the application with its dependencies, then waits until SIGTERM or SIGINT arrives (the
 * handler only calls act_system_request_stop, which is async-signal-safe), or until a
 * permanent application dies (or a transient one dies abnormally), or until anyone calls
 * act_system_request_stop. Then it stops everything in order (applications newest first,
 * each tree in reverse start order, then the runtime) and returns an exit status for main:
 *
 *     int main(void) { return act_node_run(&stacker_app, NULL); }
 *
 * Every step is reported through report.h (ACT_REPORT_NODE; stderr by default), a dying
 * application with its reason and text, so the last lines on stderr say why the node stopped.
 */
#ifndef ACT_NODE_H
#define ACT_NODE_H

#include "actor/app.h"
#include "actor/system.h"

/* act_node_run's exit statuses. */
enum {
    ACT_NODE_EXIT_OK = 0,           /* stop requested (signal or act_system_request_stop(0)) */
    ACT_NODE_EXIT_APP_DIED = 1,     /* a permanent (or abnormally a transient) application died */
    ACT_NODE_EXIT_START_FAILED = 2, /* the system or an application failed to start */
};

/* An environment override for any application: arrays end with .app NULL. */
typedef struct act_app_config {
    const char *app;
    const char *key;
    const char *value;
} act_app_config_t;

typedef struct act_node_opts {
    act_config_t system;            /* the actor system's configuration (zero: defaults) */
    const act_app_t *const *apps;   /* more descriptors to load (the dependencies), NULL-
                                       terminated; may be NULL */
    const act_app_config_t *config; /* environment overrides, applied before the start */
    /* Called on the node's thread once the applications run, before waiting (a console, a
     * "ready" line). May be NULL. */
    void (*started)(void *arg);
    void *arg;
    bool no_signals; /* leave SIGTERM/SIGINT alone (the caller requests the stop itself) */
} act_node_opts_t;

/* Runs a node for application `app` (opts may be NULL) and returns its exit status:
 * ACT_NODE_EXIT_OK after a requested stop, ACT_NODE_EXIT_APP_DIED when an application's death
 * stopped it, ACT_NODE_EXIT_START_FAILED when nothing could start (the system already runs, a
 * missing or circular dependency, a start callback failed), or the status given to
 * act_system_request_stop. Call from main (a foreign thread), once at a time; the previous
 * SIGTERM/SIGINT handlers are restored before it returns. */
ACT_API int act_node_run(const act_app_t *app, const act_node_opts_t *opts);

#endif
