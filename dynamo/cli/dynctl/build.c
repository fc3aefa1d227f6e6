/*
 * Building a project (dynctl.h): which framework it builds against, and the cmake runs.
 *
 * The framework is the one dynctl belongs to: an installed dynctl (<prefix>/bin) finds the
 * package config beside it (<prefix>/<libdir>/cmake/dynamo), a dynctl of a build tree finds
 * that tree's (the build writes its path in); dynamo_DIR in the environment overrides both.
 * Each environment builds in _build/<env>, configured once with DYNAMO_ENV=<env> (dev: web/ as
 * a reloadable module; test and prod: linked), with the compiler the framework was built with,
 * Debug for dev and test (fast rebuilds) and RelWithDebInfo for prod; the tests are built in
 * the test environment only. cmake's own checks rebuild what changed; a second run costs the
 * time ninja takes to see that nothing did.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dynctl.h"

#ifndef DYNCTL_BUILD_TREE
#define DYNCTL_BUILD_TREE ""
#endif
#ifndef DYNCTL_REL_CMAKEDIR
#define DYNCTL_REL_CMAKEDIR "../lib/cmake/dynamo"
#endif
#ifndef DYNCTL_C_COMPILER
#define DYNCTL_C_COMPILER ""
#endif

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

const char *dynctl_framework_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("dynamo_DIR");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char cfg[PATH_MAX + 64];
            snprintf(cfg, sizeof cfg, "%s/%s/dynamoConfig.cmake", exe, DYNCTL_REL_CMAKEDIR);
            if (exists(cfg) && realpath(cfg, dir)) {
                *strrchr(dir, '/') = '\0';
                return dir;
            }
        }
    }
    char cfg[PATH_MAX + 32];
    snprintf(cfg, sizeof cfg, "%s/dynamoConfig.cmake", DYNCTL_BUILD_TREE);
    if (DYNCTL_BUILD_TREE[0] && exists(cfg))
        return DYNCTL_BUILD_TREE;
    return NULL;
}

int dynctl_run(char *const argv[], int fd)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        execvp(argv[0], argv);
        fprintf(stderr, "dynctl: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st) == 127 ? -1 : WEXITSTATUS(st);
}

/* Shows the build's log on stderr. */
static void show_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(f);
}

static int read_program(const dynctl_project_t *p, char *program, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/dynamo-node.txt", p->build);
    FILE *f = fopen(path, "r");
    if (!f)
        return dynctl_fail(DYNCTL_EXIT_BUILD, "%s: %s (does CMakeLists.txt call dynamo_add_web?)",
                           path, strerror(errno));
    char line[4200];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "program=", 8) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(program, len, "%s", line + 8);
            found = true;
        }
    }
    fclose(f);
    if (!found || !exists(program))
        return dynctl_fail(DYNCTL_EXIT_BUILD, "the build made no program (%s names none)", path);
    return 0;
}

int dynctl_build(const dynctl_project_t *p, bool tests, char *program, size_t len)
{
    const char *fw = dynctl_framework_dir();
    if (!fw)
        return dynctl_fail(DYNCTL_EXIT_BUILD,
                           "cannot find the Dynamo framework: install it (cmake --install) or "
                           "set dynamo_DIR to its package directory");
    if (mkdir("_build", 0755) != 0 && errno != EEXIST)
        return dynctl_fail(DYNCTL_EXIT_DENIED, "cannot create _build: %s", strerror(errno));
    if (mkdir(p->build, 0755) != 0 && errno != EEXIST)
        return dynctl_fail(DYNCTL_EXIT_DENIED, "cannot create %s: %s", p->build, strerror(errno));
    char logpath[600];
    snprintf(logpath, sizeof logpath, "%s/dynctl-build.log", p->build);
    int log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0)
        return dynctl_fail(DYNCTL_EXIT_FAILED, "%s: %s", logpath, strerror(errno));

    int64_t t0 = dynctl_now_ms();
    char cache[600];
    snprintf(cache, sizeof cache, "%s/CMakeCache.txt", p->build);
    int rc = 0;
    if (!exists(cache)) {
        char def_env[64], def_dir[PATH_MAX + 16], def_cc[PATH_MAX + 32], def_type[64],
            def_tests[32];
        snprintf(def_env, sizeof def_env, "-DDYNAMO_ENV=%s", p->env);
        snprintf(def_dir, sizeof def_dir, "-Ddynamo_DIR=%s", fw);
        snprintf(def_type, sizeof def_type, "-DCMAKE_BUILD_TYPE=%s",
                 strcmp(p->env, "prod") == 0 ? "RelWithDebInfo" : "Debug");
        snprintf(def_tests, sizeof def_tests, "-DBUILD_TESTING=%s", tests ? "ON" : "OFF");
        char *argv[16] = {"cmake", "-S",    ".",     "-B",     (char *)p->build, "-G",
                          "Ninja", def_env, def_dir, def_type, def_tests};
        int k = 11;
        if (DYNCTL_C_COMPILER[0] && exists(DYNCTL_C_COMPILER)) {
            snprintf(def_cc, sizeof def_cc, "-DCMAKE_C_COMPILER=%s", DYNCTL_C_COMPILER);
            argv[k++] = def_cc;
        }
        argv[k] = NULL;
        rc = dynctl_run(argv, log);
    }
    if (rc == 0) {
        char *argv[] = {"cmake", "--build", (char *)p->build, NULL};
        rc = dynctl_run(argv, log);
    }
    close(log);
    if (rc != 0) {
        show_log(logpath);
        if (rc < 0)
            return dynctl_fail(DYNCTL_EXIT_BUILD, "cannot run cmake: is it installed?");
        return dynctl_fail(DYNCTL_EXIT_BUILD,
                           "the build of %s (%s) failed: the errors are above, and in %s/%s",
                           p->name, p->env, p->root, logpath);
    }
    dynctl_note("built %s (%s) in %.1f s", p->name, p->env,
                (double)(dynctl_now_ms() - t0) / 1000.0);
    return program ? read_program(p, program, len) : 0;
}
