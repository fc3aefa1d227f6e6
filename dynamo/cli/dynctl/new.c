/*
 * dynctl new: a new project (`mix dynamo PATH`), from the skeleton compiled into dynctl
 * (dynamo/cli/dynctl/skeleton/, embedded by cmake/EmbedFiles.cmake).
 *
 * The skeleton's files carry placeholders: {{name}} (the C identifier the project's symbols,
 * files and targets are named after), {{Name}} (capitalized, for prose), {{NAME}} (include
 * guards), {{secret_dev}} and {{secret_test}} (fresh secrets for those environments: prod
 * takes SECRET_KEY_BASE). A path ending in ".in" loses it; "gitignore.in" becomes .gitignore.
 *
 * The target must not exist or be empty: nothing is ever overwritten. Files are written in
 * full or the command fails naming the one that could not be.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynctl.h"
#include "skeleton.h"

static int new_project(int argc, char **argv);

const dynctl_cmd_t dynctl_new = {
    .name = "new",
    .fn = new_project,
    .summary = "create a project (lib/, web/, priv/static/, test/, CMakeLists.txt)",
    .help = "usage: dynctl new PATH [--name NAME]\n"
            "\n"
            "Creates a Dynamo project in PATH, which must not exist or be empty:\n"
            "  lib/NAME.c                    the application callback: a supervisor with the\n"
            "                                Dynamo\n"
            "  lib/NAME/dynamo.c             the Dynamo\n"
            "  lib/NAME/environments/        dev.c, test.c, prod.c\n"
            "  web/routers/application_router.c, web/templates/ (with a layout)\n"
            "  priv/static/                  static files, served under /static\n"
            "  test/routers/, test/features/ tests using the framework's test helpers\n"
            "  main.c, CMakeLists.txt (find_package(dynamo)), README.md, .gitignore\n"
            "It builds and its tests pass at once: `cd PATH && dynctl test`, then\n"
            "`dynctl start` serves it on http://127.0.0.1:4000.\n"
            "\n"
            "NAME (default: PATH's last component, with '-' and '.' as '_') names the\n"
            "application and its C symbols: a lowercase C identifier of 40 characters at most.\n"
            "\n"
            "Exit status: 0, 2 a bad NAME, 1 PATH is not empty or cannot be written.\n",
};

static const char *const reserved[] = {
    /* C's keywords and what the framework's symbols, targets or files would clash with. */
    "auto",     "break",     "case",   "char",     "const",    "continue", "default",  "do",
    "double",   "else",      "enum",   "extern",   "float",    "for",      "goto",     "if",
    "inline",   "int",       "long",   "register", "restrict", "return",   "short",    "signed",
    "sizeof",   "static",    "struct", "switch",   "typedef",  "union",    "unsigned", "void",
    "volatile", "while",     "bool",   "true",     "false",    "main",     "test",     "dynamo",
    "dyn",      "act",       "actor",  "http",     "dynhttp",  "llhttp",   "node",     "uv",
    "ck",       "criterion",
};

/* NAME's problem, or NULL if it is fine. */
static const char *bad_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 40)
        return "it must have 1 to 40 characters";
    if (!(islower((unsigned char)name[0]) || name[0] == '_'))
        return "it must start with a lowercase letter";
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_'))
            return "it may hold lowercase letters, digits and '_' only";
    if (name[0] == '_')
        return "it must start with a lowercase letter";
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return "it is a C keyword or a name the framework uses";
    return NULL;
}

/* PATH's last component as a name: lowercase, '-', '.' and ' ' as '_'. */
static void name_of(const char *path, char *out, size_t len)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    const char *base = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
    size_t k = 0;
    for (const char *c = base; *c && k + 1 < len; c++)
        out[k++] = *c == '-' || *c == '.' || *c == ' ' ? '_' : (char)tolower((unsigned char)*c);
    out[k] = '\0';
}

static bool empty_dir(const char *path, bool *exists)
{
    DIR *d = opendir(path);
    *exists = d != NULL || errno != ENOENT;
    if (!d)
        return errno == ENOENT;
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(d));)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

static int mkdirs(char *path)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        int rc = mkdir(path, 0755);
        *s = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

typedef struct subst {
    const char *key;
    const char *value;
} subst_t;

