/*
 * The heart (dynctl.h): runs a node and restarts it when it dies, as Erlang's heart does.
 *
 * The heart is dynctl itself (in the foreground) or a daemon dynctl forked (--daemon); the node
 * is its child. It blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP and takes them with
 * sigtimedwait, so no handler races the loop: a stop signal marks the heart stopping and is
 * passed to the node as SIGTERM (a graceful stop; a third one kills it); the child's end is
 * reaped with waitpid, also polled every HEART_TICK_MS in case a SIGCHLD was merged.
 *
 * What an exit means:
 * - status 0: a clean stop (dynctl stop, SIGTERM): the heart stops too;
 * - at the first start, the node's own "could not start" statuses (2, 3 port taken, 4
 *   configuration, 64 usage) and a program that cannot run: the heart stops with the matching
 *   dynctl status, since starting again would fail the same way;
 * - anything else (a signal such as SIGSEGV or SIGKILL, status 1 when an application died, a
 *   start failure after a crash): a crash. The heart restarts the node after a delay that
 *   doubles with each restart in the window (HEART_DELAY_MS up to HEART_DELAY_MAX_MS), and
 *   gives up when more than max_restarts restarts fall within max_seconds (OTP's intensity).
 *
 * Hangs: with heart_timeout > 0 the heart pings the node's control socket every
 * HEART_BEAT_MS; a node that has answered once and then answers nothing for heart_timeout
 * seconds (stopped, deadlocked, a scheduler stuck in a loop) is killed with SIGKILL, which is a
 * crash as above (Erlang's HEART_BEAT_TIMEOUT, 60 s by default as there).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dynctl.h"

#define HEART_TICK_MS 200
#define HEART_BEAT_MS 5000
#define HEART_DELAY_MS 500
#define HEART_DELAY_MAX_MS 10000
#define HEART_MAX_TRACKED 1001

int dynctl_exit_of_node(int status)
{
    switch (status) {
    case 0:
        return DYNCTL_EXIT_OK;
    case 2:
        return DYNCTL_EXIT_START;
    case 3:
        return DYNCTL_EXIT_PORT_TAKEN;
    case 4:
        return DYNCTL_EXIT_CONFIG;
    case 64:
        return DYNCTL_EXIT_USAGE;
    default:
        return DYNCTL_EXIT_FAILED;
    }
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    fprintf(stderr, "[heart] %s %s\n", when, line);
    fflush(stderr);
}

static void write_pidfile(const dynctl_project_t *p, pid_t pid)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", p->pidfile);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0 || rename(tmp, p->pidfile) != 0)
        say("cannot write %s: %s", p->pidfile, strerror(errno));
}

static pid_t launch(const dynctl_heart_t *h, const sigset_t *old)
{
    pid_t pid = fork();
    if (pid < 0) {
        say("cannot start %s: fork: %s", h->argv[0], strerror(errno));
        return -1;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, old, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        execv(h->argv[0], h->argv);
        fprintf(stderr, "dynctl: cannot run %s: %s\n", h->argv[0], strerror(errno));
        _exit(126);
    }
    write_pidfile(h->p, pid);
    return pid;
}

static void describe(int st, char *buf, size_t len)
{
    if (WIFSIGNALED(st))
        snprintf(buf, len, "was killed by %s%s", sigabbrev_np(WTERMSIG(st)) ? "SIG" : "signal ",
                 sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    if (WIFSIGNALED(st) && WCOREDUMP(st))
        snprintf(buf + strlen(buf), len - strlen(buf), " (core dumped)");
}

/* Asks the node for a pong within 2 s. */
static bool pong(const dynctl_project_t *p)
{
    int fd = dynctl_connect(p, "ping");
    if (fd < 0)
        return false;
    bool timed_out;
    char *a = dynctl_read_all(fd, 2000, &timed_out);
    close(fd);
    bool ok = a && strcmp(a, "ok\npong\n") == 0;
    free(a);
    return ok;
}

typedef struct run {
    pid_t pid;
    int64_t started;
    int64_t last_beat;  /* when the last ping was sent */
    int64_t last_alive; /* when the node last answered (0: never) */
    bool killed_hung;
} run_t;

/* Waits for the node's end and returns its wait status. Stop signals meanwhile are passed on
 * (counted in *stops); pings watch for a hang. */
