/*
 * dynctl stop: a graceful stop with a deadline.
 *
 * The node is asked through its control socket; it answers "stopping", stops accepting, lets
 * requests in flight finish (each Dynamo's stop_timeout_ms), and exits with status 0, which
 * tells its heart not to restart it. dynctl waits for the control connection to close, the
 * node's process to end and its heart to let go of the lock, all within --timeout seconds.
 * Past the deadline the heart is told to stop (SIGTERM: no restart) and the node is killed.
 * A node whose control socket does not answer is sent SIGTERM, which is the same graceful
 * stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "dynctl.h"

static int stop(int argc, char **argv);

const dynctl_cmd_t dynctl_stop = {
    .name = "stop",
    .fn = stop,
    .summary = "stop a running node gracefully (drain, then exit)",
    .help = "usage: dynctl stop [PATH] [--env E | --node NAME] [--timeout S]\n"
            "\n"
            "Stops the node of the project in PATH (default .): the one that runs, or the one\n"
            "--node (or --env) names when several do. The node stops accepting connections,\n"
            "lets the requests in flight finish, and exits; its heart does not restart it.\n"
            "dynctl waits until it is gone, at most --timeout seconds (default 30), after\n"
            "which it kills it (exit status 11).\n"
            "\n"
            "Exit status: 0 stopped, 3 not running, 7 permission denied, 11 killed after the\n"
            "deadline.\n",
};

static bool gone(const dynctl_project_t *p, pid_t node)
{
    return !dynctl_alive(node) && dynctl_heart_pid(p) == 0;
}

static int stop(int argc, char **argv)
{
    dynctl_opts_t o;
    int rc = dynctl_parse(&dynctl_stop, argc, argv, "env node timeout", &o);
    if (rc)
        return rc == 1 ? DYNCTL_EXIT_OK : rc;
    dynctl_project_t p;
    if ((rc = dynctl_project_running(o.path, o.env, o.node, &p)))
        return rc;
    int64_t deadline = dynctl_now_ms() + (int64_t)o.timeout * 1000;
    pid_t stale, node = dynctl_node_pid(&p, &stale);
    pid_t heart = dynctl_heart_pid(&p);

    int fd = dynctl_connect(&p, "stop");
    if (fd == -DYNCTL_EXIT_DENIED)
        return dynctl_fail(DYNCTL_EXIT_DENIED,
                           "permission denied: %s/%s belongs to another user (stop the node as "
                           "the user who started it)",
                           p.root, p.sock);
    if (fd < 0) {
        if (!node && heart < 0)
            return dynctl_fail(DYNCTL_EXIT_FAILED, "%s (%s) is starting: try again in a moment",
                               p.name, p.node);
        if (!node && heart == 0) {
            if (stale)
                dynctl_note("removed a stale pid file (%s: pid %d is not running)", p.pidfile,
                            (int)stale);
            return dynctl_fail(DYNCTL_EXIT_NOT_RUNNING, "%s (%s) is not running", p.name, p.node);
        }
        /* A process without a control socket (starting, or hung): SIGTERM is the same stop. */
        pid_t target = node > 0 ? node : heart;
        dynctl_note("%s (%s) does not answer on its control socket: sending SIGTERM to pid %d",
                    p.name, p.node, (int)target);
        if (kill(target, SIGTERM) != 0 && errno == EPERM)
            return dynctl_fail(DYNCTL_EXIT_DENIED,
                               "permission denied: pid %d belongs to another "
                               "user",
                               (int)target);
    } else {
        bool timed_out;
        int64_t left = deadline - dynctl_now_ms();
        char *a = dynctl_read_all(fd, left > 0 ? (int)left : 1, &timed_out);
        close(fd);
        if (a && strncmp(a, "ok\n", 3) != 0 && a[0]) {
            a[strcspn(a, "\n")] = '\0';
            int r =
                dynctl_fail(DYNCTL_EXIT_FAILED, "%s (%s) refused to stop: %s", p.name, p.node, a);
            free(a);
            return r;
        }
        free(a);
    }
    while (dynctl_now_ms() < deadline) {
        if (gone(&p, node)) {
            printf("%s (%s) stopped\n", p.name, p.node);
            return DYNCTL_EXIT_OK;
        }
        usleep(20000);
    }
    /* The deadline: no restart, then the kill. */
    heart = dynctl_heart_pid(&p);
    if (heart > 0)
        kill(heart, SIGTERM);
    pid_t now = dynctl_node_pid(&p, NULL);
    if (now > 0)
        node = now;
    if (node > 0)
        kill(node, SIGKILL);
    for (int i = 0; i < 100 && !gone(&p, node); i++)
        usleep(20000);
    unlink(p.pidfile);
    return dynctl_fail(DYNCTL_EXIT_TIMEOUT, "%s (%s) did not stop within %d s: killed it", p.name,
                       p.node, o.timeout);
}
