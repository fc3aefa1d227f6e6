/*
 * Static paths: from a request's decoded segments to a file beneath the static root, and
 * never anywhere else (static_int.h).
 *
 * Two independent walls. The first is lexical: the segments the router decoded ("%2e%2e" is
 * ".." by now, "%2f" a '/' inside a segment, "%00" already refused with a 400) must each be
 * a plain file name, so the joined path has no "." or ".." component, no absolute start, no
 * backslash or colon for another platform's parser. The second is the kernel's: the file is
 * opened relative to the root's descriptor with openat2(RESOLVE_BENEATH), which refuses any
 * resolution that leaves the root, through ".." or through a symbolic link, however the
 * path was spelled. Where openat2 is missing (Linux before 5.6, or a seccomp filter that
 * returns ENOSYS or EPERM) each component is opened with O_NOFOLLOW instead: no symbolic link
 * is followed at all, which is stricter than needed and just as safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "static_int.h"

int dyn__static_path(const dyn_str_t *segs, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    if (n == 0)
        return DYN__PATH_INVALID;
    for (size_t i = 0; i < n; i++) {
        const char *s = segs[i].ptr;
        size_t len = segs[i].len;
        if (len == 0 || (s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.'))))
            return DYN__PATH_INVALID;
        for (size_t k = 0; k < len; k++)
            if (s[k] == '/' || s[k] == '\\' || s[k] == ':' || s[k] == '\0')
                return DYN__PATH_INVALID;
        if (o + len + 2 > cap)
            return DYN__PATH_TOOLONG;
        if (i)
            buf[o++] = '/';
        memcpy(buf + o, s, len);
        o += len;
    }
    buf[o] = '\0';
    return (int)o;
}

#define OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

/* 1 once openat2 was found missing: the fallback from then on. */
static _Atomic int no_openat2;

/* The fallback: directories with O_PATH | O_NOFOLLOW | O_DIRECTORY one by one, the last
 * component with O_NOFOLLOW (a link there fails with ELOOP). rel has no "." or ".." (checked
 * by dyn__static_path), so the walk cannot climb. */
static int open_walk(int root_fd, const char *rel)
{
    int dir = root_fd;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) {
            int fd = openat(dir, p, OPEN_FLAGS | O_NOFOLLOW);
            int err = fd < 0 ? -errno : 0;
            if (dir != root_fd)
                close(dir);
            return fd < 0 ? err : fd;
        }
        char name[256];
        size_t len = (size_t)(slash - p);
        if (len >= sizeof name) {
            if (dir != root_fd)
                close(dir);
            return -ENAMETOOLONG;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        int next = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int err = next < 0 ? -errno : 0;
        if (dir != root_fd)
            close(dir);
        if (next < 0)
            return err;
        dir = next;
        p = slash + 1;
    }
}

void dyn__static_force_walk(bool on)
{
    atomic_store_explicit(&no_openat2, on, memory_order_relaxed);
}

int dyn__open_beneath(int root_fd, const char *rel)
{
    if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
        struct open_how how = {
            .flags = OPEN_FLAGS,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno != ENOSYS && errno != EPERM)
            return -errno;
        /* Relaxed: the flag only picks between two safe ways; a late reader tries openat2
         * once more. */
        atomic_store_explicit(&no_openat2, 1, memory_order_relaxed);
    }
    return open_walk(root_fd, rel);
}
