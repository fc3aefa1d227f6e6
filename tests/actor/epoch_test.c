/*
 * Epoch-based reclamation (actor/src/epoch_int.h, on ck_epoch): nothing retired is freed while
 * a section that could have seen it is open; everything is freed once those sections close;
 * entries of threads that do not poll, or that leave, are freed by others; and a threaded
 * stress in which readers dereference objects that writers swap out and retire (a premature
 * free shows as a dead canary, and under ASan as a use-after-free report).
 *
 * No actor system runs here: the collector is used on its own, as the runtime uses it.
 */
#include <pthread.h>
#include <sched.h>

#include "epoch_int.h"
#include "test_util.h"

static int64_t blocks_before;

static void epoch_setup(void)
{
    blocks_before = act_mem_live_blocks();
    act__epoch_init();
}

static void epoch_teardown(void)
{
    act__epoch_deinit();
    cr_expect_eq(act_mem_live_blocks(), blocks_before, "epoch records or entries leaked");
}

TestSuite(epoch, .init = epoch_setup, .fini = epoch_teardown, .timeout = TMO(30));

typedef struct {
    act__epoch_entry_t e;
    int *freed; /* counts the callback's runs */
} obj_t;

static void obj_free(act__epoch_entry_t *e)
{
    obj_t *o = ACT_CONTAINER_OF(e, obj_t, e);
    (*o->freed)++;
    act_free(o);
}

static obj_t *obj_new(int *freed)
{
    obj_t *o = act_xcalloc(1, sizeof *o);
    o->freed = freed;
    return o;
}

/* Polls until the entry is freed or 10 polls pass; returns the polls used. */
static int poll_until_freed(act__epoch_rec_t *rec, const int *freed)
{
    int n = 0;
    while (!*freed && n < 10) {
        act__epoch_poll(rec);
        n++;
    }
    return n;
}

Test(epoch, retired_entry_waits_for_a_section_open_at_retire)
{
    act__epoch_rec_t *reader = act__epoch_register();
    act__epoch_rec_t *writer = act__epoch_register();
    int freed = 0;
    act__epoch_enter(reader);
    act__epoch_retire(writer, &obj_new(&freed)->e, obj_free);
    for (int i = 0; i < 100; i++)
        act__epoch_poll(writer);
    cr_assert_eq(freed, 0, "freed while a reader's section was open");
    act__epoch_exit(reader);
    poll_until_freed(writer, &freed);
    cr_assert_eq(freed, 1, "not freed after the section closed");
    cr_assert_eq(act__epoch_poll(writer), 0u);
    act__epoch_unregister(reader);
    act__epoch_unregister(writer);
}

Test(epoch, section_opened_after_retire_only_delays)
{
    act__epoch_rec_t *reader = act__epoch_register();
    act__epoch_rec_t *writer = act__epoch_register();
    int freed = 0;
    act__epoch_retire(writer, &obj_new(&freed)->e, obj_free);
    /* A reader that keeps entering and leaving never blocks reclamation for good. */
    for (int i = 0; i < 10 && !freed; i++) {
        act__epoch_enter(reader);
        act__epoch_poll(writer);
        act__epoch_exit(reader);
        act__epoch_poll(writer);
    }
    cr_assert_eq(freed, 1);
    act__epoch_unregister(reader);
    act__epoch_unregister(writer);
}

Test(epoch, nested_sections_close_at_the_outermost_exit)
{
    act__epoch_rec_t *reader = act__epoch_register();
    act__epoch_rec_t *writer = act__epoch_register();
    int freed = 0;
    act__epoch_enter(reader);
    act__epoch_enter(reader);
    act__epoch_retire(writer, &obj_new(&freed)->e, obj_free);
    act__epoch_exit(reader);
    for (int i = 0; i < 50; i++)
        act__epoch_poll(writer);
    cr_assert_eq(freed, 0, "the outer section is still open");
    act__epoch_exit(reader);
    poll_until_freed(writer, &freed);
    cr_assert_eq(freed, 1);
    act__epoch_unregister(reader);
    act__epoch_unregister(writer);
}

typedef struct {
    act__epoch_entry_t e;
    int id;
    int *runs; /* per id: times the callback ran */
} counted_t;

static void counted_free(act__epoch_entry_t *e)
{
    counted_t *o = ACT_CONTAINER_OF(e, counted_t, e);
    o->runs[o->id]++;
    act_free(o);
}

