/*
 * tsan_plant: races planted across the runtime's Concurrency Kit structures, to show that the
 * TSan build still sees through them (actor/src/ck_int.h: ck built on compiler builtins, and the
 * edges of libck's compiled code annotated). Built only by the TSan build; ctest runs each case
 * and passes only if TSan reports the planted race in the planted function (the `_fixed` twins,
 * the same code without the bug, must report nothing, so the report is the plant's):
 *
 *   tsan_plant ring     the owner of a run queue touches an item after pushing it, a thief
 *                       reads it: the push publishes what came before it, not after
 *   tsan_plant epoch    a reader keeps using an object after its epoch section ended, while
 *                       a writer retires it and the collector frees it
 *
 * By hand: build/tsan/tests/tsan_plant ring (TSan prints "WARNING: ThreadSanitizer: data race"
 * naming plant_ring_owner and exits with 66).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "actor/mem.h"
#include "epoch_int.h"
#include "runq_int.h"

typedef struct {
    int field;
} item_t;

static bool fixed;

/* ---- the run queue -------------------------------------------------------------------------- */

static act__runq_t q;
static item_t ring_item;

static __attribute__((noinline)) void plant_ring_owner(void)
{
    ring_item.field = 1;
    act__runq_push(&q, &ring_item);
    if (!fixed)
        ring_item.field = 2; /* planted: the item belongs to whoever pops it now */
}

static __attribute__((noinline)) void *plant_ring_thief(void *arg)
{
    (void)arg;
    item_t *it;
    while (!(it = act__runq_pop(&q)))
        sched_yield();
    printf("ring: thief read %d\n", it->field);
    return NULL;
}

static void run_ring(void)
{
    act__runq_init(&q, 64);
    pthread_t thief;
    pthread_create(&thief, NULL, plant_ring_thief, NULL);
    plant_ring_owner();
    pthread_join(thief, NULL);
    act__runq_deinit(&q);
}

/* ---- the epoch collector -------------------------------------------------------------------- */

typedef struct {
    act__epoch_entry_t e;
    int payload;
} obj_t;

static obj_t *_Atomic shared;
static _Atomic bool loaded, freed;

static void obj_free(act__epoch_entry_t *e)
{
    act_free(ACT_CONTAINER_OF(e, obj_t, e));
    atomic_store(&freed, true);
}

static __attribute__((noinline)) void *plant_epoch_reader(void *arg)
{
    (void)arg;
    act__epoch_rec_t *rec = act__epoch_register();
    act__epoch_enter(rec);
    obj_t *o = atomic_load_explicit(&shared, memory_order_acquire);
    int v = o->payload;
    atomic_store(&loaded, true);
    if (fixed) {
        v += o->payload;
        act__epoch_exit(rec);
    } else {
        act__epoch_exit(rec);
        v += o->payload; /* planted: the section that protected o has ended */
    }
    printf("epoch: reader read %d\n", v);
    act__epoch_unregister(rec);
    return NULL;
}

static void run_epoch(void)
{
    act__epoch_init();
    obj_t *o = act_xmalloc(sizeof *o);
    o->payload = 21;
    atomic_store_explicit(&shared, o, memory_order_release);
    act__epoch_rec_t *rec = act__epoch_register();
    pthread_t reader;
    pthread_create(&reader, NULL, plant_epoch_reader, NULL);
    while (!atomic_load(&loaded))
        sched_yield();
    /* Unlink (a seq_cst exchange, as act__die clears a slot), retire, reclaim. */
    atomic_exchange(&shared, NULL);
    act__epoch_retire(rec, &o->e, obj_free);
    while (!atomic_load(&freed)) {
        act__epoch_poll(rec);
        sched_yield();
    }
    pthread_join(reader, NULL);
    act__epoch_unregister(rec);
    act__epoch_deinit();
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    fixed = strstr(c, "_fixed") != NULL;
    if (!strncmp(c, "ring", 4)) {
        run_ring();
    } else if (!strncmp(c, "epoch", 5)) {
        run_epoch();
    } else {
        fprintf(stderr, "usage: tsan_plant ring|ring_fixed|epoch|epoch_fixed\n");
        return 2;
    }
    return 0;
}
