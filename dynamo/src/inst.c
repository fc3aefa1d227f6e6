/*
 * Instances of running Dynamos and their registry (inst_int.h).
 *
 * The registry is a fixed table of slots, one cache line each (a slot's word is written by
 * every request of its Dynamo; Dynamos must not share lines). A slot's word packs a generation
 * (high 32 bits), two flags and a reference count:
 *
 *     gen:32 | BUSY:1 | RETIRED:1 | refs:30
 *
 * - register: CAS a free word (refs 0, not BUSY) to (gen+1, BUSY), store the instance, then
 *   publish (gen+1, refs 1) with release order: a reader that sees refs > 0 sees the pointer.
 * - acquire(token): CAS (gen, refs) -> (gen, refs+1) if the generation matches, refs > 0 and
 *   not BUSY (acquire order, pairing with the publish).
 * - release: fetch_sub 1 (acq_rel); whoever takes refs from 1 to 0 frees the instance. The
 *   pointer was read before (the reference pinned it), so a new registration reusing the slot
 *   afterwards changes nothing for it.
 * - retire (the owner's release): sets RETIRED (no more finding by name) and drops one ref.
 * A stale token fails on the generation. Per request this is one CAS and one fetch_sub on the
 * Dynamo's own line, uncontended on one scheduler.
 */
#include <stdio.h>
#include <string.h>

#include "inst_int.h"
#include "web_int.h"

#include "actor/mem.h"

#define SLOTS 256
#define BUSY (1ull << 31)
#define RETIRED (1ull << 30)
#define REFS (RETIRED - 1)
#define GEN(w) ((uint32_t)((w) >> 32))

typedef struct slot {
    _Alignas(64) _Atomic uint64_t word;
    dyn__inst_t *_Atomic inst;
} slot_t;

static slot_t slots[SLOTS];

/* The Dynamo whose plugs this thread is initializing (dyn_plug_dynamo). */
static __thread const dyn_dynamo_t *initializing;

const dyn_dynamo_t *dyn_plug_dynamo(void)
{
    return initializing;
}

static void plugs_deinit(dyn__inst_t *in)
{
    for (size_t i = in->nplugs_inited; i-- > 0;) {
        const dyn_plug_t *p = in->decl->plugs[i].plug;
        if (p->deinit)
            p->deinit(in->plug_state[i]);
    }
}

void dyn__inst_free(dyn__inst_t *in)
{
    if (!in)
        return;
    plugs_deinit(in);
    dyn__web_close(in);
    dyn_routes_free(in->routes);
    act_free(in->plug_state);
    act_free(in->stats);
    if (in->server)
        http_server_free(in->server);
    pthread_mutex_destroy(&in->server_lock);
    act_free(in);
}

static dyn_log_level_t default_level(dyn_env_t env)
{
    switch (env) {
    case DYN_ENV_DEV:
        return DYN_LOG_DEBUG;
    case DYN_ENV_TEST:
        return DYN_LOG_WARN;
    case DYN_ENV_PROD:
        return DYN_LOG_INFO;
    }
    return DYN_LOG_INFO;
}

