/*
 * dynctl start: build if needed, then run the node under its heart, in the foreground (logs
 * on the terminal, Ctrl-C stops it) or as a daemon (--daemon: a pid file, a log file, and
 * dynctl returns once the node answers).
 *
 * Order: the node's lock first (a second start of the same node stops here, before building
 * in a build directory the running node may be rebuilding), then the build, then the heart.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dynctl.h"

#define READY_TIMEOUT_MS 60000

static int start(int argc, char **argv);

const dynctl_cmd_t dynctl_start = {
    .name = "start",
    .fn = start,
    .summary = "build the project if needed and run its node (heart restarts it)",
    .help = "usage: dynctl start [PATH] [--env dev|test|prod] [--port N] [--daemon]\n"
            "                    [--node NAME] [--max-restarts N] [--max-seconds S]\n"
            "                    [--heart-timeout S]\n"
            "\n"
            "Builds the project in PATH (default .) for the environment (--env, else\n"
            "DYNAMO_ENV, else dev) in PATH/_build/<env>, then runs its node. A build error\n"
            "is shown and dynctl exits with status 5.\n"
            "\n"
            "In the foreground the node's logs go to the terminal and Ctrl-C stops it.\n"
            "With --daemon the node runs in the background: its pid is in\n"
            "_build/run/<node>.pid, its output in _build/log/<node>.log, and dynctl returns\n"
            "once the node answers (or reports why it did not start).\n"
            "\n"
            "Like Erlang's heart, dynctl restarts a node that dies abnormally (a crash, a\n"
            "kill, an application's death), waiting longer after each restart, and gives up\n"
            "after more than --max-restarts restarts (default 5) within --max-seconds seconds\n"
            "(default 60). A node that stops cleanly (dynctl stop, SIGTERM, Ctrl-C) is not\n"
            "restarted. A node that stops answering its control socket for --heart-timeout\n"
            "seconds (default 60 in prod; never in dev and test, where a node stopped in a\n"
            "debugger is not hung; 0: never) is killed and restarted.\n"
            "\n"
            "  --env E          dev (reloads web/ as it changes), test or prod (needs\n"
            "                   SECRET_KEY_BASE in the environment)\n"
            "  --port N         the port, over the environment's (and PORT)\n"
            "  --node NAME      the node's name (default: the environment's), to run several\n"
            "                   nodes of one project (on several ports)\n"
            "\n"
            "Exit status: 0 after a clean stop (foreground) or once the daemon serves; 5 the\n"
            "build failed, 6 the port is taken, 8 already running, 9 a configuration error,\n"
            "10 the node failed to start, 1 the heart gave up (see dynctl --help).\n",
};

/* The node's command line. */
static char **node_argv(const dynctl_project_t *p, const dynctl_opts_t *o, char *program)
{
    static char port[16];
    static char *argv[8];
    int k = 0;
    argv[k++] = program;
    argv[k++] = "--env";
    argv[k++] = (char *)p->env;
    if (o->port_set) {
        snprintf(port, sizeof port, "%u", o->port);
        argv[k++] = "--port";
        argv[k++] = port;
    }
    argv[k] = NULL;
    return argv;
}

/* The last lines of the log (what the node said as it failed). */
static void show_tail(const char *path, off_t from)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t at = end - from > 4096 ? end - 4096 : from;
    char buf[4097];
    ssize_t n = pread(fd, buf, sizeof buf - 1, at);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *s = buf;
    if (at > from && (s = strchr(buf, '\n')))
        s++;
    fprintf(stderr, "%s", s ? s : buf);
}

/* In the parent of a daemon: waits until the node answers a ping, or the heart ends. */
static int await_daemon(const dynctl_project_t *p, pid_t heart, off_t log_from)
{
    int64_t end = dynctl_now_ms() + READY_TIMEOUT_MS;
    while (dynctl_now_ms() < end) {
        int st;
        if (waitpid(heart, &st, WNOHANG) == heart) {
            show_tail(p->logfile, log_from);
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : DYNCTL_EXIT_FAILED;
            return dynctl_fail(code ? code : DYNCTL_EXIT_START,
                               "%s (%s) did not start (its log is above, and in %s/%s)", p->name,
                               p->node, p->root, p->logfile);
        }
        int fd = dynctl_connect(p, "ping");
        if (fd >= 0) {
            bool timed_out;
            char *a = dynctl_read_all(fd, 2000, &timed_out);
            close(fd);
            bool ok = a && strcmp(a, "ok\npong\n") == 0;
            free(a);
            if (ok)
                break;
        }
        usleep(50000);
    }
    char *answer;
    const char *body;
    if (dynctl_ask(p, "info", 5000, &answer, &body) != 0)
        return dynctl_fail(DYNCTL_EXIT_TIMEOUT,
                           "%s (%s) did not answer within %d s: see %s/%s (it keeps running)",
                           p->name, p->node, READY_TIMEOUT_MS / 1000, p->root, p->logfile);
    pid_t pid = dynctl_node_pid(p, NULL);
    for (char *line = strtok((char *)body, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "dynamo=", 7) == 0)
            printf("%s (%s): %s\n", p->name, p->node, strchr(line, ' ') + 1);
    printf("%s (%s) runs as a daemon: pid %d, log %s/%s\n", p->name, p->node, (int)pid, p->root,
           p->logfile);
    free(answer);
    return DYNCTL_EXIT_OK;
}

