/*
 * dynctl pid: the operating system's pid of the running node (a release's `bin/app pid`).
 */
#include <stdio.h>

#include "dynctl.h"

static int pid(int argc, char **argv);

const dynctl_cmd_t dynctl_pid = {
    .name = "pid",
    .fn = pid,
    .summary = "print the pid of a running node",
    .help = "usage: dynctl pid [PATH] [--env E | --node NAME]\n"
            "\n"
            "Prints the pid of the node of the project in PATH (default .), from its pid\n"
            "file, if that process runs. Exit status: 0, or 3 when it does not run (a stale\n"
            "pid file is removed).\n",
};

static int pid(int argc, char **argv)
{
    dynctl_opts_t o;
    int rc = dynctl_parse(&dynctl_pid, argc, argv, "env node", &o);
    if (rc)
        return rc == 1 ? DYNCTL_EXIT_OK : rc;
    dynctl_project_t p;
    if ((rc = dynctl_project_running(o.path, o.env, o.node, &p)))
        return rc;
    pid_t stale, node = dynctl_node_pid(&p, &stale);
    if (stale)
        dynctl_note("removed a stale pid file (%s: pid %d is not running)", p.pidfile, (int)stale);
    if (!node)
        return dynctl_fail(DYNCTL_EXIT_NOT_RUNNING, "%s (%s) is not running", p.name, p.node);
    printf("%d\n", (int)node);
    return DYNCTL_EXIT_OK;
}
