/*
 * dyn-eex: the template compiler the build runs (cmake/DynamoTemplates.cmake wires it; users
 * never call it by hand).
 *
 *     dyn-eex compile --set SET [--name NAME] [--include HEADER]... [--no-line] -o OUT.c FILE
 *     dyn-eex registry --set SET [--module] -o OUT.c NAME...
 *     dyn-eex check FILE...
 *
 * Errors go to stderr as `file:line:col: error: message` (the form compilers use, so editors
 * and IDEs jump to them) with exit status 1; usage errors exit with 2. Outputs are written to
 * a temporary file and renamed, and left alone when their content would not change, so an
 * interrupted build never leaves half a file and an unchanged output is not recompiled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eex.h"

#define MAX_INCLUDES 64

static const char *prog = "dyn-eex";

static int usage(FILE *f, int status)
{
    fprintf(f,
            "usage: %s compile --set SET [--name NAME] [--include HEADER]... [--no-line]\n"
            "                  -o OUT.c TEMPLATE\n"
            "       %s registry --set SET [--module] -o OUT.c NAME...\n"
            "       %s check TEMPLATE...\n"
            "\n"
            "Compiles EEx-style templates (docs/templates.md) into C functions.\n"
            "  compile   TEMPLATE (NAME: the name render() knows it by, default its file name\n"
            "            without .eex) into OUT.c, defining the function of NAME in set SET\n"
            "  registry  the table of set SET over the template NAMEs, registered at start-up\n"
            "            (--module: reached through a web module's descriptor instead)\n"
            "  check     parse TEMPLATEs and report their errors, writing nothing\n",
            prog, prog, prog);
    return status;
}

static int read_file(const char *path, eex_buf_t *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: error: cannot open %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        eex_buf_put(b, chunk, n);
        if (b->len > EEX_MAX_INPUT)
            break; /* eex_compile reports the size */
    }
    int err = ferror(f);
    fclose(f);
    if (err || b->failed) {
        fprintf(stderr, "%s: error: cannot read %s\n", prog, path);
        return -1;
    }
    return 0;
}

/* Writes b to path unless the file already holds exactly that. */
static int write_file(const char *path, const eex_buf_t *b)
{
    eex_buf_t old = {0};
    FILE *f = fopen(path, "rb");
    if (f) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && old.len <= b->len)
            eex_buf_put(&old, chunk, n);
        fclose(f);
        bool same = !old.failed && old.len == b->len && !memcmp(old.data, b->data, b->len);
        eex_buf_free(&old);
        if (same)
            return 0;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return -1;
    }
    snprintf(tmp, plen + 32, "%s.%ld.tmp", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", prog, tmp, strerror(errno));
        if (f)
            unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", prog, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

static void report(const char *path, const eex_error_t *e)
{
    if (e->line)
        fprintf(stderr, "%s:%u:%u: error: %s\n", path, e->line, e->col, e->msg);
    else
        fprintf(stderr, "%s: error: %s\n", path, e->msg);
}

/* The default name of a template file: its base name without ".eex". */
static char *default_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".eex"))
        n -= 4;
    return strndup(base, n);
}

static int compile_one(const char *path, const char *set, const char *name,
                       const char *const *includes, size_t nincludes, bool no_line,
                       const char *out_path)
{
    eex_buf_t src = {0}, out = {0}, func = {0};
    int rc = 1;
    char *dname = name ? NULL : default_name(path);
    if (!name && !dname) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return 1;
    }
    if (read_file(path, &src))
        goto done;
    eex_func_name(&func, set, name ? name : dname);
    eex_opts_t o = {
        .path = path,
        .name = name ? name : dname,
        .func = func.data,
        .includes = includes,
        .nincludes = nincludes,
        .no_line = no_line,
    };
    eex_error_t e;
    if (func.failed || eex_compile(src.data ? src.data : "", src.len, &o, &out, &e)) {
        if (func.failed)
            snprintf(e.msg, sizeof e.msg, "out of memory");
        report(path, &e);
        goto done;
    }
    rc = out_path && write_file(out_path, &out) ? 1 : 0;
done:
    free(dname);
    eex_buf_free(&src);
    eex_buf_free(&out);
    eex_buf_free(&func);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
        return usage(stdout, 0);
    const char *set = NULL, *name = NULL, *out = NULL;
    const char *includes[MAX_INCLUDES];
    size_t nincludes = 0;
    bool no_line = false, module = false;
    const char **rest = calloc((size_t)argc, sizeof *rest);
    size_t nrest = 0;
    if (!rest)
        return 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--set") && has_val) {
            set = argv[++i];
        } else if (!strcmp(a, "--name") && has_val) {
            name = argv[++i];
        } else if (!strcmp(a, "-o") && has_val) {
            out = argv[++i];
        } else if (!strcmp(a, "--include") && has_val) {
            if (nincludes == MAX_INCLUDES) {
                fprintf(stderr, "%s: error: more than %d --include\n", prog, MAX_INCLUDES);
                free(rest);
                return 2;
            }
            includes[nincludes++] = argv[++i];
        } else if (!strcmp(a, "--no-line")) {
            no_line = true;
        } else if (!strcmp(a, "--module")) {
            module = true;
        } else if (!strcmp(a, "--")) {
            while (++i < argc)
                rest[nrest++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "%s: error: unknown or incomplete option %s\n", prog, a);
            free(rest);
            return usage(stderr, 2);
        } else {
            rest[nrest++] = a;
        }
    }
    int rc = 2;
    if (!strcmp(cmd, "compile")) {
        if (!set || !out || nrest != 1) {
            fprintf(stderr, "%s compile: needs --set, -o and one template\n", prog);
        } else if (!eex_is_ident(set)) {
            fprintf(stderr, "%s: error: set name '%s' is not a C identifier\n", prog, set);
        } else {
            rc = compile_one(rest[0], set, name, includes, nincludes, no_line, out);
        }
    } else if (!strcmp(cmd, "check")) {
        rc = nrest ? 0 : 2;
        for (size_t i = 0; i < nrest; i++)
            if (compile_one(rest[i], "check", NULL, NULL, 0, false, NULL))
                rc = 1;
        if (!nrest)
            fprintf(stderr, "%s check: needs templates\n", prog);
    } else if (!strcmp(cmd, "registry")) {
        if (!set || !out) {
            fprintf(stderr, "%s registry: needs --set and -o\n", prog);
        } else {
            eex_buf_t b = {0};
            eex_error_t e;
            if (eex_registry(set, rest, nrest, module, &b, &e)) {
                fprintf(stderr, "%s: error: %s\n", prog, e.msg);
                rc = 1;
            } else {
                rc = write_file(out, &b) ? 1 : 0;
            }
            eex_buf_free(&b);
        }
    } else {
        fprintf(stderr, "%s: unknown command %s\n", prog, cmd);
        usage(stderr, 2);
    }
    free(rest);
    return rc;
}