static int start(int argc, char **argv)
{
    dynctl_opts_t o;
    int rc = dynctl_parse(&dynctl_start, argc, argv,
                          "env node port daemon max-restarts max-seconds heart-timeout", &o);
    if (rc)
        return rc == 1 ? DYNCTL_EXIT_OK : rc;
    dynctl_project_t p;
    if ((rc = dynctl_project_open(o.path, o.env, o.node, &p)) || (rc = dynctl_project_dirs(&p)))
        return rc;

    pid_t holder;
    int lock = dynctl_lock(&p, &holder);
    if (lock == -2)
        return DYNCTL_EXIT_FAILED;
    pid_t stale, pid = dynctl_node_pid(&p, &stale);
    if (lock == -1 || pid) {
        if (lock >= 0)
            close(lock);
        return dynctl_fail(DYNCTL_EXIT_RUNNING,
                           "%s (%s) is already running (pid %d): `dynctl stop %s%s%s` first, or "
                           "start another node with --node NAME --port N",
                           p.name, p.node, (int)(pid ? pid : holder), p.root,
                           o.node ? " --node " : "", o.node ? o.node : "");
    }
    if (stale)
        dynctl_note("removed a stale pid file (%s: pid %d is not running)", p.pidfile, (int)stale);

    char program[PATH_MAX];
    if ((rc = dynctl_build(&p, strcmp(p.env, "test") == 0, program, sizeof program))) {
        close(lock);
        return rc;
    }
    setenv("DYNAMO_CONTROL", p.sock, 1);
    setenv("DYNAMO_NODE", p.node, 1);
    dynctl_heart_t h = {
        .p = &p,
        .argv = node_argv(&p, &o, program),
        .max_restarts = o.max_restarts,
        .max_seconds = o.max_seconds,
        /* Off in dev and test by default: a node held in a debugger is not hung. */
        .heart_timeout = o.heart_timeout >= 0         ? o.heart_timeout
                         : strcmp(p.env, "prod") == 0 ? 60
                                                      : 0,
    };
    if (!o.daemon) {
        rc = dynctl_heart_run(&h);
        close(lock);
        return rc;
    }

    int log = open(p.logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) {
        close(lock);
        return dynctl_fail(DYNCTL_EXIT_FAILED, "%s: %s", p.logfile, strerror(errno));
    }
    off_t log_from = lseek(log, 0, SEEK_END);
    fflush(NULL);
    pid_t heart = fork();
    if (heart < 0) {
        close(lock);
        return dynctl_fail(DYNCTL_EXIT_FAILED, "fork: %s", strerror(errno));
    }
    if (heart == 0) {
        /* The heart: a session of its own, detached from the terminal, writing to the log. */
        setsid();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        /* Nothing else of the caller's stays open in the daemon (a pipe of the shell that ran
         * dynctl would never see its end): only the lock, moved out of the way. */
        int kept = fcntl(lock, F_DUPFD_CLOEXEC, 100);
        if (kept >= 0) {
            lock = kept;
            close_range(3, (unsigned)kept - 1, 0);
            close_range((unsigned)kept + 1, ~0U, 0);
        }
        char line[64];
        int n = snprintf(line, sizeof line, "%d %s\n", (int)getpid(), p.env);
        if (ftruncate(lock, 0) != 0 || pwrite(lock, line, (size_t)n, 0) != n)
            fprintf(stderr, "[heart] cannot write %s: %s\n", p.lockfile, strerror(errno));
        _exit(dynctl_heart_run(&h));
    }
    close(log);
    close(lock); /* the heart holds it */
    return await_daemon(&p, heart, log_from);
}
