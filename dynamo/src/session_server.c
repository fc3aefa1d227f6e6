/*
 * The server-side session store (session.h): the store server, an actor holding sessions by
 * id, and the store table request fibers use to call it.
 *
 * Only an id travels: 32 random bytes (RAND_bytes), signed with a key of the Dynamo's secret
 * (dyn_sign, purpose = the cookie's name) so that a forged or garbage cookie is refused in the
 * request's fiber and never costs the store a message. The id's unpredictability is what
 * protects a session; the signature only keeps noise away from the actor.
 *
 * The server is a plain act_server: one message at a time, nothing shared, so its table needs
 * no lock. Sessions are kept as the encoded bytes of session_codec.c (copied in and out: a
 * request's arena never escapes to the actor). The table is open addressing with linear probing
 * on the id's first 8 bytes (random: a fine hash), grown at 3/4 full, with backward-shift
 * deletion (no tombstones, so probes stay short however much churn). Expiry is idle-based:
 * reads and writes push it ttl_ms ahead; the sweep drops expired entries SWEEP_BATCH slots at
 * a time, sending itself a message to go on, so a million sessions never hold a call up for
 * more than a batch.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "conn_int.h"
#include "crypto_int.h"
#include "pipeline_int.h"
#include "session_int.h"

#include "actor/mem.h"
#include "actor/registry.h"
#include "actor/timer.h"

#define DEFAULT_NAME "dynamo.sessions"
#define DEFAULT_TTL_MS (24 * 3600 * 1000LL)
#define DEFAULT_SWEEP_MS 60000
#define DEFAULT_MAX 1000000u
#define SWEEP_BATCH 4096
#define MIN_CAP 64

enum {
    MSG_GET = ACT_MSG_USER + 0x5e5510,
    MSG_PUT,
    MSG_DELETE,
    MSG_COUNT,
    MSG_REPLY,
    MSG_SWEEP,
};

typedef struct req {
    act_msg_t hdr;
    uint8_t sid[DYN__SID_LEN];
    bool has_sid;
    uint32_t len;
    uint8_t blob[]; /* MSG_PUT */
} req_t;

typedef struct reply {
    act_msg_t hdr;
    int rc; /* 0, -ENOENT, -ENOSPC; MSG_COUNT: 0 */
    int64_t count;
    uint8_t sid[DYN__SID_LEN];
    uint32_t len;
    uint8_t blob[]; /* MSG_GET */
} reply_t;

/* ---- the server --------------------------------------------------------------------------- */

typedef struct entry {
    uint8_t sid[DYN__SID_LEN];
    int64_t expires_ms; /* 0: a free slot */
    uint32_t len;
    uint8_t *blob;
} entry_t;

typedef struct server {
    entry_t *slots;
    size_t cap; /* a power of two */
    size_t count;
    size_t cursor; /* where the sweep goes on */
    int64_t ttl_ms;
    int64_t sweep_ms;
    uint32_t max;
    act_timer_t timer;
} server_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t home(const server_t *s, const uint8_t *sid)
{
    uint64_t h;
    memcpy(&h, sid, 8);
    return (size_t)h & (s->cap - 1);
}

static entry_t *lookup(server_t *s, const uint8_t *sid)
{
    for (size_t i = home(s, sid);; i = (i + 1) & (s->cap - 1)) {
        entry_t *e = &s->slots[i];
        if (!e->expires_ms)
            return NULL;
        if (memcmp(e->sid, sid, DYN__SID_LEN) == 0)
            return e;
    }
}