/* text with every {{key}} replaced; malloc'ed. */
static char *expand(const char *text, size_t len, const subst_t *s, size_t ns, size_t *outlen)
{
    size_t cap = len * 2 + 256, k = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        const subst_t *hit = NULL;
        if (text[i] == '{' && i + 1 < len && text[i + 1] == '{') {
            for (size_t j = 0; j < ns && !hit; j++) {
                size_t kl = strlen(s[j].key);
                if (i + 4 + kl <= len && strncmp(text + i + 2, s[j].key, kl) == 0 &&
                    text[i + 2 + kl] == '}' && text[i + 3 + kl] == '}')
                    hit = &s[j];
            }
        }
        const char *piece = hit ? hit->value : text + i;
        size_t plen = hit ? strlen(hit->value) : 1;
        if (k + plen + 1 > cap) {
            cap = (k + plen + 1) * 2;
            char *n = realloc(out, cap);
            if (!n) {
                free(out);
                return NULL;
            }
            out = n;
        }
        memcpy(out + k, piece, plen);
        k += plen;
        i += hit ? strlen(hit->key) + 4 : 1;
    }
    out[k] = '\0';
    *outlen = k;
    return out;
}

static void random_secret(char *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char bytes[64];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            break;
    }
    for (size_t i = 0; i < 64; i++)
        out[i] = b64[bytes[i] & 63];
    out[64] = '\0';
}

static int write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = errno;
            close(fd);
            errno = err;
            return -1;
        }
        off += (size_t)n;
    }
    return close(fd);
}

static int new_project(int argc, char **argv)
{
    dynctl_opts_t o;
    int rc = dynctl_parse(&dynctl_new, argc, argv, "name", &o);
    if (rc)
        return rc == 1 ? DYNCTL_EXIT_OK : rc;
    if (!o.path_set)
        return dynctl_usage(&dynctl_new, "where? give the new project's PATH");
    char name[64];
    if (o.name)
        snprintf(name, sizeof name, "%s", o.name);
    else
        name_of(o.path, name, sizeof name);
    const char *why = bad_name(name);
    if (why)
        return dynctl_usage(&dynctl_new, "\"%s\" cannot name a project: %s%s", name, why,
                            o.name ? "" : "; choose one with --name NAME");
    bool exists;
    if (!empty_dir(o.path, &exists))
        return dynctl_fail(DYNCTL_EXIT_FAILED,
                           "%s %s: a new project goes into a new or empty directory (nothing is "
                           "overwritten)",
                           o.path, exists ? "is not empty" : "cannot be used");

    char Name[64], NAME[64], dev[65], test[65];
    snprintf(Name, sizeof Name, "%s", name);
    Name[0] = (char)toupper((unsigned char)Name[0]);
    for (size_t i = 0; i <= strlen(name); i++)
        NAME[i] = (char)toupper((unsigned char)name[i]);
    random_secret(dev);
    random_secret(test);
    const subst_t subst[] = {
        {"name", name}, {"Name", Name}, {"NAME", NAME}, {"secret_dev", dev}, {"secret_test", test},
    };
    const size_t ns = sizeof subst / sizeof subst[0];

    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s", o.path);
    if (mkdirs(root) != 0)
        return dynctl_fail(errno == EACCES ? DYNCTL_EXIT_DENIED : DYNCTL_EXIT_FAILED,
                           "cannot create %s: %s", o.path, strerror(errno));
    for (size_t i = 0; i < dynctl_skeleton_n; i++) {
        const dynctl_skel_file_t *f = &dynctl_skeleton[i];
        size_t plen, dlen;
        char *rel = expand(f->path, strlen(f->path), subst, ns, &plen);
        char *data = expand((const char *)f->data, f->len, subst, ns, &dlen);
        if (!rel || !data) {
            free(rel);
            free(data);
            return dynctl_fail(DYNCTL_EXIT_FAILED, "out of memory");
        }
        if (plen > 3 && strcmp(rel + plen - 3, ".in") == 0)
            rel[plen -= 3] = '\0';
        char path[PATH_MAX];
        const char *slash = strrchr(rel, '/');
        const char *base = slash ? slash + 1 : rel;
        int pn = snprintf(path, sizeof path, "%s/%.*s%s%s", root, (int)(base - rel), rel,
                          strcmp(base, "gitignore") == 0 ? "." : "", base);
        if (pn < 0 || (size_t)pn >= sizeof path) {
            free(rel);
            free(data);
            return dynctl_fail(DYNCTL_EXIT_FAILED, "%s: path too long", o.path);
        }
        char *dir_end = strrchr(path, '/');
        *dir_end = '\0';
        int ok = mkdirs(path);
        *dir_end = '/';
        if (ok != 0 || write_file(path, data, dlen) != 0) {
            rc = dynctl_fail(errno == EACCES ? DYNCTL_EXIT_DENIED : DYNCTL_EXIT_FAILED,
                             "cannot write %s: %s", path, strerror(errno));
            free(rel);
            free(data);
            return rc;
        }
        free(rel);
        free(data);
    }
    printf("created %s in %s: build it, test it and start it with\n"
           "    cd %s\n"
           "    dynctl test\n"
           "    dynctl start            # http://127.0.0.1:4000, Ctrl-C to stop\n",
           name, o.path, o.path);
    return DYNCTL_EXIT_OK;
}
