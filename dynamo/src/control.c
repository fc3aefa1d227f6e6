/*
 * The control server (node.h): how dynctl talks to a running node.
 *
 * A plain actor pinned to scheduler 0 owns a listening unix socket through libuv (a uv_pipe_t
 * on that scheduler's loop); libuv's callbacks run on the same thread between the actor's
 * turns, so they share its state without locks. A connection is read until its first newline
 * (at most CTL_LINE_MAX bytes within CTL_READ_MS); the read callback then tells the actor, which
 * spawns a fiber for the command (status and routes call supervisors and sleep: they must not
 * block the scheduler) and monitors it. The fiber sends its answer back; the actor writes it
 * and closes the connection, or keeps it open after `stop` so the client learns the end when
 * this actor goes. A fiber that crashes is answered with its reason.
 *
 * Memory: the listener and each client are heap blocks freed by their handles' close
 * callbacks, which run after the actor's terminate (libuv frees nothing itself), so the blocks
 * outlive the actor; `handles` counts what is still open.
 *
 * Who may connect: the socket is created in the run directory (dynctl makes it 0700), chmod'ed
 * to 0600, and every peer's credentials (SO_PEERCRED) must be this process's user or root.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "node_int.h"

#define CTL_LINE_MAX 256
#define CTL_READ_MS 5000
#define CTL_CLIENTS_MAX 16

enum { CTL_REQUEST = ACT_MSG_USER + 0x4c0, CTL_ANSWER };

typedef struct ctl_client ctl_client_t;

typedef struct ctl_server {
    uv_pipe_t pipe;
    act_pid_t self;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned handles; /* open handles: the listener, each client's pipe and timer */
    unsigned nclients;
    ctl_client_t *clients;
    uint64_t next_id;
    bool bound; /* the socket file is ours to remove */
} ctl_server_t;

struct ctl_client {
    uv_pipe_t pipe;
    uv_timer_t timer;
    uv_write_t wr;
    ctl_server_t *srv;
    ctl_client_t *next;
    uint64_t id;
    act_pid_t worker; /* the fiber answering it, or ACT_PID_NONE */
    char *answer;     /* being written (act_free after) */
    unsigned open;    /* its handles not closed yet (the pipe, the timer) */
    bool closing;
    bool busy;       /* its line is complete: a command runs or has answered */
    bool keep_open;  /* after `stop`: left open until the server goes */
    bool stop_after; /* request the node's stop once the answer is written */
    size_t len;
    char line[CTL_LINE_MAX + 1];
};

typedef struct ctl_request {
    act_msg_t hdr;
    uint64_t id;
} ctl_request_t;

typedef struct ctl_answer {
    act_msg_t hdr;
    uint64_t id;
    char *text; /* act_malloc'ed, taken by the receiver */
    bool stop;
} ctl_answer_t;

typedef struct ctl_job {
    act_pid_t server;
    uint64_t id;
    char line[CTL_LINE_MAX + 1];
} ctl_job_t;

/* ---- handles -------------------------------------------------------------------------------- */

static void server_release(ctl_server_t *srv)
{
    if (--srv->handles == 0)
        act_free(srv);
}

static void on_client_closed(uv_handle_t *h)
{
    ctl_client_t *c = h->data;
    ctl_server_t *srv = c->srv;
    /* libuv runs close callbacks in no order we may rely on: the second one frees. */
    if (--c->open == 0) {
        act_free(c->answer);
        act_free(c);
    }
    server_release(srv);
}