static int wait_node(const dynctl_heart_t *h, const sigset_t *set, run_t *r, int *stops)
{
    for (;;) {
        int st;
        pid_t w = waitpid(r->pid, &st, WNOHANG);
        if (w == r->pid)
            return st;
        struct timespec ts = {0, HEART_TICK_MS * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
            ++*stops;
            say("%s: stopping %s (%s) pid %d",
                sig == SIGINT   ? "SIGINT"
                : sig == SIGHUP ? "SIGHUP"
                                : "SIGTERM",
                h->p->name, h->p->node, (int)r->pid);
            kill(r->pid, *stops >= 3 ? SIGKILL : SIGTERM);
            continue;
        }
        if (h->heart_timeout <= 0 || *stops)
            continue;
        int64_t now = dynctl_now_ms();
        if (now - r->last_beat < (r->last_alive ? HEART_BEAT_MS : HEART_TICK_MS * 5))
            continue;
        r->last_beat = now;
        if (pong(h->p)) {
            r->last_alive = dynctl_now_ms();
        } else if (r->last_alive && !r->killed_hung &&
                   now - r->last_alive > (int64_t)h->heart_timeout * 1000) {
            say("%s (%s) pid %d has not answered for %d s: killing it", h->p->name, h->p->node,
                (int)r->pid, h->heart_timeout);
            kill(r->pid, SIGKILL);
            r->killed_hung = true;
        }
    }
}

/* Sleeps ms unless a stop signal comes (returns true then). */
static bool pause_for(const sigset_t *set, int64_t ms)
{
    int64_t end = dynctl_now_ms() + ms;
    for (int64_t left; (left = end - dynctl_now_ms()) > 0;) {
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            return true;
    }
    return false;
}

int dynctl_heart_run(const dynctl_heart_t *h)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);

    static int64_t restarts[HEART_MAX_TRACKED]; /* times of the restarts in the window */
    int nrestarts = 0;
    bool first = true;
    int stops = 0;
    for (;;) {
        run_t r = {.pid = launch(h, &old), .started = dynctl_now_ms()};
        if (r.pid < 0)
            return DYNCTL_EXIT_FAILED;
        int st = wait_node(h, &set, &r, &stops);
        unlink(h->p->pidfile);
        char how[128];
        describe(st, how, sizeof how);
        double up = (double)(dynctl_now_ms() - r.started) / 1000.0;
        if (stops) {
            say("%s (%s) stopped: it %s", h->p->name, h->p->node, how);
            return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? DYNCTL_EXIT_OK : DYNCTL_EXIT_FAILED;
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            say("%s (%s) stopped cleanly after %.1f s: not restarting", h->p->name, h->p->node, up);
            return DYNCTL_EXIT_OK;
        }
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (first && (code == 2 || code == 3 || code == 4 || code == 64 || code == 126)) {
            say("%s (%s) could not start: it %s", h->p->name, h->p->node, how);
            return code == 126 ? DYNCTL_EXIT_START : dynctl_exit_of_node(code);
        }
        first = false;
        /* A crash. Count the restarts within the window, then wait longer each time. */
        int64_t now = dynctl_now_ms();
        int kept = 0;
        for (int i = 0; i < nrestarts; i++)
            if (now - restarts[i] < (int64_t)h->max_seconds * 1000)
                restarts[kept++] = restarts[i];
        nrestarts = kept;
        if (nrestarts >= h->max_restarts) {
            say("%s (%s) pid %d %s after %.1f s: %d restarts within %d s already, giving up",
                h->p->name, h->p->node, (int)r.pid, how, up, nrestarts, h->max_seconds);
            return DYNCTL_EXIT_FAILED;
        }
        restarts[nrestarts++] = now;
        int shift = nrestarts - 1 < 5 ? nrestarts - 1 : 5;
        int64_t delay = (int64_t)HEART_DELAY_MS << shift;
        if (delay > HEART_DELAY_MAX_MS)
            delay = HEART_DELAY_MAX_MS;
        say("%s (%s) pid %d %s after %.1f s: restarting in %.1f s (restart %d of %d within "
            "%d s)",
            h->p->name, h->p->node, (int)r.pid, how, up, (double)delay / 1000.0, nrestarts,
            h->max_restarts, h->max_seconds);
        if (pause_for(&set, delay)) {
            say("stop requested: %s (%s) stays down", h->p->name, h->p->node);
            return DYNCTL_EXIT_OK;
        }
    }
}
