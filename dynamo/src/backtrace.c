/*
 * Symbolized backtraces for the exception page, with elfutils' libdwfl: function names from
 * each module's symbol table (static functions included: nothing depends on -rdynamic) and file
 * and line from its DWARF when it was built with -g.
 *
 * libdw reads line tables with large stack frames, more than a request fiber's stack holds, so
 * the work runs on a short-lived thread of its own (8 MiB of stack) while the fiber waits for
 * its message; crashes are rare and this is the development page. The job lives on the heap
 * with two owners, so a fiber killed while it waits leaves nothing dangling.
 *
 * One Dwfl session per process, made on first use and kept (reading the modules is the slow
 * part; crashes in dev come in bursts while a developer works), behind a mutex since libdwfl is
 * not thread-safe. A module loaded after the session was made (a reloaded web/ module) makes a
 * lookup fail once: the session is then made again.
 */
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline_int.h"

#define MSG_SYMBOLS (ACT_MSG_USER + 0x7d01)
#define WAIT_MS 30000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *dwfl; /* under lock */

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

typedef struct frame {
    char *function, *file, *module; /* malloc'd by the worker */
    int line;
} frame_t;

typedef struct job {
    _Atomic int owners; /* the worker and the waiter: the last one frees */
    act_pid_t waiter;
    act_ref_t ref;
    size_t n;
    void *addrs[ACT_BACKTRACE_MAX];
    frame_t frames[ACT_BACKTRACE_MAX];
} job_t;

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

static char *sdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void symbolize(job_t *j)
{
    pthread_mutex_lock(&lock);
    bool refreshed = false;
    for (size_t i = 0; i < j->n; i++) {
        /* A return address points after its call: look up the call itself. */
        Dwarf_Addr pc = (Dwarf_Addr)(uintptr_t)j->addrs[i] - 1;
        Dwfl *d = session(false);
        Dwfl_Module *m = d ? dwfl_addrmodule(d, pc) : NULL;
        if (!m && d && !refreshed) {
            refreshed = true;
            d = session(true);
            m = d ? dwfl_addrmodule(d, pc) : NULL;
        }
        if (!m)
            continue;
        frame_t *f = &j->frames[i];
        f->function = sdup(dwfl_module_addrname(m, pc));
        Dwfl_Line *ln = dwfl_module_getsrc(m, pc);
        if (ln)
            f->file = sdup(dwfl_lineinfo(ln, NULL, &f->line, NULL, NULL, NULL));
        /* After the lookups: the module's file name is known once its ELF was opened. */
        const char *mname = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        if (mname) {
            const char *s = strrchr(mname, '/');
            f->module = sdup(s ? s + 1 : mname);
        }
    }
    pthread_mutex_unlock(&lock);
}

static void release(job_t *j)
{
    /* acq_rel: the last owner sees the other's writes to the job before freeing it */
    if (atomic_fetch_sub_explicit(&j->owners, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < j->n; i++) {
        free(j->frames[i].function);
        free(j->frames[i].file);
        free(j->frames[i].module);
    }
    act_free(j);
}

static void *worker(void *arg)
{
    job_t *j = arg;
    symbolize(j);
    act_msg_t *m = act_msg_alloc(sizeof *m, MSG_SYMBOLS);
    m->ref = j->ref;
    act_send(j->waiter, m);
    act_thread_detach();
    release(j);
    return NULL;
}

static bool match(const act_msg_t *m, void *arg)
{
    return m->type == MSG_SYMBOLS && m->ref == *(act_ref_t *)arg;
}

static const char *copy(dyn_arena_t *a, const char *s, const char *def)
{
    char *c = s ? dyn_arena_strndup(a, s, strlen(s)) : NULL;
    return c ? c : def;
}

size_t dyn__backtrace(dyn_arena_t *a, void *const *addrs, size_t n, dyn__frame_t *out)
{
    if (n > ACT_BACKTRACE_MAX)
        n = ACT_BACKTRACE_MAX;
    job_t *j = act_calloc(1, sizeof *j);
    if (!j)
        return 0;
    atomic_init(&j->owners, 2);
    j->waiter = act_self();
    j->ref = act_make_ref();
    j->n = n;
    memcpy(j->addrs, addrs, n * sizeof *addrs);
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 8u << 20);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, worker, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        act_free(j);
        return 0;
    }
    act_msg_t *m = NULL;
    size_t done = 0;
    if (act_receive(match, &j->ref, WAIT_MS, &m) == 0) {
        act_msg_free(m);
        for (size_t i = 0; i < n; i++) {
            out[i].addr = addrs[i];
            out[i].function = copy(a, j->frames[i].function, "??");
            out[i].file = j->frames[i].file ? copy(a, j->frames[i].file, NULL) : NULL;
            out[i].line = j->frames[i].line;
            out[i].module = copy(a, j->frames[i].module, "??");
        }
        done = n;
    }
    release(j);
    return done;
}
