/*
 * session_bench: the CPU cost of a cookie-store session fetch and update, as a request pays it,
 * without the server around it (scripts/bench-session.sh measures the same through wrk).
 *
 *   session_bench [ITERATIONS]
 *
 * One operation is what GET /session of dynamo_bench does with its cookie: parse the Cookie
 * header (three cookies), decrypt and decode the session (AES-256-GCM, a user id, a CSRF token,
 * a flash message and a visit counter), change the counter, encode and encrypt it again, and
 * format its Set-Cookie line. Keys are derived once, as the session plug does at start. Prints
 * one JSON line per figure: the CPU time per operation (CLOCK_PROCESS_CPUTIME_ID, one thread),
 * and the same for the decrypt+decode and encode+encrypt halves. Then the whole operation again
 * with each AES-256-GCM (crypto.c, gcm_run: libsodium's where the CPU has AES-NI, OpenSSL's
 * elsewhere), alternated in rounds so both see the same machine. Under callgrind
 * (valgrind --tool=callgrind session_bench 20000) it gives instructions per operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cookie_int.h"
#include "crypto_int.h"
#include "session_int.h"

#define SECRET "session_bench-secret-session_bench-secret-session_bench-secret-!!"
#define KEY "_bench_session"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(const char *bench, double us)
{
    printf("{\"peer\":\"dynamo\",\"bench\":\"%s\",\"metric\":\"cpu_per_op\",\"value\":%.3f,"
           "\"unit\":\"us\",\"schedulers\":1}\n",
           bench, us);
}

/* The first session: what a logged-in user's cookie holds. */
static char *first_cookie(dyn_arena_t *a, const dyn_keyring_t *kr)
{
    dyn_map_t *m = dyn_map_new(a);
    dyn_map_put(m, "user_id", dyn_vint(4242));
    dyn_map_put(m, "_csrf_token", dyn_vstr("k3JqF0dN2b7lX9wQe1RzT4yU6iO8pAsDfGhJkLzXcVb"));
    dyn_map_put(m, "flash", dyn_vstr("Welcome back!"));
    dyn_map_put(m, "visits", dyn_vint(1));
    dyn_buf_t b;
    dyn_buf_init(&b, a, 256);
    dyn__term_encode(&b, m, NULL);
    return dyn_encrypt(a, kr, KEY, b.data, b.len, 0);
}

/* The request's half that reads: the Cookie header parsed, the session decrypted, decoded. */
static dyn_map_t *fetch(dyn_arena_t *a, const dyn_keyring_t *kr, const char *header, size_t hlen)
{
    dyn_map_t *cookies = dyn_map_new(a);
    dyn__cookies_parse(cookies, header, hlen, 64, 4096);
    const char *value = dyn_value_str(dyn_map_get(cookies, KEY), NULL);
    dyn_map_t *session;
    bool ok;
    dyn__cookie_session_decode(a, kr, KEY, false, 0, value, strlen(value), &session, &ok);
    if (!ok) {
        fprintf(stderr, "session_bench: the cookie did not decode\n");
        exit(1);
    }
    return session;
}

/* The half that writes: the counter changed, the session encoded, encrypted, its Set-Cookie. */
static void update(dyn_arena_t *a, const dyn_keyring_t *kr, dyn_map_t *session)
{
    dyn_map_put(session, "visits", dyn_vint(dyn_value_int(dyn_map_get(session, "visits"), 0) + 1));
    dyn_buf_t b;
    dyn_buf_init(&b, a, 256);
    dyn__term_encode(&b, session, NULL);
    char *out = dyn_encrypt(a, kr, KEY, b.data, b.len, 0);
    dyn_buf_t sc;
    dyn_buf_init(&sc, a, 256);
    dyn__cookie_format_trusted(&sc, KEY, out, NULL, 1700000000, NULL, 0); /* as the plug does */
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    dyn_keyring_t kr;
    if (dyn_keyring_derive(&kr, SECRET, NULL, "dynamo session cookie") != 0)
        return 1;
    dyn_arena_t *setup = dyn_arena_new();
    char *cookie = first_cookie(setup, &kr);
    char header[4096];
    snprintf(header, sizeof header, "theme=dark; %s=%s; _ga=GA1.2.1234567890.1234567890", KEY,
             cookie);
    size_t hlen = strlen(header);
    /* Each loop is timed as a whole: the process CPU clock is a system call, too dear to read
     * per operation. An arena per operation, as a request has. */
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        dyn_arena_t *a = dyn_arena_new();
        update(a, &kr, fetch(a, &kr, header, hlen));
        dyn_arena_free(a);
    }
    double t1 = cpu_now();
    for (long i = 0; i < n; i++) {
        dyn_arena_t *a = dyn_arena_new();
        fetch(a, &kr, header, hlen);
        dyn_arena_free(a);
    }
    double t2 = cpu_now();
    dyn_map_t *session = fetch(setup, &kr, header, hlen);
    for (long i = 0; i < n; i++) {
        dyn_arena_t *a = dyn_arena_new();
        update(a, &kr, session);
        dyn_arena_free(a);
    }
    double t3 = cpu_now();
    /* The whole operation with each AES-256-GCM, five alternated rounds of n / 5 each; the
     * figures above used the one this CPU gets. */
    const char *impl = dyn__crypto_set_aead(0) > 0 ? "libsodium" : "OpenSSL";
    double with[2] = {0, 0};
    for (int round = 0; round < 10; round++) {
        int which = round % 2 ? -1 : 1;
        if (dyn__crypto_set_aead(which) != which)
            continue;
        double r0 = cpu_now();
        for (long i = 0; i < n / 5; i++) {
            dyn_arena_t *a = dyn_arena_new();
            update(a, &kr, fetch(a, &kr, header, hlen));
            dyn_arena_free(a);
        }
        with[round % 2] += cpu_now() - r0;
    }
    dyn__crypto_set_aead(0);
    emit("session cookie fetch+update", (t1 - t0) * 1e6 / (double)n);
    emit("session cookie fetch (parse, decrypt, decode)", (t2 - t1) * 1e6 / (double)n);
    emit("session cookie update (encode, encrypt, Set-Cookie)", (t3 - t2) * 1e6 / (double)n);
    if (with[0] > 0)
        emit("session cookie fetch+update, libsodium's AES-256-GCM", with[0] * 1e6 / (double)n);
    emit("session cookie fetch+update, OpenSSL's AES-256-GCM", with[1] * 1e6 / (double)n);
    fprintf(stderr, "session_bench: %ld operations, a session cookie of %zu bytes, %s's AES-GCM\n",
            n, strlen(cookie), impl);
    dyn_arena_free(setup);
    return 0;
}