/* Empties slot i and shifts the entries after it back over the hole (Knuth's algorithm R). */
static void remove_at(server_t *s, size_t i)
{
    act_free(s->slots[i].blob);
    s->count--;
    size_t mask = s->cap - 1;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        entry_t *e = &s->slots[j];
        if (!e->expires_ms)
            break;
        size_t h = home(s, e->sid);
        /* e may move to the hole i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (stays)
            continue;
        s->slots[i] = *e;
        i = j;
    }
    s->slots[i] = (entry_t){0};
}

static void place(server_t *s, const entry_t *e)
{
    size_t i = home(s, e->sid);
    while (s->slots[i].expires_ms)
        i = (i + 1) & (s->cap - 1);
    s->slots[i] = *e;
}

static bool grow(server_t *s)
{
    size_t ncap = s->cap ? s->cap * 2 : MIN_CAP;
    entry_t *old = s->slots;
    size_t ocap = s->cap;
    entry_t *n = act_calloc(ncap, sizeof *n);
    if (!n)
        return false;
    s->slots = n;
    s->cap = ncap;
    s->cursor = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].expires_ms)
            place(s, &old[i]);
    act_free(old);
    return true;
}

/* Drops up to `batch` slots' worth of expired sessions from the cursor on. Returns true when
 * the sweep went round the whole table. */
static bool sweep(server_t *s, size_t batch)
{
    int64_t now = now_ms();
    for (size_t n = 0; n < batch; n++) {
        if (s->cursor >= s->cap) {
            s->cursor = 0;
            return true;
        }
        entry_t *e = &s->slots[s->cursor];
        if (e->expires_ms && e->expires_ms <= now)
            remove_at(s, s->cursor); /* another entry may shift in: look at this slot again */
        else
            s->cursor++;
    }
    return s->cursor >= s->cap;
}

static void arm(server_t *s)
{
    act_send_after(act_self(), s->sweep_ms, act_msg_alloc(sizeof(act_msg_t), MSG_SWEEP), &s->timer);
}

static int s_init(void *state, void *arg)
{
    server_t *s = state;
    const dyn_session_server_opts_t *o = arg;
    s->ttl_ms = o && o->ttl_ms > 0 ? o->ttl_ms : DEFAULT_TTL_MS;
    s->sweep_ms = o && o->sweep_ms > 0 ? o->sweep_ms : DEFAULT_SWEEP_MS;
    s->max = o && o->max_sessions ? o->max_sessions : DEFAULT_MAX;
    if (!grow(s))
        return ACT_ENOMEM;
    arm(s);
    return 0;
}

static reply_t *new_reply(int rc, size_t blob_len)
{
    reply_t *r = (reply_t *)act_msg_alloc(sizeof *r + blob_len, MSG_REPLY);
    r->rc = rc;
    r->count = 0;
    r->len = (uint32_t)blob_len;
    return r;
}

static int do_put(server_t *s, const req_t *q, reply_t **out)
{
    int64_t now = now_ms();
    entry_t *e = q->has_sid ? lookup(s, q->sid) : NULL;
    if (e && e->expires_ms <= now) {
        remove_at(s, (size_t)(e - s->slots));
        e = NULL;
    }
    uint8_t *blob = act_malloc(q->len ? q->len : 1);
    if (!blob) {
        *out = new_reply(ACT_ENOMEM, 0);
        return 0;
    }
    memcpy(blob, q->blob, q->len);
    if (e) {
        act_free(e->blob);
        e->blob = blob;
        e->len = q->len;
        e->expires_ms = now + s->ttl_ms;
        *out = new_reply(0, 0);
        memcpy((*out)->sid, e->sid, DYN__SID_LEN);
        return 0;
    }
    if (s->count >= s->max) {
        s->cursor = 0;
        sweep(s, s->cap);
    }
    if (s->count >= s->max || ((s->count + 1) * 4 > s->cap * 3 && !grow(s))) {
        act_free(blob);
        *out = new_reply(-ENOSPC, 0);
        return 0;
    }
    entry_t n = {.expires_ms = now + s->ttl_ms, .len = q->len, .blob = blob};
    do {
        if (dyn_random_bytes(n.sid, DYN__SID_LEN) != 0) {
            act_free(blob);
            *out = new_reply(-EIO, 0);
            return 0;
        }
    } while (lookup(s, n.sid)); /* 2^-256: but an id must never name two sessions */
    place(s, &n);
    s->count++;
    *out = new_reply(0, 0);
    memcpy((*out)->sid, n.sid, DYN__SID_LEN);
    return 0;
}

static int s_call(void *state, act_msg_t *m, act_msg_t **reply)
{
    server_t *s = state;
    const req_t *q = (const req_t *)m;
    reply_t *r = NULL;
    switch (m->type) {
    case MSG_GET: {
        entry_t *e = lookup(s, q->sid);
        int64_t now = now_ms();
        if (e && e->expires_ms <= now) {
            remove_at(s, (size_t)(e - s->slots));
            e = NULL;
        }
        if (!e) {
            r = new_reply(-ENOENT, 0);
        } else {
            e->expires_ms = now + s->ttl_ms;
            r = new_reply(0, e->len);
            memcpy(r->blob, e->blob, e->len);
        }
        break;
    }
    case MSG_PUT:
        do_put(s, q, &r);
        break;
    case MSG_DELETE: {
        entry_t *e = lookup(s, q->sid);
        if (e)
            remove_at(s, (size_t)(e - s->slots));
        r = new_reply(e ? 0 : -ENOENT, 0);
        break;
    }
    case MSG_COUNT:
        r = new_reply(0, 0);
        r->count = (int64_t)s->count;
        break;
    default:
        return ACT_EBADARG;
    }
    *reply = &r->hdr;
    return 0;
}

static int s_info(void *state, act_msg_t *m)
{
    server_t *s = state;
    if (m->type == MSG_SWEEP) {
        if (sweep(s, SWEEP_BATCH))
            arm(s);
        else
            act_send(act_self(), act_msg_alloc(sizeof(act_msg_t), MSG_SWEEP));
    }
    return 0;
}

static void s_terminate(void *state, int reason)
{
    (void)reason;
    server_t *s = state;
    act_timer_cancel(s->timer, NULL);
    for (size_t i = 0; i < s->cap; i++)
        act_free(s->slots[i].blob);
    act_free(s->slots);
    s->slots = NULL;
}

static const act_server_t session_server = {
    .state_size = sizeof(server_t),
    .init = s_init,
    .handle_call = s_call,
    .handle_info = s_info,
    .terminate = s_terminate,
};

static const char *server_name(const dyn_session_server_opts_t *o)
{
    return o && o->name ? o->name : DEFAULT_NAME;
}

int dyn_session_server_child_start(const act_child_start_t *cs, act_pid_t *out)
{
    const dyn_session_server_opts_t *o = cs->spec->mod;
    act_server_opts_t so = {.name = server_name(o), .sched = cs->sched};
    return act_server_start_link(&session_server, (void *)o, &so, out);
}

int dyn_session_server_start_link(const dyn_session_server_opts_t *o, act_pid_t *out)
{
    act_server_opts_t so = {.name = server_name(o)};
    return act_server_start_link(&session_server, (void *)o, &so, out);
}

int64_t dyn_session_server_count(const char *name)
{
    act_msg_t *m = act_msg_alloc(sizeof(req_t), MSG_COUNT);
    act_msg_t *r;
    int rc = act_server_call_name(name ? name : DEFAULT_NAME, m, &r);
    if (rc)
        return rc;
    int64_t n = ((reply_t *)r)->count;
    act_msg_free(r);
    return n;
}

/* ---- the store table (request fibers) ----------------------------------------------------- */

typedef struct client {
    const char *server;
    const char *purpose; /* the cookie's name */
    int64_t timeout_ms;
    size_t max_bytes;
    dyn_keyring_t kr;
} client_t;

static int c_init(const void *opts, const dyn_dynamo_t *d, const char *cookie_key,
                  const dyn_cookie_opts_t *cookie, void **out)
{
    const dyn_server_store_opts_t *o = opts;
    (void)cookie; /* the store's time to live governs, not the cookie's */
    client_t *c = act_calloc(1, sizeof *c);
    if (!c)
        return ACT_ENOMEM;
    c->server = o && o->server ? o->server : DEFAULT_NAME;
    c->purpose = cookie_key;
    c->timeout_ms = o && o->call_timeout_ms > 0 ? o->call_timeout_ms : 2000;
    c->max_bytes = o && o->max_session_bytes ? o->max_session_bytes : 65536;
    int rc = dyn_keyring_derive_dynamo(&c->kr, d, o && o->salt ? o->salt : "dynamo session id");
    if (rc) {
        act_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void c_deinit(void *state)
{
    client_t *c = state;
    if (c)
        dyn_keyring_wipe(&c->kr);
    act_free(c);
}

static int call(const client_t *c, act_msg_t *m, reply_t **r)
{
    act_msg_t *rep;
    int rc = act_call(act_whereis(c->server), m, c->timeout_ms, &rep, NULL);
    if (rc == 0)
        *r = (reply_t *)rep;
    return rc;
}

/* The id text an id's cookie holds is the signed id; put and delete get the raw id in
 * base64url (a NUL-terminated handle for the plug). */
static void c_get(dyn_conn_t *conn, void *state, const char *cookie, size_t len, const char **sid,
                  dyn_map_t **map)
{
    client_t *c = state;
    dyn_arena_t *a = dyn_conn_arena(conn);
    uint8_t id[DYN__SID_LEN];
    if (!dyn__server_session_id(a, &c->kr, c->purpose, cookie, len, id))
        return;
    req_t *q = act_msg_new(req_t, MSG_GET);
    memcpy(q->sid, id, DYN__SID_LEN);
    q->has_sid = true;
    q->len = 0;
    reply_t *r;
    int rc = call(c, &q->hdr, &r);
    if (rc) {
        dyn__log(conn->inst, DYN_LOG_WARN, "session store %s unreachable (%s): an empty session",
                 c->server, dyn_strerror(rc));
        return;
    }
    if (r->rc == 0) {
        dyn_map_t *m;
        if (dyn__term_decode(a, r->blob, r->len, NULL, &m) == 0) {
            char *text = dyn_alloc(conn, DYN_BASE64URL_LEN(DYN__SID_LEN) + 1);
            dyn_base64url_encode(text, id, DYN__SID_LEN);
            *sid = text;
            *map = m;
        }
    }
    act_msg_free(&r->hdr);
}

static bool sid_of(const char *text, uint8_t id[DYN__SID_LEN])
{
    return text && dyn_base64url_decode(id, text, strlen(text)) == DYN__SID_LEN;
}

static const char *c_put(dyn_conn_t *conn, void *state, const char *sid, const dyn_map_t *map)
{
    client_t *c = state;
    dyn_buf_t b;
    dyn_buf_init(&b, dyn_conn_arena(conn), 256);
    const char *bad = NULL;
    int rc = dyn__term_encode(&b, map, &bad);
    if (rc == ACT_EBADARG)
        dyn__conn_fail(conn, rc, "session value \"%s\" is a pointer: sessions hold data only",
                       bad ? bad : "?");
    if (rc)
        dyn__conn_fail(conn, rc, "cannot encode the session: %s", dyn_strerror(rc));
    if (b.len > c->max_bytes)
        dyn__conn_fail(conn, DYN_ELIMIT,
                       "the session holds %zu bytes, past the store's limit of %zu "
                       "(max_session_bytes)",
                       b.len, c->max_bytes);
    req_t *q = (req_t *)act_msg_alloc(sizeof *q + b.len, MSG_PUT);
    q->has_sid = sid_of(sid, q->sid);
    q->len = (uint32_t)b.len;
    memcpy(q->blob, b.data, b.len);
    reply_t *r;
    if ((rc = call(c, &q->hdr, &r)) != 0)
        dyn__conn_fail(conn, rc, "session store %s unreachable: %s", c->server, dyn_strerror(rc));
    int status = r->rc;
    uint8_t id[DYN__SID_LEN];
    memcpy(id, r->sid, DYN__SID_LEN);
    act_msg_free(&r->hdr);
    if (status == -ENOSPC)
        dyn_raise(conn, 503, "session store %s is full (max_sessions)", c->server);
    if (status)
        dyn__conn_fail(conn, status, "session store %s: %s", c->server, dyn_strerror(status));
    char *value = dyn_sign(dyn_conn_arena(conn), &c->kr, c->purpose, id, DYN__SID_LEN, 0);
    if (!value)
        dyn__conn_fail(conn, ACT_ENOMEM, "no memory for the session cookie");
    return value;
}

static void c_delete(dyn_conn_t *conn, void *state, const char *sid)
{
    client_t *c = state;
    req_t *q = act_msg_new(req_t, MSG_DELETE);
    if (!sid_of(sid, q->sid)) {
        act_msg_free(&q->hdr);
        return;
    }
    q->has_sid = true;
    q->len = 0;
    reply_t *r;
    if (call(c, &q->hdr, &r) == 0)
        act_msg_free(&r->hdr);
    (void)conn;
}

const dyn_session_store_t dyn_session_server_store = {
    .name = "server",
    .init = c_init,
    .get = c_get,
    .put = c_put,
    .delete = c_delete,
    .deinit = c_deinit,
};
