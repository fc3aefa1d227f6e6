/*
 * The request id plug (plug.h, Plug.RequestId): keeps a valid incoming id, else makes one, and
 * puts it on the conn and the response.
 *
 * A valid id is 20 to 200 characters of [A-Za-z0-9+/=_.-]: what other servers' ids look like,
 * and nothing that could split a log line or a logfmt field. New ids are 20 characters of
 * base64url from a per-thread generator (splitmix64 seeded from getrandom): unique, not
 * secret, and no system call per request.
 */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../conn_int.h"
#include "dynamo/crypto.h"

#define ID_LEN 20

typedef struct state {
    char name[64]; /* the header, lowercased */
    uint32_t len;
} state_t;

static __thread uint64_t rng;
static __thread bool seeded;

static uint64_t next(void)
{
    if (ACT_UNLIKELY(!seeded)) {
        if (getrandom(&rng, sizeof rng, GRND_NONBLOCK) != sizeof rng) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&ts;
        }
        seeded = true;
    }
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static bool valid(const char *s)
{
    if (!s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '/' || ch == '=' || ch == '_' || ch == '.' || ch == '-'))
            return false;
        if (n > 200)
            return false;
    }
    return n >= 20 && n <= 200;
}

static int init(const void *opts, void **state)
{
    const dyn_request_id_opts_t *o = opts;
    const char *h = o && o->header ? o->header : "x-request-id";
    size_t n = strlen(h);
    state_t *s = act_calloc(1, sizeof *s);
    if (!s)
        return ACT_ENOMEM;
    if (n == 0 || n >= sizeof s->name) {
        act_free(s);
        return ACT_EBADARG;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_')) {
            act_free(s);
            return ACT_EBADARG;
        }
        s->name[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
    }
    s->len = (uint32_t)n;
    *state = s;
    return 0;
}

static void deinit(void *state)
{
    act_free(state);
}

static dyn_conn_t *call(dyn_conn_t *c, void *state)
{
    const state_t *st = state;
    const char *id = dyn_conn_req_header(c, st->name);
    if (!valid(id)) {
        uint64_t r[2] = {next(), next()}; /* 120 of their bits: 20 characters */
        char *s = dyn_alloc(c, ID_LEN + 1);
        dyn_base64url_encode(s, r, ID_LEN / 4 * 3);
        id = s;
    }
    c->request_id = id;
    dyn__resp_header_trusted(c, st->name, st->len, id, (uint32_t)strlen(id));
    return c;
}

const dyn_plug_t dyn_plug_request_id = {
    .name = "request_id",
    .init = init,
    .call = call,
    .deinit = deinit,
};
