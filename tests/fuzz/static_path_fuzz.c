/*
 * libFuzzer target: static paths, from the raw request path to an open file, checking that
 * nothing ever opens outside the root.
 *
 * A root is laid out once in a temporary directory, with a file beside it that must never be
 * reached and symbolic links that try to (to the parent, to "/", absolute, through a
 * subdirectory). Each input is: a byte choosing the opener (openat2 or the O_NOFOLLOW walk) and
 * the room for the joined path, then the raw path a client sends. It goes the plug's way:
 * dyn_path_split (decoding), dyn__static_path (the lexical check), dyn__open_beneath (the
 * kernel's). Checks: a path the lexical check passes has no empty, "." or ".." component, no
 * '\\', ':' or NUL, and fits its room; a descriptor that opens names something inside the
 * root (its /proc/self/fd link starts with the root's real path).
 *
 *   build/fuzz/tests/fuzz/static_path_fuzz tests/fuzz/corpus/static_path -max_total_time=60
 */
#include "fuzz_check.h"
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynamo/uri.h"
#include "static_int.h"

static char base[] = "/tmp/dyn-static-fuzz-XXXXXX";
static char root[PATH_MAX];
static size_t root_len;
static int root_fd = -1;

static void mk(const char *rel, const char *content)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    CHECK(f);
    fputs(content, f);
    fclose(f);
}

static void ln(const char *target, const char *rel)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CHECK(symlink(target, p) == 0);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    CHECK(mkdtemp(base));
    atexit(cleanup);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/secret.txt", base);
    FILE *f = fopen(p, "w");
    fputs("secret", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/root", base);
    CHECK(mkdir(p, 0755) == 0);
    CHECK(realpath(p, root));
    root_len = strlen(root);
    mk("a.txt", "a");
    snprintf(p, sizeof p, "%s/sub", root);
    CHECK(mkdir(p, 0755) == 0);
    mk("sub/b.txt", "b");
    mk("..a", "dots");
    ln("a.txt", "link-in");
    ln("../secret.txt", "link-out");
    ln("..", "dir-out");
    ln("/", "slash");
    ln("/etc/passwd", "abs");
    ln("../..", "sub/up");
    ln("../root/sub/../../secret.txt", "sub/twisty");
    root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CHECK(root_fd >= 0);
}

static void check_inside(int fd)
{
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    CHECK(n > 0);
    target[n] = '\0';
    CHECK(strncmp(target, root, root_len) == 0 &&
          (target[root_len] == '/' || target[root_len] == '\0'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (root_fd < 0)
        setup();
    if (size < 2)
        return 0;
    bool walk = data[0] & 1;
    size_t cap = 2 + (size_t)data[1] * 4; /* 2 .. 1022: the room limit is reached often */
    const char *path = (const char *)data + 2;
    size_t len = size - 2;
    char *buf = malloc(len + 1);
    dyn_str_t *segs = malloc((len / 2 + 1) * sizeof *segs);
    int n = dyn_path_split(path, len, buf, segs, len / 2 + 1);
    if (n >= 0) {
        char *rel = malloc(cap);
        int rl = dyn__static_path(segs, (size_t)n, rel, cap);
        CHECK(rl == DYN__PATH_INVALID || rl == DYN__PATH_TOOLONG || rl >= 0);
        if (rl >= 0) {
            CHECK((size_t)rl < cap && strlen(rel) == (size_t)rl && rel[0] != '/');
            CHECK(!strchr(rel, '\\') && !strchr(rel, ':'));
            for (const char *c = rel; *c;) {
                const char *e = strchr(c, '/');
                size_t cl = e ? (size_t)(e - c) : strlen(c);
                CHECK(cl > 0);
                CHECK(!(cl == 1 && c[0] == '.') && !(cl == 2 && c[0] == '.' && c[1] == '.'));
                c += cl + (e ? 1 : 0);
            }
            dyn__static_force_walk(walk);
            int fd = dyn__open_beneath(root_fd, rel);
            if (fd >= 0) {
                check_inside(fd);
                close(fd);
            }
        }
        free(rel);
    }
    free(segs);
    free(buf);
    return 0;
}