/* Entries spread over several epochs (polls advance it between retires) each run once. ck
 * keeps no order among them: nothing in the runtime relies on one. */
Test(epoch, entries_retired_across_epochs_each_run_once)
{
    act__epoch_rec_t *writer = act__epoch_register();
    int runs[32] = {0};
    for (int i = 0; i < 32; i++) {
        counted_t *o = act_xcalloc(1, sizeof *o);
        *o = (counted_t){.id = i, .runs = runs};
        act__epoch_retire(writer, &o->e, counted_free);
        if (i % 3 == 0)
            act__epoch_poll(writer);
    }
    for (int i = 0; i < 10 && act__epoch_poll(writer) > 0; i++)
        ;
    cr_assert_eq(act__epoch_poll(writer), 0u);
    for (int i = 0; i < 32; i++)
        cr_assert_eq(runs[i], 1, "entry %d ran %d times", i, runs[i]);
    act__epoch_unregister(writer);
}

Test(epoch, orphans_are_adopted_and_freed_by_a_poller)
{
    act__epoch_rec_t *reader = act__epoch_register();
    act__epoch_rec_t *poller = act__epoch_register();
    int freed = 0;
    act__epoch_enter(reader);
    act__epoch_retire(NULL, &obj_new(&freed)->e, obj_free); /* a thread without a record */
    for (int i = 0; i < 50; i++)
        act__epoch_poll(poller);
    cr_assert_eq(freed, 0, "an orphan was freed under an open section");
    act__epoch_exit(reader);
    poll_until_freed(poller, &freed);
    cr_assert_eq(freed, 1);
    act__epoch_unregister(reader);
    act__epoch_unregister(poller);
}

Test(epoch, unregister_hands_pending_entries_to_others)
{
    act__epoch_rec_t *reader = act__epoch_register();
    act__epoch_rec_t *leaver = act__epoch_register();
    act__epoch_rec_t *poller = act__epoch_register();
    int freed = 0;
    act__epoch_enter(reader);
    act__epoch_retire(leaver, &obj_new(&freed)->e, obj_free);
    act__epoch_unregister(leaver); /* the thread exits with the entry pending */
    act__epoch_poll(poller);
    cr_assert_eq(freed, 0);
    act__epoch_exit(reader);
    poll_until_freed(poller, &freed);
    cr_assert_eq(freed, 1);
    /* A released record is recycled, and comes back quiescent. */
    act__epoch_rec_t *again = act__epoch_register();
    cr_assert_eq(again, leaver);
    cr_assert_eq(again->ck.active, 0u);
    cr_assert_eq(again->depth, 0u);
    act__epoch_unregister(again);
    act__epoch_unregister(reader);
    act__epoch_unregister(poller);
}

Test(epoch, deinit_frees_what_is_still_pending)
{
    act__epoch_rec_t *reader = act__epoch_register();
    act__epoch_rec_t *writer = act__epoch_register();
    int freed = 0;
    act__epoch_enter(reader);
    for (int i = 0; i < 10; i++)
        act__epoch_retire(i % 2 ? writer : NULL, &obj_new(&freed)->e, obj_free);
    act__epoch_poll(writer);
    cr_assert_eq(freed, 0);
    act__epoch_exit(reader);
    /* The fixture's deinit runs the rest; check the count here. */
    act__epoch_deinit();
    cr_assert_eq(freed, 10);
    act__epoch_init();
}

/* ---- threaded stress ------------------------------------------------------------------------ */

#define SLOTS 16
#define READERS 2
#define WRITERS 2
#define LIVE 0x600dcafe600dcafeULL
#define DEAD 0xdeaddeaddeaddeadULL

typedef struct {
    act__epoch_entry_t e;
    _Atomic uint64_t canary;
    uint64_t payload[6];
} node_t;

typedef struct {
    node_t *_Atomic slot[SLOTS];
    _Atomic bool stop;
    _Atomic unsigned writers_done, readers_up;
    _Atomic uint64_t retired, freed, reads, bad;
} stress_t;

static stress_t *st;

static void node_free(act__epoch_entry_t *e)
{
    node_t *n = ACT_CONTAINER_OF(e, node_t, e);
    atomic_store_explicit(&n->canary, DEAD, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->freed, 1, memory_order_relaxed);
    act_free(n);
}

