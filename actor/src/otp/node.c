/*
 * The node (node.h): boot, wait, orderly stop, exit status.
 *
 * The signal handler does two async-signal-safe things: it records the signal number and
 * calls act_system_request_stop (an atomic exchange and a sem_post). Everything else happens on
 * the node's thread once act_system_wait returns: the reason is read back (the signal, or the
 * death the application controller recorded), act_system_stop runs the controller's stop hook
 * (applications newest first, each tree in reverse start order), then the runtime stops.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "otp_int.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
    act_system_request_stop(ACT_NODE_EXIT_OK);
}

static const char *sig_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}

int act_node_run(const act_app_t *app, const act_node_opts_t *opts)
{
    static const act_node_opts_t none;
    if (!opts)
        opts = &none;
    if (!app || !app->name || !app->name[0]) {
        act__report_node("no application to run");
        return ACT_NODE_EXIT_START_FAILED;
    }
    got_signal = 0;
    int rc = act_system_start(&opts->system);
    if (rc) {
        act__report_node("cannot start the actor system: %s", act_strerror(rc));
        return ACT_NODE_EXIT_START_FAILED;
    }
    struct sigaction sa = {.sa_handler = on_signal}, old_term, old_int;
    sigemptyset(&sa.sa_mask);
    if (!opts->no_signals) {
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGINT, &sa, &old_int);
    }
    int status = ACT_NODE_EXIT_START_FAILED;
    rc = act_app_load(app);
    for (const act_app_t *const *a = opts->apps; rc == 0 && a && *a; a++)
        rc = act_app_load(*a);
    for (const act_app_config_t *c = opts->config; rc == 0 && c && c->app; c++)
        rc = act_app_set_env(c->app, c->key, c->value);
    if (rc) {
        act__report_node("cannot load %s: %s", app->name, act_strerror(rc));
        goto stop;
    }
    act__report_node("starting %s %s on %u schedulers", app->name, app->version ? app->version : "",
                     act_sched_count());
    rc = act_app_start(app->name, NULL);
    if (rc) {
        act__report_node("%s failed to start: %s (%s)", app->name, act_err_name(rc),
                         act_strerror(rc));
        goto stop;
    }
    act__report_node("%s started", app->name);
    if (opts->started)
        opts->started(opts->arg);
    status = act_system_wait();
    char death[512];
    act__app_death(death, sizeof death);
    if (got_signal)
        act__report_node("stopping: %s", sig_name(got_signal));
    else if (death[0])
        act__report_node("stopping: %s", death);
    else
        act__report_node("stopping: stop requested (status %d)", status);
stop:
    act_system_stop();
    if (!opts->no_signals) {
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
    }
    act__report_node("stopped (exit status %d)", status);
    return status;
}
