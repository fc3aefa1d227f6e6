#include "proc_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void proc_start(proc_t *p, char *const argv[])
{
    memset(p, 0, sizeof *p);
    int in[2], out[2], err[2];
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(out), 0);
    cr_assert_eq(pipe(err), 0);
    p->pid = fork();
    cr_assert_geq(p->pid, 0);
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (int fd = 3; fd < 64; fd++)
            close(fd);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    p->in = in[1];
    p->out = out[0];
    p->err = err[0];
    fcntl(p->out, F_SETFL, O_NONBLOCK);
    fcntl(p->err, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
}

void proc_send(proc_t *p, const char *line)
{
    char buf[512];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s\n", line);
    cr_assert_eq(write(p->in, buf, n), (ssize_t)n);
}

/* Reads what is available from fd into buf; false at EOF. */
static bool drain(int fd, char *buf, size_t cap, size_t *len)
{
    for (;;) {
        if (*len + 1 >= cap)
            *len = 0; /* overflow: keep the newest */
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n > 0) {
            *len += (size_t)n;
            buf[*len] = '\0';
            continue;
        }
        return !(n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR));
    }
}

bool proc_line(proc_t *p, char *buf, size_t len, int64_t ms)
{
    int64_t end = now_ms() + ms;
    for (;;) {
        char *nl = memchr(p->outbuf, '\n', p->outlen);
        if (nl) {
            size_t n = (size_t)(nl - p->outbuf);
            snprintf(buf, len, "%.*s", (int)n, p->outbuf);
            memmove(p->outbuf, nl + 1, p->outlen - n - 1);
            p->outlen -= n + 1;
            return true;
        }
        int64_t left = end - now_ms();
        if (left <= 0)
            return false;
        struct pollfd fds[2] = {{.fd = p->out, .events = POLLIN}, {.fd = p->err, .events = POLLIN}};
        poll(fds, 2, (int)left);
        drain(p->err, p->errbuf, sizeof p->errbuf, &p->errlen);
        if (!drain(p->out, p->outbuf, sizeof p->outbuf, &p->outlen) &&
            !memchr(p->outbuf, '\n', p->outlen))
            return false;
    }
}

void proc_drain(proc_t *p)
{
    drain(p->err, p->errbuf, sizeof p->errbuf, &p->errlen);
    drain(p->out, p->outbuf, sizeof p->outbuf, &p->outlen);
}

bool proc_wait(proc_t *p, int64_t ms)
{
    int64_t end = now_ms() + ms;
    for (;;) {
        char sink[8192];
        size_t sl = 0;
        drain(p->out, sink, sizeof sink, &sl);
        drain(p->err, p->errbuf, sizeof p->errbuf, &p->errlen);
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            drain(p->err, p->errbuf, sizeof p->errbuf, &p->errlen);
            p->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
            p->pid = 0;
            return true;
        }
        if (now_ms() > end)
            return false;
        usleep(2000);
    }
}

void proc_end(proc_t *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    if (p->in > 0)
        close(p->in);
    if (p->out > 0)
        close(p->out);
    if (p->err > 0)
        close(p->err);
    p->in = p->out = p->err = -1;
}