int dyn__inst_new(const dyn_dynamo_t *d, dyn__inst_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!d || !d->name || !d->name[0] || (!d->endpoint && !d->web) || (d->nplugs && !d->plugs)) {
        snprintf(err, errlen, "a Dynamo needs a name and an endpoint router or web code");
        return ACT_EBADARG;
    }
    if (strlen(d->name) > ACT_NAME_MAX - 8) {
        snprintf(err, errlen, "the Dynamo's name is too long");
        return ACT_EBADARG;
    }
    dyn__inst_t *in = act_calloc(1, sizeof *in);
    unsigned ns = act_sched_count() ? act_sched_count() : 1;
    if (in) {
        pthread_mutex_init(&in->server_lock, NULL);
        in->stats = act_calloc_aligned(64, ns * sizeof *in->stats);
        in->plug_state = act_calloc(d->nplugs ? d->nplugs : 1, sizeof(void *));
    }
    if (!in || !in->stats || !in->plug_state) {
        if (in) {
            act_free(in->stats);
            act_free(in->plug_state);
            pthread_mutex_destroy(&in->server_lock);
        }
        act_free(in);
        snprintf(err, errlen, "no memory for Dynamo %s", d->name);
        return ACT_ENOMEM;
    }
    in->nstats = ns;
    in->decl = d;
    in->env = d->env;
    in->log_level = d->log_level ? d->log_level : default_level(d->env);
    in->debug_errors = d->debug_errors ? d->debug_errors == DYN_SWITCH_ON : d->env == DYN_ENV_DEV;
    in->code_reload = d->code_reload ? d->code_reload == DYN_SWITCH_ON : d->env == DYN_ENV_DEV;
    in->max_segments = d->dyn_limits.max_segments ? d->dyn_limits.max_segments : 128;
    atomic_init(&in->port, d->port);
    /* The endpoint: declared, or the web code's (linked, or a module loaded now) */
    int rc = d->endpoint ? dyn_routes_compile(d->endpoint, &in->routes, err, errlen)
                         : dyn__web_open(in, err, errlen);
    if (rc) {
        dyn__inst_free(in);
        return rc;
    }
    for (size_t i = 0; i < d->nplugs; i++) {
        const dyn_plug_spec_t *ps = &d->plugs[i];
        if (!ps->plug || !ps->plug->call) {
            snprintf(err, errlen, "plug %zu of Dynamo %s has no call function", i, d->name);
            dyn__inst_free(in);
            return DYN_EBADPLUG;
        }
        if (ps->plug->init) {
            initializing = d;
            rc = ps->plug->init(ps->opts, &in->plug_state[i]);
            initializing = NULL;
            if (rc) {
                snprintf(err, errlen, "plug %s of Dynamo %s failed to initialize: %s",
                         ps->plug->name ? ps->plug->name : "?", d->name, dyn_strerror(rc));
                dyn__inst_free(in);
                return DYN_EBADPLUG;
            }
        } else {
            in->plug_state[i] = (void *)ps->opts;
        }
        in->nplugs_inited = i + 1;
    }
    *out = in;
    return 0;
}

dyn__stats_t *dyn__inst_stats(dyn__inst_t *in)
{
    int s = act_sched_self();
    return &in->stats[s >= 0 && (unsigned)s < in->nstats ? (unsigned)s : 0];
}

/* ---- registry ----------------------------------------------------------------------------- */

int dyn__inst_register(dyn__inst_t *in)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        slot_t *s = &slots[i];
        uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
        if ((w & REFS) || (w & BUSY))
            continue;
        uint64_t gen = GEN(w) == UINT32_MAX ? 1 : (uint64_t)GEN(w) + 1; /* 0 is never a token's */
        if (!atomic_compare_exchange_strong_explicit(&s->word, &w, gen << 32 | BUSY,
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        in->token = gen << 32 | i;
        atomic_store_explicit(&s->inst, in, memory_order_relaxed);
        /* release: pairs with the acquire CAS of dyn__inst_acquire and loads of dyn__inst_find */
        atomic_store_explicit(&s->word, gen << 32 | 1, memory_order_release);
        return 0;
    }
    return -ENOSPC;
}

static slot_t *slot_of(uint64_t token)
{
    uint32_t i = (uint32_t)token;
    return i < SLOTS ? &slots[i] : NULL;
}

