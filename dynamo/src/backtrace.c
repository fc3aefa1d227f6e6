/*
 * Symbolized backtraces for the exception page, with elfutils' libdwfl: function names from
 * each module's symbol table (static functions included: nothing depends on -rdynamic) and file
 * and line from its DWARF when it was built with -g.
 *
 * One Dwfl session per process, made on first use and kept (reading the modules is the slow
 * part; crashes in dev come in bursts while a developer works), behind a mutex since libdwfl
 * is not thread-safe. A module loaded after the session was made (a reloaded web/ module)
 * makes the lookup fail once: the session is then made again.
 */
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "pipeline_int.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *dwfl; /* under lock */

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

static Dwfl *session(bool fresh)
{
    if (dwfl && !fresh)
        return dwfl;
    if (dwfl)
        dwfl_end(dwfl);
    dwfl = dwfl_begin(&callbacks);
    if (!dwfl)
        return NULL;
    if (dwfl_linux_proc_report(dwfl, getpid()) != 0 || dwfl_report_end(dwfl, NULL, NULL) != 0) {
        dwfl_end(dwfl);
        dwfl = NULL;
    }
    return dwfl;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

size_t dyn__backtrace(dyn_arena_t *a, void *const *addrs, size_t n, dyn__frame_t *out)
{
    pthread_mutex_lock(&lock);
    bool refreshed = false;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        /* A return address points after its call: look up the call itself. */
        Dwarf_Addr pc = (Dwarf_Addr)(uintptr_t)addrs[i] - 1;
        Dwfl *d = session(false);
        Dwfl_Module *m = d ? dwfl_addrmodule(d, pc) : NULL;
        if (!m && d && !refreshed) {
            refreshed = true;
            d = session(true);
            m = d ? dwfl_addrmodule(d, pc) : NULL;
        }
        dyn__frame_t *f = &out[o++];
        f->addr = addrs[i];
        f->function = "??";
        f->file = NULL;
        f->line = 0;
        f->module = "??";
        if (!m)
            continue;
        const char *mname = NULL;
        dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, &mname, NULL);
        if (mname)
            f->module = dyn_arena_strndup(a, base(mname), strlen(base(mname)));
        const char *fn = dwfl_module_addrname(m, pc);
        if (fn)
            f->function = dyn_arena_strndup(a, fn, strlen(fn));
        Dwfl_Line *ln = dwfl_module_getsrc(m, pc);
        int line = 0;
        const char *file = ln ? dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL) : NULL;
        if (file) {
            f->file = dyn_arena_strndup(a, file, strlen(file));
            f->line = line;
        }
        if (!f->function)
            f->function = "??";
        if (!f->module)
            f->module = "??";
    }
    pthread_mutex_unlock(&lock);
    return o;
}
