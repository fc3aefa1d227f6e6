/*
 * A running Dynamo (its instance) and the registry of running ones.
 *
 * An instance holds what requests read: the declaration, the compiled endpoint, the plugs'
 * states, resolved settings. It is built by the Dynamo's actor at start and never changes
 * afterwards, so request fibers read it without locks. Requests reach it through a token (a
 * registry slot and a generation) that the HTTP server carries as its handler argument, never
 * through a raw pointer: a request takes a reference (dyn__inst_acquire) for its whole run, and
 * the instance is freed when the Dynamo's actor has dropped its own reference and the last
 * request has finished, however the tree stops (a crash, a kill, a restart). A token from a
 * stopped instance finds nothing (the generation moved on), so a late request gets a 503, never
 * freed memory.
 *
 * Code reloading (next) swaps `routes` for a new compilation: requests load the pointer once
 * at their start, so a swap needs only that the old one outlives the requests that loaded it.
 */
#ifndef DYN_INST_INT_H
#define DYN_INST_INT_H

#include <stdatomic.h>

#include "dynamo/dynamo.h"

#include "routes_int.h"

/* Per-scheduler counters, each written by its scheduler's fibers only (a fiber never changes
 * threads), read by anyone: no atomic read-modify-write on the request path. */
typedef struct dyn__stats {
    _Alignas(64) _Atomic uint64_t requests;
    _Atomic uint64_t crashes;
} dyn__stats_t;

typedef struct dyn__inst {
    const dyn_dynamo_t *decl;
    dyn_routes_t *routes;
    void **plug_state; /* one per decl->plugs entry */
    size_t nplugs_inited;
    dyn_env_t env;
    dyn_log_level_t log_level;
    uint32_t max_segments;
    uint64_t token; /* its registry slot and generation (0: not registered, a test instance) */
    _Atomic uint16_t port;
    _Atomic act_pid_t sup;
    _Atomic act_pid_t actor;
    _Atomic act_pid_t listener;
    dyn__stats_t *stats; /* nstats entries */
    unsigned nstats;
} dyn__inst_t;

/* Builds an instance from a declaration: compiles the endpoint, initializes the plugs. err gets
 * a line saying what failed. Returns 0, ACT_EBADARG, DYN_EBADROUTE, DYN_EBADPLUG or
 * ACT_ENOMEM. */
int dyn__inst_new(const dyn_dynamo_t *d, dyn__inst_t **out, char *err, size_t errlen);
/* Frees it (deinitializes the plugs). */
void dyn__inst_free(dyn__inst_t *inst);

/* Registers an instance: it gets a token and one reference, its owner's. Returns 0 or
 * -ENOSPC (too many Dynamos). */
int dyn__inst_register(dyn__inst_t *inst);
/* The owner's release: the instance can no longer be found by name; it is freed when the last
 * request holding it is done. */
void dyn__inst_retire(dyn__inst_t *inst);
/* A reference for a request, by token; NULL if that instance is gone. Any thread. */
dyn__inst_t *dyn__inst_acquire(uint64_t token);
void dyn__inst_release(dyn__inst_t *inst);
/* A reference to the running instance named `name`, or NULL. */
dyn__inst_t *dyn__inst_find(const char *name);

/* The request's scheduler's counters. */
dyn__stats_t *dyn__inst_stats(dyn__inst_t *inst);

/* Runs the whole pipeline on a conn (plugs, router, error pages, sending). Returns 0, or, when
 * a failure struck after a streamed response had started, its reason: the caller must abort the
 * exchange (the HTTP adapter fails its fiber, so the connection closes). Request fiber only. */
int dyn__pipeline(dyn_conn_t *conn);

/* The HTTP server's handler for every Dynamo (arg: the instance's token). */
void dyn__http_handler(http_req_t *req, void *arg);

#endif
