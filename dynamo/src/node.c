/*
 * The node (node.h): the command line, the environment, act_node_run, and the answers of the
 * control commands.
 *
 * The node's identity (application, environment, name, start time) is written once by
 * dyn_node_main before the runtime starts and only read afterwards; `ready` flips once, when the
 * application runs, and is read by control fibers on any scheduler.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node_int.h"
#include "pipeline_int.h"

/* The environment the program was built for: defined by the source dynamo_add_web generates
 * for the program (cmake/DynamoWeb.cmake); absent in programs built otherwise. */
extern const char dyn__build_env[] __attribute__((weak));

static struct {
    const act_app_t *app;
    dyn_env_t env;
    const char *name; /* the node's name (dynctl's --node), or "" */
    int64_t started_ms;
    bool managed;       /* dyn_node_main runs the node (else: the application's own main) */
    _Atomic bool ready; /* dyn_node_main's application runs */
} self = {.name = ""};

void dyn__node_report(const char *fmt, ...)
{
    char line[600] = "[dynamo] ";
    size_t n = strlen(line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    act_report_log("dynamo", line);
}

/* ---- the command line ------------------------------------------------------------------------ */

typedef struct opts {
    const char *env;
    const char *host;
    const char *control;
    bool port_set;
    uint16_t port;
    unsigned schedulers;
} opts_t;

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--env dev|test|prod] [--port N] [--host ADDR] [--schedulers N]\n"
            "       %*s [--control PATH]\n"
            "Runs the application until SIGTERM or SIGINT (or `dynctl stop`).\n"
            "  --env E         the environment (else DYNAMO_ENV, else the build's: %s)\n"
            "  --port N        the Dynamo's port (else PORT, else the environment's)\n"
            "  --host ADDR     the address to bind (else DYNAMO_HOST, else the environment's)\n"
            "  --schedulers N  scheduler threads (else ACT_SCHEDULERS, else one per core)\n"
            "  --control PATH  serve dynctl on this unix socket (else DYNAMO_CONTROL)\n"
            "Environment: SECRET_KEY_BASE (required in prod), DYNAMO_LOG_LEVEL.\n",
            prog, (int)strlen(prog), "", dyn__build_env ? dyn__build_env : "dev");
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* Returns 0, or an exit status. */
static int parse_args(const char *prog, int argc, char **argv, opts_t *o)
{
    for (int i = 1; i < argc; i += 2) { /* each option takes a value */
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, prog);
            return -1;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n;
        if (!v) {
            fprintf(stderr, "%s: %s: missing value (see --help)\n", prog, a);
            return DYN_NODE_EXIT_USAGE;
        }
        if (strcmp(a, "--env") == 0) {
            o->env = v;
        } else if (strcmp(a, "--host") == 0) {
            o->host = v;
        } else if (strcmp(a, "--control") == 0) {
            o->control = v;
        } else if (strcmp(a, "--port") == 0) {
            if (!parse_uint(v, 65535, &n)) {
                fprintf(stderr, "%s: --port %s: not a port number (0 to 65535)\n", prog, v);
                return DYN_NODE_EXIT_USAGE;
            }
            o->port_set = true;
            o->port = (uint16_t)n;
        } else if (strcmp(a, "--schedulers") == 0) {
            if (!parse_uint(v, 1024, &n) || n == 0) {
                fprintf(stderr, "%s: --schedulers %s: not a number from 1 to 1024\n", prog, v);
                return DYN_NODE_EXIT_USAGE;
            }
            o->schedulers = (unsigned)n;
        } else {
            fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, a);
            return DYN_NODE_EXIT_USAGE;
        }
    }
    return 0;
}

/* ---- start and stop -------------------------------------------------------------------------- */

static int print_serving(const dyn_info_t *info, void *arg)
{
    (void)arg;
    printf("%s: serving on http://%s:%u (%s)\n", info->name, info->host, info->port,
           dyn_env_name(info->env));
    return 0;
}

static void started(void *arg)
{
    (void)arg;
    /* The control server starts here when the application does not depend on it. */
    int rc = act_app_start(dyn_app.name, NULL);
    if (rc && rc != ACT_EAPPSTARTED)
        dyn__node_report("the control server did not start: %s", dyn_strerror(rc));
    atomic_store_explicit(&self.ready, true, memory_order_release);
    dyn_each(print_serving, NULL);
    fflush(stdout);
}