dyn__inst_t *dyn__inst_acquire(uint64_t token)
{
    slot_t *s = slot_of(token);
    if (!s)
        return NULL;
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    for (;;) {
        if (GEN(w) != (uint32_t)(token >> 32) || (w & BUSY) || (w & REFS) == 0)
            return NULL;
        /* acquire: pairs with the publishing store of dyn__inst_register */
        if (atomic_compare_exchange_weak_explicit(&s->word, &w, w + 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return atomic_load_explicit(&s->inst, memory_order_relaxed);
    }
}

void dyn__inst_release(dyn__inst_t *in)
{
    slot_t *s = slot_of(in->token);
    /* acq_rel: the last releaser must see every other holder's writes before freeing */
    uint64_t w = atomic_fetch_sub_explicit(&s->word, 1, memory_order_acq_rel);
    if ((w & REFS) == 1)
        dyn__inst_free(in);
}

void dyn__inst_retire(dyn__inst_t *in)
{
    slot_t *s = slot_of(in->token);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    /* acq_rel: as release */
    while (!atomic_compare_exchange_weak_explicit(&s->word, &w, (w | RETIRED) - 1,
                                                  memory_order_acq_rel, memory_order_relaxed))
        ;
    if ((w & REFS) == 1)
        dyn__inst_free(in);
}

/* Acquires slot i's instance if it runs (not retired). */
static dyn__inst_t *acquire_live(unsigned i)
{
    uint64_t w = atomic_load_explicit(&slots[i].word, memory_order_acquire);
    if ((w & REFS) == 0 || (w & (BUSY | RETIRED)))
        return NULL;
    dyn__inst_t *in = dyn__inst_acquire((uint64_t)GEN(w) << 32 | i);
    if (in && (atomic_load_explicit(&slots[i].word, memory_order_relaxed) & RETIRED)) {
        dyn__inst_release(in);
        return NULL;
    }
    return in;
}

dyn__inst_t *dyn__inst_find(const char *name)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        dyn__inst_t *in = acquire_live(i);
        if (!in)
            continue;
        if (strcmp(in->decl->name, name) == 0)
            return in;
        dyn__inst_release(in);
    }
    return NULL;
}

/* ---- introspection (dynamo.h) ------------------------------------------------------------- */

static void info_of(dyn__inst_t *in, dyn_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->name = in->decl->name;
    out->decl = in->decl;
    out->host = in->decl->host ? in->decl->host : "127.0.0.1";
    out->port = atomic_load_explicit(&in->port, memory_order_relaxed);
    out->env = in->env;
    out->sup = atomic_load_explicit(&in->sup, memory_order_relaxed);
    out->actor = atomic_load_explicit(&in->actor, memory_order_relaxed);
    out->listener = atomic_load_explicit(&in->listener, memory_order_relaxed);
    for (unsigned i = 0; i < in->nstats; i++) {
        out->requests += atomic_load_explicit(&in->stats[i].requests, memory_order_relaxed);
        out->crashes += atomic_load_explicit(&in->stats[i].crashes, memory_order_relaxed);
    }
    dyn__code_t *hold;
    const dyn_routes_t *rt = dyn__web_routes(in, &hold);
    out->routes = rt ? rt->total : 0;
    dyn__web_routes_done(hold);
    pthread_mutex_lock(&in->server_lock);
    if (in->server) {
        http_server_stats_t st;
        http_server_stats(in->server, &st);
        out->connections = st.connections;
    }
    pthread_mutex_unlock(&in->server_lock);
}

int dyn_info(const char *name, dyn_info_t *out)
{
    dyn__inst_t *in = dyn__inst_find(name);
    if (!in)
        return DYN_ENODYNAMO;
    info_of(in, out);
    dyn__inst_release(in);
    return 0;
}

uint16_t dyn_port(const char *name)
{
    dyn_info_t info;
    return dyn_info(name, &info) == 0 ? info.port : 0;
}

int dyn_each(int (*fn)(const dyn_info_t *info, void *arg), void *arg)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        dyn__inst_t *in = acquire_live(i);
        if (!in)
            continue;
        dyn_info_t info;
        info_of(in, &info);
        int rc = fn(&info, arg);
        dyn__inst_release(in);
        if (rc)
            return rc;
    }
    return 0;
}

int dyn_routes_text(const char *name, char **text)
{
    dyn__inst_t *in = dyn__inst_find(name);
    if (!in)
        return DYN_ENODYNAMO;
    dyn__code_t *hold;
    const dyn_routes_t *rt = dyn__web_routes(in, &hold);
    int rc = rt ? dyn_routes_format(dyn_routes_router(rt), text) : DYN_EBUILD;
    dyn__web_routes_done(hold);
    dyn__inst_release(in);
    return rc;
}
