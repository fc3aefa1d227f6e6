/*
 * A project's root, its nodes and their files (dynctl.h).
 *
 * Is a node running? Three files answer, each able to lie alone: the lock (held by the node's
 * heart for its life: released by the kernel whatever kills the heart), the pid file (written
 * by the heart for each incarnation of the node, removed after it), and the control socket
 * (answered by the node itself). A pid file whose process is gone is stale: it is removed,
 * with a note, by whoever finds it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynctl.h"

static bool valid_node_name(const char *s)
{
    if (!s[0] || strlen(s) > 40)
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.'))
            return false;
    return s[0] != '.';
}

/* Whether the project's CMakeLists.txt calls dynamo_add_web. */
static bool is_dynamo_project(void)
{
    FILE *f = fopen("CMakeLists.txt", "r");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        const char *hash = strchr(line, '#');
        const char *at = strstr(line, "dynamo_add_web(");
        found = at && (!hash || at < hash);
    }
    fclose(f);
    return found;
}

static const char *default_env(const char *env)
{
    if (env)
        return env;
    const char *e = getenv("DYNAMO_ENV");
    return e && *e ? e : "dev";
}

/* The static name of environment e, or NULL. */
static const char *env_const(const char *e)
{
    static const char *const envs[] = {"dev", "test", "prod"};
    for (size_t i = 0; e && i < 3; i++)
        if (strcmp(e, envs[i]) == 0)
            return envs[i];
    return NULL;
}

static int check_env(const char *env)
{
    if (!env_const(env))
        return dynctl_fail(DYNCTL_EXIT_USAGE, "unknown environment \"%s\" (dev, test or prod)",
                           env);
    return 0;
}

static void fill(dynctl_project_t *p, const char *env, const char *node)
{
    p->env = env;
    snprintf(p->node, sizeof p->node, "%.40s", node ? node : env);
    snprintf(p->sock, sizeof p->sock, "_build/run/%s.sock", p->node);
    snprintf(p->pidfile, sizeof p->pidfile, "_build/run/%s.pid", p->node);
    snprintf(p->lockfile, sizeof p->lockfile, "_build/run/%s.lock", p->node);
    snprintf(p->logfile, sizeof p->logfile, "_build/log/%s.log", p->node);
    snprintf(p->build, sizeof p->build, "_build/%s", env);
}

static int enter(const char *path, dynctl_project_t *p)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == EACCES
                   ? dynctl_fail(DYNCTL_EXIT_DENIED, "permission denied: cannot reach %s", path)
                   : dynctl_fail(DYNCTL_EXIT_NO_PROJECT, "no such project: %s: %s", path,
                                 strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return dynctl_fail(DYNCTL_EXIT_NO_PROJECT, "no such project: %s is not a directory", path);
    if (chdir(path) != 0)
        return errno == EACCES
                   ? dynctl_fail(DYNCTL_EXIT_DENIED, "permission denied: cannot enter %s", path)
                   : dynctl_fail(DYNCTL_EXIT_NO_PROJECT, "cannot enter %s: %s", path,
                                 strerror(errno));
    if (!getcwd(p->root, sizeof p->root))
        return dynctl_fail(DYNCTL_EXIT_FAILED, "%s: %s", path, strerror(errno));
    if (!is_dynamo_project())
        return dynctl_fail(DYNCTL_EXIT_NO_PROJECT,
                           "no such project: %s has no CMakeLists.txt calling dynamo_add_web "
                           "(`dynctl new PATH` makes one)",
                           p->root);
    const char *slash = strrchr(p->root, '/');
    snprintf(p->name, sizeof p->name, "%.255s", slash && slash[1] ? slash + 1 : p->root);
    return 0;
}

int dynctl_project_open(const char *path, const char *env, const char *node, dynctl_project_t *p)
{
    memset(p, 0, sizeof *p);
    int rc = check_env(default_env(env));
    if (rc)
        return rc;
    env = env_const(default_env(env));
    if (node && !valid_node_name(node))
        return dynctl_fail(DYNCTL_EXIT_USAGE,
                           "bad node name \"%s\" (letters, digits, '_', '-', '.'; 40 at most)",
                           node);
    if ((rc = enter(path, p)))
        return rc;
    fill(p, env, node);
    return 0;
}

/* The environment a running node was started in, from its socket's neighbours: the heart
 * writes "<pid> <env>" into the lock file. */
static const char *node_env(const char *node, char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "_build/run/%s.lock", node);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    long pid;
    char env[16];
    int n = fscanf(f, "%ld %15s", &pid, env);
    fclose(f);
    if (n != 2)
        return NULL;
    snprintf(buf, len, "%s", env);
    return buf;
}

