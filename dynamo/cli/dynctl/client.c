/*
 * The client side of the control socket (dynamo/node.h has the protocol): one command per
 * connection, the answer read until the node closes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dynctl.h"

int64_t dynctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dynctl_connect(const dynctl_project_t *p, const char *command)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -DYNCTL_EXIT_FAILED;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _Static_assert(sizeof p->sock <= sizeof sa.sun_path, "a control socket's path fits");
    memcpy(sa.sun_path, p->sock, sizeof p->sock);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        if (err == ENOENT || err == ECONNREFUSED)
            return -DYNCTL_EXIT_NOT_RUNNING;
        if (err == EACCES || err == EPERM)
            return -DYNCTL_EXIT_DENIED;
        return -DYNCTL_EXIT_FAILED;
    }
    char line[300];
    int n = snprintf(line, sizeof line, "%s\n", command);
    if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        int err = errno;
        close(fd);
        errno = err;
        return -DYNCTL_EXIT_FAILED;
    }
    return fd;
}

char *dynctl_read_all(int fd, int timeout_ms, bool *timed_out)
{
    *timed_out = false;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    int64_t end = dynctl_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - dynctl_now_ms();
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = left > 0 ? poll(&pf, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            *timed_out = r == 0;
            free(buf);
            return NULL;
        }
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the end (or a reset: what came is what there is) */
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* The message for a control socket that cannot be reached. */
static int unreachable(const dynctl_project_t *p, int status)
{
    if (status == DYNCTL_EXIT_NOT_RUNNING) {
        pid_t stale, pid = dynctl_node_pid(p, &stale);
        if (pid)
            return dynctl_fail(DYNCTL_EXIT_FAILED,
                               "%s (%s) has a process (pid %d) but no control socket at %s/%s: "
                               "it is starting, or was started by hand without one",
                               p->name, p->node, (int)pid, p->root, p->sock);
        if (stale)
            dynctl_note("removed a stale pid file (%s/%s: pid %d is not running)", p->root,
                        p->pidfile, (int)stale);
        return dynctl_fail(DYNCTL_EXIT_NOT_RUNNING, "%s (%s) is not running", p->name, p->node);
    }
    if (status == DYNCTL_EXIT_DENIED)
        return dynctl_fail(DYNCTL_EXIT_DENIED,
                           "permission denied: %s/%s belongs to another user (run dynctl as "
                           "the user who started the node)",
                           p->root, p->sock);
    return dynctl_fail(DYNCTL_EXIT_FAILED, "cannot reach %s/%s: %s", p->root, p->sock,
                       strerror(errno));
}

int dynctl_ask(const dynctl_project_t *p, const char *command, int timeout_ms, char **answer,
               const char **body)
{
    *answer = NULL;
    int fd = dynctl_connect(p, command);
    if (fd < 0)
        return unreachable(p, -fd);
    bool timed_out;
    char *a = dynctl_read_all(fd, timeout_ms, &timed_out);
    close(fd);
    if (!a) {
        if (timed_out)
            return dynctl_fail(DYNCTL_EXIT_TIMEOUT, "%s (%s) did not answer `%s` within %d s",
                               p->name, p->node, command, timeout_ms / 1000);
        return dynctl_fail(DYNCTL_EXIT_FAILED, "reading the answer: %s", strerror(errno));
    }
    if (strncmp(a, "ok\n", 3) != 0) {
        a[strcspn(a, "\n")] = '\0';
        int rc = dynctl_fail(DYNCTL_EXIT_FAILED, "%s (%s) answered: %s", p->name, p->node,
                             a[0] ? a : "nothing (it is stopping?)");
        free(a);
        return rc;
    }
    *answer = a;
    *body = a + 3;
    return 0;
}

int dynctl_query(const dynctl_cmd_t *cmd, int argc, char **argv, const char *command,
                 int timeout_ms, dynctl_project_t *p, char **answer, const char **body)
{
    dynctl_opts_t o;
    int rc = dynctl_parse(cmd, argc, argv, "env node", &o);
    if (rc)
        return rc == 1 ? -1 : rc;
    if ((rc = dynctl_project_running(o.path, o.env, o.node, p)))
        return rc;
    return dynctl_ask(p, command, timeout_ms, answer, body);
}
