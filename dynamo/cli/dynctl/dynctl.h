/*
 * dynctl: creates Dynamo projects and runs and controls their nodes.
 *
 * One file per subcommand (new.c, start.c, stop.c, ping.c, status.c, routes.c, pid.c, test.c,
 * secret.c), each exporting its entry and help text for the command table in main.c; what
 * several share is here: the project and its files (project.c), the build (build.c), the
 * control socket client (client.c) and the heart that runs and restarts a node (heart.c).
 *
 * A project's files, under its root (dynctl works from there: it changes into the root first,
 * so paths stay short enough for unix sockets):
 *
 *     _build/<env>/          the build of an environment (DYNAMO_ENV=<env>)
 *     _build/run/            0700: per node, <node>.sock (the control socket), <node>.pid
 *                            (the node's pid), <node>.lock (held by its heart, holding the
 *                            heart's pid)
 *     _build/log/<node>.log  a daemon's output
 *
 * A node's name is its environment's ("dev", "prod") unless --node names it, so one project
 * can run a dev and a prod node side by side, or several prod nodes on several ports.
 *
 * Exit statuses: DYNCTL_EXIT_MAP below (also in `dynctl --help`).
 */
#ifndef DYNCTL_H
#define DYNCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* X(name, status, meaning) */
#define DYNCTL_EXIT_MAP(X)                                                                         \
    X(OK, 0, "success")                                                                            \
    X(FAILED, 1, "the command failed (the node reported an error, the heart gave up, ...)")        \
    X(USAGE, 2, "bad command line")                                                                \
    X(NOT_RUNNING, 3, "the node is not running")                                                   \
    X(NO_PROJECT, 4, "no such project")                                                            \
    X(BUILD, 5, "the build failed")                                                                \
    X(PORT_TAKEN, 6, "the port is taken")                                                          \
    X(DENIED, 7, "permission denied")                                                              \
    X(RUNNING, 8, "the node is already running")                                                   \
    X(CONFIG, 9, "the node's configuration is wrong (SECRET_KEY_BASE missing in prod, ...)")       \
    X(START, 10, "the node failed to start")                                                       \
    X(TIMEOUT, 11, "the node did not answer or stop in time")

enum {
#define DYNCTL__EXIT_ENUM(name, status, msg) DYNCTL_EXIT_##name = status,
    DYNCTL_EXIT_MAP(DYNCTL__EXIT_ENUM)
#undef DYNCTL__EXIT_ENUM
};

/* A subcommand: its entry (argv[0] is the command's name) and its help. */
typedef struct dynctl_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary; /* one line for `dynctl --help` */
    const char *help;    /* the whole text for `dynctl help <name>` */
} dynctl_cmd_t;

extern const dynctl_cmd_t dynctl_new, dynctl_start, dynctl_stop, dynctl_ping, dynctl_status,
    dynctl_routes, dynctl_pid, dynctl_test, dynctl_secret;

/* ---- messages (main.c) ----------------------------------------------------------------------- */

/* "dynctl: <message>" on stderr; returns status. */
__attribute__((format(printf, 2, 3))) int dynctl_fail(int status, const char *fmt, ...);
/* "dynctl: <message>" on stderr, no status. */
__attribute__((format(printf, 1, 2))) void dynctl_note(const char *fmt, ...);
/* Prints the command's help on stdout (help) or a usage hint on stderr and returns USAGE. */
__attribute__((format(printf, 2, 3))) int dynctl_usage(const dynctl_cmd_t *cmd, const char *fmt,
                                                       ...);

/* ---- options (main.c) --------------------------------------------------------------------------
 */

/* The options most commands share. */
typedef struct dynctl_opts {
    const char *path; /* the project [.] */
    bool path_set;    /* PATH was given */
    const char *env;  /* --env (NULL: DYNAMO_ENV, else dev; for control commands: the node
                         that runs) */
    const char *node; /* --node */
    bool daemon;      /* start --daemon */
    bool port_set;    /* start --port */
    unsigned port;
    int max_restarts;  /* start --max-restarts [5] */
    int max_seconds;   /* start --max-seconds [60] */
    int heart_timeout; /* start --heart-timeout (s; 0: off) [-1: 60 in prod, else off] */
    int timeout;       /* stop --timeout [30] (s) */
    const char *name;  /* new --name */
} dynctl_opts_t;

/* Parses argv (argv[0] the command) for the options `allowed` lists (a string of option names
 * separated by spaces: "env node daemon port max-restarts ..."), at most one positional PATH.
 * Returns 0, 1 after printing the help (--help), or DYNCTL_EXIT_USAGE after a message. */
int dynctl_parse(const dynctl_cmd_t *cmd, int argc, char **argv, const char *allowed,
                 dynctl_opts_t *o);

/* ---- the project (project.c) -------------------------------------------------------------------
 */

typedef struct dynctl_project {
    char root[4096]; /* absolute; the process's working directory once found */
    char name[256];  /* the root's last component (for messages) */
    const char *env; /* dev, test, prod */
    char node[64];   /* the node's name */
    char sock[100];  /* relative to root: _build/run/<node>.sock (fits in sun_path) */
    char pidfile[128];
    char lockfile[128];
    char logfile[128];
    char build[32]; /* _build/<env> */
} dynctl_project_t;