static node_t *node_new(uint64_t v)
{
    node_t *n = act_xmalloc(sizeof *n);
    atomic_init(&n->canary, LIVE);
    for (int i = 0; i < 6; i++)
        n->payload[i] = v + (uint64_t)i;
    return n;
}

static void reader(void *arg, unsigned id)
{
    (void)arg;
    act__epoch_rec_t *rec = act__epoch_register();
    atomic_fetch_add(&st->readers_up, 1);
    uint64_t x = id * 7919u, reads = 0;
    while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
        act__epoch_enter(rec);
        for (int k = 0; k < 8; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            /* acquire: pairs with the writer's release exchange (the node is initialized). */
            node_t *n = atomic_load_explicit(&st->slot[(x >> 33) % SLOTS], memory_order_acquire);
            /* Dereference it twice, with time in between for a writer to swap and retire it. */
            uint64_t c1 = atomic_load_explicit(&n->canary, memory_order_relaxed);
            uint64_t sum = 0;
            for (int i = 0; i < 6; i++)
                sum += n->payload[i] - n->payload[0];
            uint64_t c2 = atomic_load_explicit(&n->canary, memory_order_relaxed);
            if (c1 != LIVE || c2 != LIVE || sum != 15)
                atomic_fetch_add_explicit(&st->bad, 1, memory_order_relaxed);
            reads++;
        }
        act__epoch_exit(rec);
    }
    atomic_fetch_add(&st->reads, reads);
    act__epoch_unregister(rec);
}

static const uint64_t swaps_per_writer = TU_SCALED(200000, 50000);

/* Writer 0 retires into its own record, as a scheduler does; writer 1 retires every other
 * object as a thread without a record (the shared stack, adopted by whichever writer polls
 * next). Both give their record back now and then with entries still pending, and take one
 * again (usually the same, recycled), as threads come and go. */
static void writer(void *arg, unsigned id)
{
    (void)arg;
    act__epoch_rec_t *rec = act__epoch_register();
    while (atomic_load(&st->readers_up) < READERS)
        sched_yield();
    for (uint64_t i = 0; i < swaps_per_writer; i++) {
        node_t *n = node_new(i);
        /* seq_cst (an exchange): publishes n, makes the old node's last writes ours, and
         * unlinks it before the retire reads the epoch (epoch_int.h). */
        node_t *old = atomic_exchange(&st->slot[(i * 2 + id) % SLOTS], n);
        act__epoch_retire(id == 1 && i % 2 ? NULL : rec, &old->e, node_free);
        atomic_fetch_add_explicit(&st->retired, 1, memory_order_relaxed);
        if (i % 64 == 0)
            act__epoch_poll(rec);
        if (i % 5000 == 4999) {
            act__epoch_unregister(rec);
            rec = act__epoch_register();
        }
    }
    act__epoch_unregister(rec);
}

static void stress_thread(void *arg, unsigned i)
{
    if (i < READERS) {
        reader(arg, i);
        return;
    }
    writer(arg, i - READERS);
    /* The last writer done stops the readers. */
    if (atomic_fetch_add(&st->writers_done, 1) + 1 == WRITERS)
        atomic_store(&st->stop, true);
}

Test(epoch, readers_never_see_freed_objects_under_swap_and_retire)
{
    st = act_xcalloc(1, sizeof *st);
    for (int i = 0; i < SLOTS; i++)
        atomic_init(&st->slot[i], node_new(0));
    tu_threads(READERS + WRITERS, stress_thread, NULL);
    cr_assert_eq(atomic_load(&st->bad), 0u, "%llu reads saw a freed or torn object",
                 (unsigned long long)atomic_load(&st->bad));
    cr_assert_gt(atomic_load(&st->reads), 0u);
    cr_assert_eq(atomic_load(&st->retired), swaps_per_writer * WRITERS);
    /* Every section is closed now: a poller frees all that is left (the writers' pending
     * entries went to the shared stack when they unregistered). */
    act__epoch_rec_t *rec = act__epoch_register();
    for (int i = 0; i < 10 && atomic_load(&st->freed) < atomic_load(&st->retired); i++)
        act__epoch_poll(rec);
    cr_assert_eq(atomic_load(&st->freed), atomic_load(&st->retired), "entries never freed");
    act__epoch_unregister(rec);
    for (int i = 0; i < SLOTS; i++)
        act_free(atomic_load(&st->slot[i]));
    act_free(st);
}