/* Whether the Dynamo's port is taken now (after a failed start: the likely reason). */
static bool port_taken(const dyn_dynamo_t *d)
{
    if (!d || d->port == 0)
        return false;
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    const char *host = d->host ? d->host : "127.0.0.1";
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(d->port);
        len = sizeof *in;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(d->port);
        len = sizeof *in6;
    } else {
        return false;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool taken = bind(fd, (struct sockaddr *)&ss, len) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

int dyn_node_main(const dyn_node_t *node, int argc, char **argv)
{
    if (!node || !node->app || !node->app->name) {
        fprintf(stderr, "dyn_node_main: no application\n");
        return DYN_NODE_EXIT_USAGE;
    }
    const char *prog = node->app->name;
    opts_t o = {0};
    int rc = parse_args(prog, argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;

    const char *env_name = o.env                                           ? o.env
                           : getenv("DYNAMO_ENV") && *getenv("DYNAMO_ENV") ? getenv("DYNAMO_ENV")
                           : dyn__build_env                                ? dyn__build_env
                                                                           : "dev";
    dyn_env_t env;
    if (dyn_env_parse(env_name, &env) != 0) {
        fprintf(stderr, "%s: unknown environment \"%s\" (dev, test or prod)%s\n", prog, env_name,
                o.env ? "" : " in DYNAMO_ENV");
        return DYN_NODE_EXIT_USAGE;
    }
    const dyn_config_t *cfg = env == DYN_ENV_PROD   ? node->prod
                              : env == DYN_ENV_TEST ? node->test
                                                    : node->dev;
    if (node->dynamo) {
        char err[512];
        if (dyn_config_apply(node->dynamo, env, cfg, o.port_set, o.port, o.host, err, sizeof err) !=
            0) {
            fprintf(stderr, "%s: cannot start in %s: %s\n", prog, dyn_env_name(env), err);
            return DYN_NODE_EXIT_CONFIG;
        }
    }

    /* The applications' environments: the framework's (the control socket, the node's name),
     * then this environment's settings of the application. */
    const char *control = o.control ? o.control : getenv("DYNAMO_CONTROL");
    size_t n = 3;
    for (const act_app_env_t *e = cfg ? cfg->app_env : NULL; e && e->key; e++)
        n++;
    act_app_config_t *config = calloc(n, sizeof *config);
    if (!config) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return ACT_NODE_EXIT_START_FAILED;
    }
    size_t k = 0;
    if (control && *control)
        config[k++] = (act_app_config_t){dyn_app.name, "control", control};
    const char *name = getenv("DYNAMO_NODE");
    if (name && *name)
        config[k++] = (act_app_config_t){dyn_app.name, "node", name};
    for (const act_app_env_t *e = cfg ? cfg->app_env : NULL; e && e->key; e++)
        config[k++] = (act_app_config_t){node->app->name, e->key, e->value};

    self.app = node->app;
    self.env = env;
    self.name = name ? name : "";
    self.managed = true;
    atomic_store(&self.ready, false);
    signal(SIGPIPE, SIG_IGN); /* a control client that goes away mid-answer */

    static const act_app_t *const apps[] = {&dyn_app, NULL};
    act_node_opts_t no = {
        .system = {.schedulers = o.schedulers},
        .apps = apps,
        .config = config,
        .started = started,
    };
    self.started_ms = act_now_ms();
    rc = act_node_run(node->app, &no);
    free(config);
    if (rc == ACT_NODE_EXIT_START_FAILED && port_taken(node->dynamo)) {
        fprintf(stderr,
                "%s: port %u on %s is taken (another program listens there): stop it, or "
                "choose another port with --port N or PORT=N\n",
                prog, node->dynamo->port, node->dynamo->host ? node->dynamo->host : "127.0.0.1");
        return DYN_NODE_EXIT_PORT_TAKEN;
    }
    return rc;
}

/* ---- the control commands ------------------------------------------------------------------ */

static char *dup_buf(dyn_buf_t *b, dyn_arena_t *a)
{
    char *s = b->failed ? NULL : act_strdup(b->data);
    dyn_arena_free(a);
    if (!s)
        act_fatal("control: out of memory");
    return s;
}

static int info_line(const dyn_info_t *info, void *arg)
{
    dyn_buf_printf(arg, "dynamo=%s http://%s:%u\n", info->name, info->host, info->port);
    return 0;
}

static void node_line(dyn_buf_t *b)
{
    const act_app_t *app = self.app;
    int64_t up = self.managed ? act_now_ms() - self.started_ms : 0;
    dyn_buf_printf(b, "node %s%s%s%s %s, env %s, pid %d, up %lldh%02lldm%02llds\n",
                   app ? app->name : "?", self.name[0] ? " (" : "", self.name,
                   self.name[0] ? ")" : "", app && app->version ? app->version : "",
                   dyn_env_name(self.env), (int)getpid(), (long long)(up / 3600000),
                   (long long)(up / 60000 % 60), (long long)(up / 1000 % 60));
}

typedef struct walk_ctx {
    dyn_buf_t *b;
    unsigned indent;
} walk_ctx_t;

/* Finds the Dynamo whose supervisor is `sup`. */
typedef struct find_sup {
    act_pid_t sup;
    char name[ACT_NAME_MAX + 1];
} find_sup_t;

static int dynamo_of_sup(const dyn_info_t *info, void *arg)
{
    find_sup_t *f = arg;
    if (info->sup != f->sup)
        return 0;
    snprintf(f->name, sizeof f->name, "%s", info->name);
    return 1;
}

static int tree_line(const act_sup_node_t *n, void *arg)
{
    walk_ctx_t *w = arg;
    char ps[ACT_PID_STRLEN];
    dyn_buf_printf(w->b, "%*s%s %s %s", (int)(w->indent + 2 * n->depth), "", n->id,
                   n->pid ? act_pid_str(n->pid, ps) : "-", act_child_type_str(n->type));
    if (n->type == ACT_SUPERVISOR)
        dyn_buf_printf(w->b, " %s", act_strategy_str(n->strategy));
    if (n->depth > 0)
        dyn_buf_printf(w->b, " %s", act_restart_str(n->restart));
    dyn_buf_printf(w->b, " restarts=%u mailbox=%zu", n->restarts, n->mailbox_len);
    if (n->restarting)
        dyn_buf_puts(w->b, " restarting");
    if (n->suspended)
        dyn_buf_puts(w->b, " suspended");
    if (n->summary && n->summary[0])
        dyn_buf_printf(w->b, " state=\"%s\"", n->summary);
    find_sup_t f = {.sup = n->pid};
    if (n->type == ACT_SUPERVISOR && n->pid && dyn_each(dynamo_of_sup, &f) == 1)
        dyn_buf_printf(w->b, " (the Dynamo %s)", f.name);
    dyn_buf_puts(w->b, "\n");
    return 0;
}

static int dynamo_status(const dyn_info_t *info, void *arg)
{
    dyn_buf_t *b = arg;
    dyn_buf_printf(b,
                   "dynamo %s http://%s:%u env=%s routes=%zu requests=%llu crashes=%llu "
                   "connections=%u",
                   info->name, info->host, info->port, dyn_env_name(info->env), info->routes,
                   (unsigned long long)info->requests, (unsigned long long)info->crashes,
                   info->connections);
    dyn_reload_info_t r;
    if (dyn_reload_info(info->name, &r) == 0 && r.module)
        dyn_buf_printf(b, " web=module version=%llu builds=%llu failures=%llu%s%s",
                       (unsigned long long)r.version, (unsigned long long)r.builds,
                       (unsigned long long)r.failures, r.watching ? " watching" : "",
                       r.failed ? " build-failed" : "");
    dyn_buf_puts(b, "\n");
    return 0;
}

int dyn_node_status(int64_t sample_ms, char **text)
{
    unsigned ns = act_sched_count();
    if (!ns || !text)
        return ns ? ACT_EBADARG : ACT_ENOTRUNNING;
    act_sched_time_t *t0 = act_calloc(ns, sizeof *t0);
    dyn_arena_t *a = dyn_arena_new();
    if (!t0 || !a) {
        act_free(t0);
        dyn_arena_free(a);
        return ACT_ENOMEM;
    }
    for (unsigned i = 0; i < ns; i++)
        act_sched_time(i, &t0[i]);
    if (sample_ms > 0)
        act_sleep(sample_ms);
    dyn_buf_t b;
    dyn_buf_init(&b, a, 4096);
    node_line(&b);
    dyn_buf_printf(&b, "schedulers %u, utilisation", ns);
    if (sample_ms > 0)
        dyn_buf_printf(&b, " over %lld ms:", (long long)sample_ms);
    for (unsigned i = 0; i < ns; i++) {
        act_sched_time_t t1;
        if (act_sched_time(i, &t1) != 0)
            continue;
        act_sched_time_t *from = sample_ms > 0 ? &t0[i] : &(act_sched_time_t){0};
        uint64_t wall = t1.wall_ns - from->wall_ns, idle = t1.idle_ns - from->idle_ns;
        double busy =
            wall ? 100.0 * (double)(wall - (idle < wall ? idle : wall)) / (double)wall : 0.0;
        dyn_buf_printf(&b, " %.0f%%", busy);
    }
    act_free(t0);
    dyn_buf_printf(&b, "; %llu actors\n", (unsigned long long)act_actor_count());

    act_app_info_t *apps;
    size_t napps;
    int rc = act_app_which(&apps, &napps);
    for (size_t i = 0; rc == 0 && i < napps; i++) {
        dyn_buf_printf(&b, "application %s %s %s\n", apps[i].name,
                       apps[i].version ? apps[i].version : "-", act_app_type_str(apps[i].type));
        walk_ctx_t w = {&b, 2};
        if (apps[i].top)
            act_sup_walk(apps[i].top, tree_line, &w);
    }
    if (rc == 0)
        act_free(apps);
    dyn_each(dynamo_status, &b);
    if (b.failed) {
        dyn_arena_free(a);
        return ACT_ENOMEM;
    }
    *text = dup_buf(&b, a);
    return 0;
}

typedef struct names {
    char name[16][ACT_NAME_MAX + 1];
    unsigned n;
} names_t;

static int collect_name(const dyn_info_t *info, void *arg)
{
    names_t *ns = arg;
    if (ns->n < 16)
        snprintf(ns->name[ns->n++], sizeof ns->name[0], "%s", info->name);
    return 0;
}

static void routes(dyn_buf_t *b)
{
    names_t ns = {.n = 0};
    dyn_each(collect_name, &ns);
    for (unsigned i = 0; i < ns.n; i++) {
        dyn_info_t info;
        char *text = NULL;
        if (dyn_info(ns.name[i], &info) != 0)
            continue;
        dyn_buf_printf(b, "%s# %s http://%s:%u\n", i ? "\n" : "", info.name, info.host, info.port);
        int rc = dyn_routes_text(ns.name[i], &text);
        if (rc == 0)
            dyn_buf_puts(b, text);
        else
            dyn_buf_printf(b, "(no routes: %s)\n", dyn_strerror(rc));
        act_free(text);
    }
    if (ns.n == 0)
        dyn_buf_puts(b, "(no Dynamo runs)\n");
}

char *dyn__node_command(const char *line, bool *stop)
{
    dyn_arena_t *a = dyn_arena_new();
    if (!a)
        act_fatal("control: out of memory");
    dyn_buf_t b;
    dyn_buf_init(&b, a, 1024);
    *stop = false;
    /* Without dyn_node_main, the control server runs once the program started it. */
    bool ready = !self.managed || atomic_load_explicit(&self.ready, memory_order_acquire);
    if (strcmp(line, "ping") == 0) {
        dyn_buf_puts(&b, ready ? "ok\npong\n" : "ok\nstarting\n");
    } else if (strcmp(line, "info") == 0) {
        dyn_buf_printf(&b,
                       "ok\npid=%d\napp=%s\nversion=%s\nenv=%s\nnode=%s\nuptime_ms=%lld\n"
                       "ready=%d\n",
                       (int)getpid(), self.app ? self.app->name : "",
                       self.app && self.app->version ? self.app->version : "",
                       dyn_env_name(self.env), self.name,
                       (long long)(act_now_ms() - self.started_ms), ready);
        dyn_each(info_line, &b);
    } else if (strcmp(line, "status") == 0) {
        char *text = NULL;
        int rc = dyn_node_status(250, &text);
        if (rc)
            dyn_buf_printf(&b, "error: %s\n", dyn_strerror(rc));
        else
            dyn_buf_printf(&b, "ok\n%s", text);
        act_free(text);
    } else if (strcmp(line, "routes") == 0) {
        dyn_buf_puts(&b, "ok\n");
        routes(&b);
    } else if (strcmp(line, "stop") == 0) {
        dyn_buf_puts(&b, "ok\nstopping\n");
        *stop = true;
    } else {
        dyn_buf_puts(&b, "error: unknown command \"");
        dyn__log_text(&b, line);
        dyn_buf_puts(&b, "\" (ping, info, status, routes or stop)\n");
    }
    return dup_buf(&b, a);
}
