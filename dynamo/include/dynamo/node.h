/*
 * The node: the program `dynctl start` runs (the seed's `mix server`), and the control socket
 * through which dynctl talks to it.
 *
 * A project's main is one line; the rest is declared by the project:
 *
 *     static const dyn_node_t node = {
 *         .app = &hello_app,                 // lib/hello.c: the application callback
 *         .dynamo = &hello_dynamo,           // lib/hello/dynamo.c: the Dynamo
 *         .dev = &hello_dev, .test = &hello_test, .prod = &hello_prod, // environments/
 *     };
 *     int main(int argc, char **argv) { return dyn_node_main(&node, argc, argv); }
 *
 * dyn_node_main reads the command line
 *
 *     <program> [--env dev|test|prod] [--port N] [--host ADDR] [--schedulers N]
 *               [--control PATH] [--help]
 *
 * picks the environment (--env, else DYNAMO_ENV, else the environment the program was built
 * for, else dev), applies its configuration to the Dynamo (config.h: the environment's file,
 * then PORT, DYNAMO_HOST, DYNAMO_LOG_LEVEL and SECRET_KEY_BASE, then --port and --host), and
 * runs the application as a node (act_node_run: until SIGTERM or SIGINT, a stop through the
 * control socket, or the application's death). Once it serves it prints one line per Dynamo
 * on stdout, `hello: serving on http://127.0.0.1:4000 (dev)`; its reports and request logs go
 * to stderr.
 *
 * The framework's own application, `dynamo` (dyn_app, loaded by dyn_node_main), runs the
 * control server when the node has a control socket (--control, else DYNAMO_CONTROL; dynctl
 * gives one in the project's run directory). List it in the application's dependencies, as the
 * seed's `applications: [:cowboy, :dynamo]`, so that it starts before the application and
 * stops after it (a node still draining answers `dynctl status`); otherwise it starts once the
 * application runs. The server is a plain actor owning a unix socket (mode 0600, refusing any
 * peer of another user), answering one command per connection with a fiber per command:
 *
 *     ping      "pong" once the application runs ("starting" before)
 *     info      key=value lines: pid, app, version, env, node, uptime_ms, and a
 *               `dynamo=<name> <url>` line per Dynamo
 *     status    the supervision trees with restart counts, the Dynamos with their requests,
 *               crashes and open connections, scheduler utilisation (dyn_node_status)
 *     routes    each Dynamo's route table (dyn_routes_text)
 *     stop      a graceful stop: answers "stopping", then the node stops (each Dynamo stops
 *               accepting, lets requests in flight finish within its stop_timeout_ms, and
 *               closes); the connection stays open until the control server goes, late in
 *               the stop, so the client sees the end
 *
 * Answers start with "ok\n", or "error: <text>\n" for an unknown command. A request is one line
 * of at most 256 bytes within 5 s; at most 16 connections are served at once.
 */
#ifndef DYN_NODE_H
#define DYN_NODE_H

#include "actor/node.h"
#include "dynamo/config.h"

/* dyn_node_main's exit statuses beyond act_node_run's (0 stopped, 1 the application died, 2 it
 * failed to start). */
enum {
    DYN_NODE_EXIT_PORT_TAKEN = 3, /* a Dynamo's port is in use by another program */
    DYN_NODE_EXIT_CONFIG = 4,     /* a configuration error (SECRET_KEY_BASE missing in prod...) */
    DYN_NODE_EXIT_USAGE = 64,     /* bad command line */
};

typedef struct dyn_node {
    const act_app_t *app;    /* the application the node runs (required) */
    dyn_dynamo_t *dynamo;    /* its Dynamo, configured by the environment (may be NULL) */
    const dyn_config_t *dev; /* each environment's configuration (NULL: defaults) */
    const dyn_config_t *test;
    const dyn_config_t *prod;
} dyn_node_t;

/* Runs the node (above) and returns main's exit status. Call from main, once. */
DYN_API int dyn_node_main(const dyn_node_t *node, int argc, char **argv);

/* The framework's application, "dynamo": the control server when the node has a control socket
 * (its environment's `control` key: the socket's path). dyn_node_main loads it. */
DYN_API extern const act_app_t dyn_app;

/* The node's state as `dynctl status` prints it: the node line, scheduler utilisation over
 * sample_ms (0: since the start only), each application's supervision tree (restart counts,
 * mailboxes, servers' states), and each Dynamo (address, environment, routes, requests,
 * crashes, open connections, its web code's version). *text is the caller's (act_free).
 * Returns 0, ACT_ENOTRUNNING or ACT_ENOMEM. Fiber or foreign thread (it sleeps sample_ms). */
DYN_API int dyn_node_status(int64_t sample_ms, char **text);

#endif