/* Finds the project at path (a directory whose CMakeLists.txt calls dynamo_add_web), changes
 * into it and fills p for environment env (NULL: DYNAMO_ENV, else dev) and node (NULL: the
 * environment's name). Returns 0 or an exit status after a message. */
int dynctl_project_open(const char *path, const char *env, const char *node, dynctl_project_t *p);

/* For the control commands: like dynctl_project_open, but without --node and --env it picks
 * the node that runs (the only one, else a message listing them). Returns 0 or an exit status
 * after a message (NOT_RUNNING when none runs). */
int dynctl_project_running(const char *path, const char *env, const char *node,
                           dynctl_project_t *p);

/* Makes _build/run (0700) and _build/log. Returns 0 or an exit status after a message. */
int dynctl_project_dirs(const dynctl_project_t *p);

/* The node's pid from its pid file if that process lives (0 if none; a stale file is removed
 * and *stale gets its pid). */
pid_t dynctl_node_pid(const dynctl_project_t *p, pid_t *stale);

/* The pid of the heart that holds the node's lock, -1 if one holds it without a pid yet, or 0
 * when none does. */
pid_t dynctl_heart_pid(const dynctl_project_t *p);

/* Takes the node's lock (its heart's, for the heart's life; the descriptor is close-on-exec).
 * Returns the descriptor, or -1 when a heart holds it (*holder gets its pid), or -2 after an
 * error message. */
int dynctl_lock(const dynctl_project_t *p, pid_t *holder);

/* ---- the framework and the build (build.c) ----------------------------------------------------
 */

/* Configures (once) and builds the project's environment in p->build, its output captured in
 * p->build/dynctl-build.log and shown if it fails. tests: also build the tests. On success
 * program gets the node's executable. Returns 0 or an exit status after a message. */
int dynctl_build(const dynctl_project_t *p, bool tests, char *program, size_t len);

/* The framework's package directory (what find_package(dynamo) wants as dynamo_DIR). */
const char *dynctl_framework_dir(void);

/* Runs argv (argv[0] found in PATH) with stdout and stderr to fd (-1: inherited), waits, and
 * returns its exit status (-1 if it could not run, 128+N if killed by signal N). */
int dynctl_run(char *const argv[], int fd);

/* ---- the control socket (client.c) --------------------------------------------------------------
 */

/* Connects to the node's control socket and sends `command`. Returns the connected descriptor,
 * or -DYNCTL_EXIT_NOT_RUNNING (nothing listens), -DYNCTL_EXIT_DENIED, or -DYNCTL_EXIT_FAILED
 * (errno set). */
int dynctl_connect(const dynctl_project_t *p, const char *command);

/* Sends command and reads the whole answer (until the node closes) into a malloc'ed string,
 * within timeout_ms. Returns 0 with *answer set, or an exit status after a message (not
 * running, denied, timeout, an "error: " answer). *body points past the "ok\n" line. */
int dynctl_ask(const dynctl_project_t *p, const char *command, int timeout_ms, char **answer,
               const char **body);

/* What ping, status and routes share: parses argv as cmd's options (PATH, --env, --node), finds
 * the project's running node and asks it `command` (dynctl_ask). Returns 0 with *p, *answer and
 * *body set, -1 after --help (exit 0), or an exit status after a message. */
int dynctl_query(const dynctl_cmd_t *cmd, int argc, char **argv, const char *command,
                 int timeout_ms, dynctl_project_t *p, char **answer, const char **body);

/* Reads what fd sends until EOF or timeout_ms into a malloc'ed string; returns it, or NULL on
 * timeout (*timed_out set). */
char *dynctl_read_all(int fd, int timeout_ms, bool *timed_out);

/* A monotonic clock in milliseconds. */
int64_t dynctl_now_ms(void);

/* Whether a process lives (kill(pid, 0): an existing process of another user counts). */
bool dynctl_alive(pid_t pid);

/* ---- running a node (heart.c) ------------------------------------------------------------------
 */

typedef struct dynctl_heart {
    const dynctl_project_t *p;
    char *const *argv; /* the node's command line */
    int max_restarts;  /* restarts allowed within max_seconds before giving up */
    int max_seconds;
    int heart_timeout; /* s without an answer to ping before a live node is killed (0: off) */
} dynctl_heart_t;

/* Runs the node (its output and the heart's messages go to stderr and stdout: the terminal, or
 * a daemon's log) and keeps it running (Erlang's heart): restarts it after an abnormal exit (a
 * signal, a status other than 0) with a growing delay, unless it fails at its first start or
 * restarts too often; stops after a clean exit or a SIGTERM/SIGINT/SIGHUP (forwarded to the
 * node). Keeps the pid file. Returns dynctl's exit status. */
int dynctl_heart_run(const dynctl_heart_t *h);

/* The dynctl exit status for a node's exit status at start (DYN_NODE_EXIT_*). */
int dynctl_exit_of_node(int node_status);

#endif