static void client_close(ctl_client_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    ctl_server_t *srv = c->srv;
    for (ctl_client_t **p = &srv->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    srv->nclients--;
    uv_close((uv_handle_t *)&c->timer, on_client_closed);
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static ctl_client_t *client_find(ctl_server_t *srv, uint64_t id)
{
    for (ctl_client_t *c = srv->clients; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void on_written(uv_write_t *wr, int status)
{
    ctl_client_t *c = wr->data;
    act_free(c->answer);
    c->answer = NULL;
    if (c->stop_after) {
        dyn__node_report("stop requested through the control socket");
        act_system_request_stop(ACT_NODE_EXIT_OK);
    }
    if (status < 0 || !c->keep_open)
        client_close(c);
}

/* Writes text (taken) to c, then closes c unless keep_open. */
static void client_answer(ctl_client_t *c, char *text)
{
    if (c->closing || c->answer) {
        act_free(text);
        return;
    }
    c->answer = text;
    c->wr.data = c;
    uv_buf_t b = uv_buf_init(text, (unsigned)strlen(text));
    if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
        act_free(c->answer);
        c->answer = NULL;
        client_close(c);
    }
}

static void on_read_timeout(uv_timer_t *t)
{
    ctl_client_t *c = t->data;
    if (!c->busy)
        client_close(c); /* a client that never finished its line */
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    ctl_client_t *c = h->data;
    *buf = uv_buf_init(c->line + c->len, (unsigned)(CTL_LINE_MAX - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    ctl_client_t *c = s->data;
    if (n < 0) {
        /* The peer went (or an error): if a fiber is answering, its answer is dropped. */
        client_close(c);
        return;
    }
    c->len += (size_t)n;
    c->line[c->len] = '\0';
    char *nl = memchr(c->line, '\n', c->len);
    if (!nl) {
        if (c->len == CTL_LINE_MAX) {
            uv_read_stop(s);
            client_answer(c, act_strdup("error: request line too long\n"));
        }
        return;
    }
    *nl = '\0';
    if (nl > c->line && nl[-1] == '\r')
        nl[-1] = '\0';
    uv_read_stop(s);
    uv_timer_stop(&c->timer);
    ctl_request_t *m = act_msg_new(ctl_request_t, CTL_REQUEST);
    m->id = c->id;
    c->busy = true;
    act_send(c->srv->self, &m->hdr);
}

static bool peer_allowed(uv_pipe_t *p)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)p, &fd) != 0)
        return false;
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return false;
    if (cred.uid == geteuid() || cred.uid == 0)
        return true;
    dyn__node_report("refused a control connection from uid %u (pid %d)", (unsigned)cred.uid,
                     (int)cred.pid);
    return false;
}

static void on_connection(uv_stream_t *s, int status)
{
    ctl_server_t *srv = s->data;
    if (status < 0)
        return;
    ctl_client_t *c = act_calloc(1, sizeof *c);
    if (!c)
        return; /* the connection waits in the backlog; the next one retries */
    c->srv = srv;
    c->id = ++srv->next_id;
    c->worker = ACT_PID_NONE;
    uv_pipe_init(s->loop, &c->pipe, 0);
    uv_timer_init(s->loop, &c->timer);
    c->pipe.data = c->timer.data = c;
    c->open = 2;
    srv->handles += 2;
    c->next = srv->clients;
    srv->clients = c;
    srv->nclients++;
    if (uv_accept(s, (uv_stream_t *)&c->pipe) != 0 || srv->nclients > CTL_CLIENTS_MAX ||
        !peer_allowed(&c->pipe)) {
        client_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_read_timeout, CTL_READ_MS, 0);
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void on_server_closed(uv_handle_t *h)
{
    server_release(h->data);
}

/* ---- the socket ----------------------------------------------------------------------------- */

/* A socket file left by a node that died is removed; one a live node listens on is not. */
static int clear_stale(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    if (rc == 0)
        return -EADDRINUSE;
    if (err != ECONNREFUSED)
        return -err;
    return unlink(path) == 0 ? 0 : -errno;
}

static int listen_on(ctl_server_t *srv, const char *path)
{
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof srv->path)
        return -ENAMETOOLONG;
    memcpy(srv->path, path, len + 1);
    int rc = clear_stale(path);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, len + 1);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    srv->bound = true;
    if (chmod(path, S_IRUSR | S_IWUSR) != 0 || listen(fd, 16) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if ((rc = uv_pipe_open(&srv->pipe, fd)) != 0) {
        close(fd);
        return rc;
    }
    return uv_listen((uv_stream_t *)&srv->pipe, 16, on_connection);
}

/* ---- the actor ------------------------------------------------------------------------------ */

typedef struct ctl_state {
    ctl_server_t *srv;
} ctl_state_t;

static int ctl_init(void *state, void *arg)
{
    ctl_state_t *st = state;
    const char *path = arg;
    signal(SIGPIPE, SIG_IGN); /* a client that leaves mid-answer: the write fails, no signal */
    ctl_server_t *srv = act_calloc(1, sizeof *srv);
    if (!srv)
        return ACT_ENOMEM;
    srv->self = act_self();
    uv_pipe_init(act_loop(), &srv->pipe, 0);
    srv->pipe.data = srv;
    srv->handles = 1;
    int rc = listen_on(srv, path);
    if (rc) {
        if (rc == -EADDRINUSE)
            dyn__node_report("control socket %s: another node listens on it", path);
        else
            dyn__node_report("control socket %s: %s", path, dyn_strerror(rc));
        if (srv->bound)
            unlink(srv->path);
        uv_close((uv_handle_t *)&srv->pipe, on_server_closed);
        return rc;
    }
    st->srv = srv;
    act_register("dynamo.control", srv->self);
    return 0;
}

static void ctl_terminate(void *state, int reason)
{
    (void)reason;
    ctl_state_t *st = state;
    ctl_server_t *srv = st->srv;
    if (!srv)
        return;
    while (srv->clients)
        client_close(srv->clients);
    if (srv->bound)
        unlink(srv->path);
    uv_close((uv_handle_t *)&srv->pipe, on_server_closed);
    st->srv = NULL;
}

static void worker(void *arg);

static void start_worker(ctl_server_t *srv, uint64_t id)
{
    ctl_client_t *c = client_find(srv, id);
    if (!c)
        return;
    ctl_job_t *job = act_malloc(sizeof *job);
    if (!job) {
        client_answer(c, act_strdup("error: out of memory\n"));
        return;
    }
    job->server = srv->self;
    job->id = id;
    memcpy(job->line, c->line, sizeof job->line);
    act_ref_t ref;
    act_pid_t pid;
    if (act_spawn(&(act_spawn_opts_t){.fiber = worker, .arg = job, .monitor = &ref}, &pid) != 0) {
        act_free(job);
        client_answer(c, act_strdup("error: cannot start the command\n"));
        return;
    }
    c->worker = pid;
}

static int ctl_handle(void *state, act_msg_t *msg)
{
    ctl_state_t *st = state;
    ctl_server_t *srv = st->srv;
    if (msg->type == CTL_REQUEST) {
        start_worker(srv, ((ctl_request_t *)msg)->id);
    } else if (msg->type == CTL_ANSWER) {
        ctl_answer_t *a = (ctl_answer_t *)msg;
        ctl_client_t *c = client_find(srv, a->id);
        if (!c) {
            act_free(a->text); /* the client went */
            return 0;
        }
        c->worker = ACT_PID_NONE;
        c->keep_open = c->stop_after = a->stop;
        client_answer(c, a->text);
    } else if (msg->type == ACT_MSG_DOWN) {
        act_down_t *d = (act_down_t *)msg;
        for (ctl_client_t *c = srv->clients; c; c = c->next) {
            if (c->worker == d->pid && d->reason != ACT_NORMAL) {
                char line[600];
                snprintf(line, sizeof line, "error: the command failed: %s%s%s\n",
                         act_reason_str(d->reason), d->text[0] ? ": " : "", d->text);
                c->worker = ACT_PID_NONE;
                client_answer(c, act_strdup(line));
                break;
            }
        }
    }
    return 0;
}

static const act_behaviour_t ctl_behaviour = {
    .name = "dynamo.control",
    .init = ctl_init,
    .handle = ctl_handle,
    .terminate = ctl_terminate,
};

/* ---- the commands (in the worker fiber) ------------------------------------------------------ */

static void worker(void *arg)
{
    ctl_job_t *job = arg;
    act_pid_t server = job->server;
    uint64_t id = job->id;
    bool stop = false;
    char *text = dyn__node_command(job->line, &stop);
    act_free(job);
    ctl_answer_t *a = act_msg_new(ctl_answer_t, CTL_ANSWER);
    a->id = id;
    a->text = text;
    a->stop = stop;
    if (act_send(server, &a->hdr) != 0)
        act_free(text);
}

/* ---- the application ------------------------------------------------------------------------ */

static int ctl_child_start(const act_child_start_t *cs, act_pid_t *out)
{
    act_spawn_opts_t o = {
        .behaviour = &ctl_behaviour,
        .arg = cs->arg,
        .state_size = sizeof(ctl_state_t),
        .sched = ACT_SCHED_ON(0),
    };
    return act_start_link(&o, 5000, out);
}

static int app_start(const act_app_t *app, act_pid_t *top)
{
    const char *path = act_app_env_get(app->name, "control");
    const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("control", ctl_child_start, (void *)path), .shutdown = 5000},
    };
    const act_sup_spec_t spec = {
        .name = "dynamo_sup",
        .strategy = ACT_ONE_FOR_ONE,
        .children = kids,
        .nchildren = path && path[0] ? 1 : 0,
    };
    return act_sup_start_link(&spec, top);
}

const act_app_t dyn_app = {
    .name = "dynamo",
    .version = DYN_VERSION,
    .start = app_start,
};