int dynctl_project_running(const char *path, const char *env, const char *node, dynctl_project_t *p)
{
    if (node || env)
        return dynctl_project_open(path, env, node, p);
    int rc = dynctl_project_open(path, NULL, NULL, p);
    if (rc)
        return rc;
    /* Without --node or --env: the node that runs, whichever it is. */
    DIR *d = opendir("_build/run");
    char found[8][64];
    unsigned n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".sock") != 0 || len - 5 >= sizeof found[0])
            continue;
        /* A socket a killed node left behind does not count: its heart must hold the lock,
         * or the node must answer (one started by hand, without a heart). */
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len - 5), e->d_name);
        dynctl_project_t q = *p;
        fill(&q, p->env, name);
        int fd = dynctl_heart_pid(&q) ? -1 : dynctl_connect(&q, "ping");
        if (fd >= 0)
            close(fd);
        if (n < 8 && (fd >= 0 || dynctl_heart_pid(&q)))
            snprintf(found[n++], sizeof found[0], "%s", q.node);
    }
    if (d)
        closedir(d);
    if (n == 0)
        return 0; /* the default node: the command finds it is not running */
    if (n > 1) {
        char list[600] = "";
        for (unsigned i = 0; i < n; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     found[i]);
        return dynctl_fail(DYNCTL_EXIT_USAGE,
                           "several nodes of %s run (%s): choose one with --node NAME", p->name,
                           list);
    }
    char envbuf[16];
    const char *e = node_env(found[0], envbuf, sizeof envbuf);
    fill(p, env_const(e) ? env_const(e) : p->env, found[0]);
    return 0;
}

int dynctl_project_dirs(const dynctl_project_t *p)
{
    (void)p;
    const char *dirs[] = {"_build", "_build/run", "_build/log"};
    for (size_t i = 0; i < 3; i++) {
        if (mkdir(dirs[i], i == 1 ? 0700 : 0755) != 0 && errno != EEXIST)
            return dynctl_fail(errno == EACCES ? DYNCTL_EXIT_DENIED : DYNCTL_EXIT_FAILED,
                               "cannot create %s: %s", dirs[i], strerror(errno));
    }
    /* The run directory holds the control sockets: nobody else may even look in. */
    struct stat st;
    if (stat("_build/run", &st) != 0)
        return dynctl_fail(DYNCTL_EXIT_FAILED, "_build/run: %s", strerror(errno));
    if (st.st_uid != geteuid())
        return dynctl_fail(DYNCTL_EXIT_DENIED, "_build/run belongs to another user (uid %u)",
                           (unsigned)st.st_uid);
    if ((st.st_mode & 0777) != 0700 && chmod("_build/run", 0700) != 0)
        return dynctl_fail(DYNCTL_EXIT_DENIED, "cannot make _build/run private: %s",
                           strerror(errno));
    return 0;
}

bool dynctl_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

pid_t dynctl_node_pid(const dynctl_project_t *p, pid_t *stale)
{
    if (stale)
        *stale = 0;
    FILE *f = fopen(p->pidfile, "r");
    if (!f)
        return 0;
    long pid = 0;
    int n = fscanf(f, "%ld", &pid);
    fclose(f);
    if (n == 1 && pid > 0 && pid <= INT_MAX && dynctl_alive((pid_t)pid))
        return (pid_t)pid;
    /* Whoever wrote it is gone (a heart killed with its node, a crash of the machine). */
    if (unlink(p->pidfile) == 0 && stale)
        *stale = n == 1 && pid > 0 ? (pid_t)pid : -1;
    return 0;
}

pid_t dynctl_heart_pid(const dynctl_project_t *p)
{
    int fd = open(p->lockfile, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    pid_t pid = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        char buf[64] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n > 0)
            buf[n] = '\0';
        pid = (pid_t)atol(buf);
        if (pid <= 0)
            pid = -1; /* held, by a heart that has not written its pid yet */
    }
    close(fd);
    return pid;
}

int dynctl_lock(const dynctl_project_t *p, pid_t *holder)
{
    *holder = 0;
    int fd = open(p->lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        dynctl_fail(errno == EACCES ? DYNCTL_EXIT_DENIED : DYNCTL_EXIT_FAILED, "%s: %s",
                    p->lockfile, strerror(errno));
        return -2;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[64] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n > 0)
            buf[n] = '\0';
        *holder = (pid_t)atol(buf);
        close(fd);
        return -1;
    }
    char line[64];
    int n = snprintf(line, sizeof line, "%d %s\n", (int)getpid(), p->env);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        dynctl_fail(DYNCTL_EXIT_FAILED, "%s: %s", p->lockfile, strerror(errno));
        close(fd);
        return -2;
    }
    return fd;
}
