/*
 * Versions of web code and their references (src/code.c): the lock-free current-version token
 * under threads that acquire and release while another swaps versions in, as requests and the
 * reloader do. Each version is freed exactly once, after its last holder; a holder never sees
 * a version older than one it saw before; nothing leaks. Run under ThreadSanitizer (races) and
 * AddressSanitizer (a use after free would be one).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "dyn_util.h"
#include "web_int.h"

TestSuite(code, .init = dy_init, .fini = dy_fini, .timeout = TMO(120));

#define READERS 4
#define SWAPS 2000

static _Atomic uint64_t current;
static _Atomic int stop;
static _Atomic uint64_t acquired;

/* A version whose memory a use after free would touch. */
static dyn__code_t *version(uint64_t n)
{
    dyn__code_t *c = act_calloc(1, sizeof *c);
    c->version = n;
    return c;
}

static void *reader(void *arg)
{
    (void)arg;
    uint64_t last = 0;
    while (!atomic_load(&stop)) {
        dyn__code_t *c = dyn__code_acquire(&current);
        if (!DY_CHECK(c != NULL))
            break;
        uint64_t v = c->version; /* read while held */
        DY_CHECK(v >= last);     /* versions only move forward */
        last = v;
        atomic_fetch_add_explicit(&acquired, 1, memory_order_relaxed);
        dyn__code_release(c);
    }
    return NULL;
}

DY_TEST(code, readers_never_see_a_freed_or_older_version_while_versions_swap)
{
    unsigned alive0 = dyn__code_alive();
    dyn__code_t *owned = version(1);
    cr_assert_eq(dyn__code_publish(owned), 0);
    atomic_store(&current, owned->token);
    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, reader, NULL), 0);
    for (uint64_t n = 2; n <= SWAPS; n++) {
        dyn__code_t *next = version(n);
        cr_assert_eq(dyn__code_publish(next), 0);
        atomic_store_explicit(&current, next->token, memory_order_release);
        dyn__code_release(owned);
        owned = next;
        if (n % 64 == 0)
            sched_yield();
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(t[i], NULL);
    cr_assert_gt(atomic_load(&acquired), 0);
    cr_assert_eq(dyn__code_alive(), alive0 + 1, "only the current version is left");
    atomic_store(&current, 0);
    dyn__code_release(owned);
    cr_assert_eq(dyn__code_alive(), alive0);
}

DY_TEST(code, a_held_version_outlives_its_swap_and_goes_with_its_last_holder)
{
    unsigned alive0 = dyn__code_alive();
    dyn__code_t *a = version(1);
    cr_assert_eq(dyn__code_publish(a), 0);
    atomic_store(&current, a->token);
    dyn__code_t *h1 = dyn__code_acquire(&current);
    dyn__code_t *h2 = dyn__code_acquire(&current);
    cr_assert_eq(h1, a);
    cr_assert_eq(h2, a);
    dyn__code_t *b = version(2);
    cr_assert_eq(dyn__code_publish(b), 0);
    atomic_store(&current, b->token);
    dyn__code_release(a); /* the publisher's reference: two requests still hold it */
    cr_assert_eq(dyn__code_alive(), alive0 + 2);
    cr_assert_eq(dyn__code_acquire(&current), b, "new holders get the new version");
    dyn__code_release(b);
    dyn__code_release(h1);
    cr_assert_eq(dyn__code_alive(), alive0 + 2);
    cr_assert_eq(h2->version, 1);
    dyn__code_release(h2);
    cr_assert_eq(dyn__code_alive(), alive0 + 1, "freed with its last holder");
    atomic_store(&current, 0);
    cr_assert_null(dyn__code_acquire(&current), "no current version");
    dyn__code_release(b);
    cr_assert_eq(dyn__code_alive(), alive0);
}
