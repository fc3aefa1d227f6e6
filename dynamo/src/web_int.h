/*
 * A Dynamo's web code at run time (web.h): versions of a web module and their references
 * (code.c), a Dynamo's web state and what requests do with it (web.c), the watcher that
 * rebuilds and reloads (reload.c), the page for a failed build (build_page.c).
 *
 * A version (dyn__code_t) is one loaded copy of the module with its compiled routes. Requests
 * reach the current one through a token in the Dynamo's web state and hold a reference for
 * their whole life (released by their arena's last cleanup, after the response went out); the
 * web state holds one for the version that is current. The last release unloads it. Tokens
 * are a slot of a process-wide table and a generation, as instances' (inst.c), so a request
 * that loads a token just replaced never touches a freed version.
 */
#ifndef DYN_WEB_INT_H
#define DYN_WEB_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "dynamo/web.h"

#include "inst_int.h"

typedef struct dyn__code {
    dyn_routes_t *routes;
    const dyn_web_t *web; /* the module's descriptor: endpoint, templates */
    void *handle;         /* dlopen's, or NULL */
    char *path;           /* the module's versioned copy (removed at unload), or NULL */
    uint64_t version;
    uint64_t token; /* its slot and generation, once published */
} dyn__code_t;

/* ---- versions (code.c) -------------------------------------------------------------------- */

/* Publishes a version: it gets a token and one reference, its publisher's. Returns 0 or
 * -ENOSPC (too many versions still held by requests). Any thread. */
int dyn__code_publish(dyn__code_t *code);
/* A reference to the version *current names, or NULL if it names none. Loops over tokens
 * replaced meanwhile. Any thread. */
dyn__code_t *dyn__code_acquire(_Atomic uint64_t *current);
/* Drops a reference; the last one frees the version (dyn__code_free). Any thread. */
void dyn__code_release(dyn__code_t *code);
/* Unloads and frees a version nobody holds (or one never published). */
void dyn__code_free(dyn__code_t *code);
/* Versions alive in the process (published, not yet freed). */
unsigned dyn__code_alive(void);

/* ---- a Dynamo's web state (web.c) --------------------------------------------------------- */

/* Status bits of dyn__web_t.status, read by requests without the lock. */
#define DYN__WEB_PENDING 1u /* a change is pending or a build runs: requests wait */
#define DYN__WEB_FAILED 2u  /* the last build or load failed: pages show it */

typedef struct dyn__reloader dyn__reloader_t;

typedef struct dyn__web {
    const dyn_web_t *decl;    /* the program's descriptor (module path, watch dir, command) */
    const char *dynamo;       /* the Dynamo's name, for reports */
    _Atomic uint64_t current; /* token of the version new requests get (0: none) */
    _Atomic uint32_t status;  /* DYN__WEB_* */
    _Atomic uint64_t version; /* the current version's number */
    _Atomic uint64_t builds;
    _Atomic uint64_t failures;
    uint64_t next_version;     /* the loader's (one thread at a time) */
    dyn__code_t *owned;        /* the current version, with the loader's reference */
    pthread_mutex_t lock;      /* guards error and reloader */
    char *error;               /* the failed build's output (act_malloc), or NULL */
    int64_t wait_ms;           /* how long a request waits for a build [30000] */
    dyn__reloader_t *reloader; /* the watcher, in dev */
} dyn__web_t;

/* Sets up the web code of a new instance whose declaration has .web: a linked one compiles
 * its endpoint into in->routes; a module is loaded (version 1) into in->web. A module that
 * cannot be loaded fails in test and prod (DYN_EBUILD, err says why); in dev the Dynamo starts
 * anyway and pages show the error until a build succeeds. Returns 0 or an error. */
int dyn__web_open(dyn__inst_t *in, char *err, size_t errlen);
/* Drops the current version and frees the web state (the watcher must be stopped). */
void dyn__web_close(dyn__inst_t *in);
/* Starts the watcher of a running Dynamo when its web code is a module and its environment
 * dev (and DYNAMO_RELOAD is not 0). Returns 0 or an error (reported; the Dynamo runs on
 * without reloading). Any thread. */
int dyn__web_watch(dyn__inst_t *in);
/* Stops the watcher (a running build is killed). The Dynamo's actor, when it stops. */
void dyn__web_unwatch(dyn__inst_t *in);

/* At a request's start, in the pipeline's catch: waits for a pending build, answers the build
 * error page (halting the conn) when the last build failed and the client wants a page, and
 * otherwise takes a reference to the current version for the request and points c->routes at
 * its routes. Returns true if the conn was answered. Request fiber. */
bool dyn__web_enter(dyn_conn_t *c);

/* The routes a tool should list for an instance (the current version's, or the linked ones),
 * with a reference to release by dyn__web_routes_done (NULL when nothing holds it). */
const dyn_routes_t *dyn__web_routes(const dyn__inst_t *in, dyn__code_t **hold);
void dyn__web_routes_done(dyn__code_t *hold);

/* Loads the module at decl->module as the next version and makes it current (reload.c
 * calls it after a build; dyn__web_open for version 1). On failure sets the error (the
 * reason, as text) and returns DYN_EBUILD. Loader thread (one at a time). */
int dyn__web_load(dyn__web_t *w);
/* Records a failed build's output (taken: act_malloc'd) and sets DYN__WEB_FAILED. */
void dyn__web_set_error(dyn__web_t *w, char *text);
/* Clears the error after a good build. */
void dyn__web_clear_error(dyn__web_t *w);

/* ---- the watcher (reload.c) --------------------------------------------------------------- */

/* Starts watching w->decl->watch on a thread of its own. Returns 0 or an error. */
int dyn__reloader_start(dyn__web_t *w, dyn__reloader_t **out);
/* Asks for a rebuild now. Any thread. */
void dyn__reloader_poke(dyn__reloader_t *r);
/* Stops it: a running build is killed, the thread joined. */
void dyn__reloader_stop(dyn__reloader_t *r);

/* ---- the build error page (build_page.c) -------------------------------------------------- */

/* Answers c with the page for a failed build: 500, the output escaped, each file:line:col
 * diagnostic listed first. */
void dyn__build_page(dyn_conn_t *c, const char *output);

#endif
