/*
 * Versions of web modules and their references (web_int.h).
 *
 * The same scheme as the instance registry (inst.c): a fixed table of slots, one cache line
 * each, whose word packs a generation, a BUSY flag and a reference count:
 *
 *     gen:32 | BUSY:1 | refs:31
 *
 * - publish: CAS a free word (refs 0, not BUSY) to (gen+1, BUSY), store the version, then
 *   publish (gen+1, refs 1) with release order.
 * - acquire(token): CAS (gen, refs) -> (gen, refs+1) if the generation matches, refs > 0 and
 *   not BUSY. A Dynamo's current token is loaded first (acquire); if that version lost its
 *   last reference in between (the swap released it), the CAS fails on refs or generation
 *   and the loop reads the token again, which the swap replaced before releasing.
 * - release: fetch_sub (acq_rel); whoever takes refs from 1 to 0 frees the version, having
 *   read the pointer while holding its reference.
 * Versions are few (one per reload still held by a request), so 256 slots are plenty; a full
 * table makes a reload wait (-ENOSPC), never a request.
 */
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "web_int.h"

#include "actor/mem.h"

#define SLOTS 256
#define BUSY (1ull << 31)
#define REFS (BUSY - 1)
#define GEN(w) ((uint32_t)((w) >> 32))

typedef struct slot {
    _Alignas(64) _Atomic uint64_t word;
    dyn__code_t *_Atomic code;
} slot_t;

static slot_t slots[SLOTS];
static _Atomic unsigned alive;

void dyn__code_free(dyn__code_t *code)
{
    if (!code)
        return;
    dyn_routes_free(code->routes);
    if (code->handle)
        dlclose(code->handle);
    if (code->path) {
        unlink(code->path);
        act_free(code->path);
    }
    act_free(code);
}

int dyn__code_publish(dyn__code_t *code)
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
        code->token = gen << 32 | i;
        atomic_store_explicit(&s->code, code, memory_order_relaxed);
        atomic_fetch_add_explicit(&alive, 1, memory_order_relaxed);
        /* release: pairs with the acquire CAS of dyn__code_acquire */
        atomic_store_explicit(&s->word, gen << 32 | 1, memory_order_release);
        return 0;
    }
    return -ENOSPC;
}

dyn__code_t *dyn__code_acquire(_Atomic uint64_t *current)
{
    for (;;) {
        /* acquire: pairs with the release store of the swap (web.c), which published the
         * version before naming it current */
        uint64_t token = atomic_load_explicit(current, memory_order_acquire);
        if (!token)
            return NULL;
        slot_t *s = &slots[(uint32_t)token % SLOTS];
        uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
        while (GEN(w) == (uint32_t)(token >> 32) && !(w & BUSY) && (w & REFS)) {
            /* acquire: pairs with the publishing store of dyn__code_publish */
            if (atomic_compare_exchange_weak_explicit(&s->word, &w, w + 1, memory_order_acquire,
                                                      memory_order_relaxed))
                return atomic_load_explicit(&s->code, memory_order_relaxed);
        }
        /* that version was released meanwhile: the swap named another one first */
    }
}

void dyn__code_release(dyn__code_t *code)
{
    slot_t *s = &slots[(uint32_t)code->token % SLOTS];
    /* acq_rel: the last releaser must see every other holder's writes before freeing */
    uint64_t w = atomic_fetch_sub_explicit(&s->word, 1, memory_order_acq_rel);
    if ((w & REFS) == 1) {
        atomic_fetch_sub_explicit(&alive, 1, memory_order_relaxed);
        dyn__code_free(code);
    }
}

unsigned dyn__code_alive(void)
{
    return atomic_load_explicit(&alive, memory_order_relaxed);
}
