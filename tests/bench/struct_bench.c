/*
 * struct_bench: the runtime's concurrent structures on their own, each beside the Concurrency
 * Kit structure that could take its place, so the choice written in each file's opening comment
 * can be measured again (mpsc_int.h, runq_int.h, epoch_int.h, slots_int.h, registry.c).
 *
 *   struct_bench MODE
 *
 * Modes (one JSON line each, "impl" names the structure measured):
 *   mailbox_1p, mailbox_4p  1 or 4 producer threads push 4M messages in all to one consumer:
 *                           the intrusive Vyukov queue of the mailboxes, then ck_fifo_mpmc
 *                           (its entries preallocated, which favours ck: a mailbox would have
 *                           to allocate one per message)
 *   runq_owner              a scheduler's run queue: the owner pushes and pops 10M times
 *   runq_steal              the owner pushes 4M actors and pops a third, a thief the rest
 *   epoch_section           enter + exit of an epoch section, 20M times
 *   epoch_retire            4M objects retired and reclaimed while another thread keeps
 *                           entering and leaving sections
 *   slots                   two threads allocate and free pid slots through the shared free
 *                           stack (no per-thread cache), then the same on ck_stack_mpmc
 *   registry                act_whereis over 1,000 registered names, 10M lookups, then the
 *                           same lookups in a ck_hs set of the same entries (single writer,
 *                           lock-free readers, inside an epoch section as act_whereis reads)
 * Figures are ns per operation (lower is better), from one run: run it several times.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actor/act.h"
#include "epoch_int.h"
#include "mpsc_int.h"
#include "runq_int.h"
#include "slots_int.h"

#include <ck_fifo.h> /* after the runtime's headers: they bring ck in its own build */
#include <ck_hs.h>
#include <ck_stack.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(const char *bench, const char *impl, double ns, unsigned threads)
{
    printf("{\"peer\":\"dynamo\",\"bench\":\"%s\",\"impl\":\"%s\",\"metric\":\"latency\","
           "\"value\":%.3f,\"unit\":\"ns/op\",\"schedulers\":%u}\n",
           bench, impl, ns, threads);
    fflush(stdout);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = act_calloc_aligned(64, n * size);
    if (!p) {
        fprintf(stderr, "struct_bench: out of memory\n");
        exit(1);
    }
    return p;
}

/* Runs fn(arg, i) on n threads and returns the seconds between start and the last join. */
static double run_threads(unsigned n, void *(*fn)(void *), void **args)
{
    pthread_t th[8];
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++)
        pthread_create(&th[i], NULL, fn, args[i]);
    for (unsigned i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    return now_s() - t0;
}

/* ---- mailboxes ------------------------------------------------------------------------------ */

#define MAIL_TOTAL 4000000u

/* ck_fifo_mpmc and ck_stack_mpmc need a double-width CAS, which ck offers only through its
 * assembly (not in the builtins build of the TSan preset): those halves are skipped there. */
#if !defined(CK_F_FIFO_MPMC)
typedef struct {
    void *value;
} ck_fifo_mpmc_entry_t;
typedef ck_fifo_mpmc_entry_t ck_fifo_mpmc_t;
#define ck_fifo_mpmc_init(f, stub) ((void)(f), (void)(stub))
#define ck_fifo_mpmc_enqueue(f, e, v) abort()
#define ck_fifo_mpmc_dequeue(f, v, g) ((void)(v), (void)(g), abort(), false)
#endif
#if !defined(CK_F_STACK_POP_MPMC)
#define ck_stack_pop_mpmc(s) (abort(), (ck_stack_entry_t *)NULL)
#define ck_stack_push_mpmc(s, e) abort()
#endif

typedef struct {
    act__mpsc_t q;
    ck_fifo_mpmc_t fifo;
    bool use_ck;
    unsigned producers;
} mail_t;

typedef struct {
    mail_t *m;
    unsigned id; /* 0: the consumer */
    act__node_t *nodes;
    ck_fifo_mpmc_entry_t *entries;
} mail_arg_t;

static void *mail_thread(void *p)
{
    mail_arg_t *a = p;
    mail_t *m = a->m;
    uint32_t per = MAIL_TOTAL / m->producers;
    if (a->id > 0) {
        for (uint32_t i = 0; i < per; i++) {
            if (m->use_ck)
                ck_fifo_mpmc_enqueue(&m->fifo, &a->entries[i], &a->nodes[i]);
            else
                act__mpsc_push(&m->q, &a->nodes[i]);
        }
        return NULL;
    }
    uint64_t got = 0, want = (uint64_t)per * m->producers;
    while (got < want) {
        if (m->use_ck) {
            void *v;
            ck_fifo_mpmc_entry_t *garbage;
            got += ck_fifo_mpmc_dequeue(&m->fifo, &v, &garbage);
        } else {
            got += act__mpsc_pop(&m->q) != NULL;
        }
    }
    return NULL;
}

static void bench_mailbox(const char *name, unsigned producers, bool use_ck)
{
    mail_t *m = xcalloc(1, sizeof *m);
    m->producers = producers;
    m->use_ck = use_ck;
    act__mpsc_init(&m->q, false);
    ck_fifo_mpmc_entry_t *stub = xcalloc(1, sizeof *stub);
    ck_fifo_mpmc_init(&m->fifo, stub);
    mail_arg_t args[8];
    void *argp[8];
    uint32_t per = MAIL_TOTAL / producers;
    for (unsigned i = 0; i <= producers; i++) {
        args[i] = (mail_arg_t){.m = m, .id = i};
        if (i > 0) {
            args[i].nodes = xcalloc(per, sizeof(act__node_t));
            args[i].entries = use_ck ? xcalloc(per, sizeof(ck_fifo_mpmc_entry_t)) : NULL;
        }
        argp[i] = &args[i];
    }
    double s = run_threads(producers + 1, mail_thread, argp);
    emit(name, use_ck ? "ck_fifo_mpmc" : "vyukov_mpsc", s * 1e9 / ((double)per * producers),
         producers + 1);
    for (unsigned i = 1; i <= producers; i++) {
        act_free(args[i].nodes);
        act_free(args[i].entries);
    }
    act_free(stub);
    act_free(m);
}

/* ---- run queues ----------------------------------------------------------------------------- */

#define ITEM(i) ((void *)(uintptr_t)((i) + 1))

static void bench_runq_owner(void)
{
    act__runq_t q;
    act__runq_init(&q, 1024);
    for (uintptr_t i = 0; i < 100; i++)
        act__runq_push(&q, ITEM(i)); /* a queue with some work in it, as a busy scheduler's */
    const uint32_t n = 10000000;
    uintptr_t sum = 0;
    double t0 = now_s();
    for (uint32_t i = 0; i < n; i++) {
        act__runq_push(&q, ITEM(i));
        sum += (uintptr_t)act__runq_pop(&q);
    }
    double s = now_s() - t0;
    if (sum == 0)
        abort();
    emit("runq_owner", "runq", s * 1e9 / n, 1);
    act__runq_deinit(&q);
}

#define STEAL_ITEMS 4000000u

typedef struct {
    act__runq_t q;
    _Atomic bool done;
    _Atomic uint64_t taken;
} steal_t;

static void *steal_thread(void *p)
{
    steal_t *st = p;
    uint64_t n = 0;
    for (;;) {
        bool done = atomic_load(&st->done);
        if (act__runq_pop(&st->q))
            n++;
        else if (done)
            break;
    }
    atomic_fetch_add(&st->taken, n);
    return NULL;
}

static void *owner_thread(void *p)
{
    steal_t *st = p;
    uint64_t n = 0;
    for (uint32_t i = 0; i < STEAL_ITEMS; i++) {
        while (!act__runq_push(&st->q, ITEM(i)))
            n += act__runq_pop(&st->q) != NULL;
        if (i % 3 == 0)
            n += act__runq_pop(&st->q) != NULL;
    }
    atomic_store(&st->done, true);
    while (act__runq_pop(&st->q))
        n++;
    atomic_fetch_add(&st->taken, n);
    return NULL;
}

static void *owner_or_thief(void *p)
{
    void **a = p;
    return a[1] ? owner_thread(a[0]) : steal_thread(a[0]);
}

static void bench_runq_steal(void)
{
    steal_t *st = xcalloc(1, sizeof *st);
    act__runq_init(&st->q, 1024);
    void *owner[2] = {st, st}, *thief[2] = {st, NULL};
    void *argp[2] = {owner, thief};
    double s = run_threads(2, owner_or_thief, argp);
    if (atomic_load(&st->taken) != STEAL_ITEMS)
        abort();
    emit("runq_steal", "runq", s * 1e9 / STEAL_ITEMS, 2);
    act__runq_deinit(&st->q);
    act_free(st);
}

/* ---- epochs --------------------------------------------------------------------------------- */

static void bench_epoch_section(void)
{
    act__epoch_init();
    act__epoch_rec_t *r = act__epoch_register();
    act__epoch_rec_t *other = act__epoch_register(); /* a second record, as a scheduler peer */
    const uint32_t n = 20000000;
    double t0 = now_s();
    for (uint32_t i = 0; i < n; i++) {
        act__epoch_enter(r);
        act__epoch_exit(r);
    }
    emit("epoch_section", "epoch", (now_s() - t0) * 1e9 / n, 1);
    act__epoch_unregister(other);
    act__epoch_unregister(r);
    act__epoch_deinit();
}

#define RETIRE_OBJECTS 4000000u

typedef struct {
    act__epoch_entry_t e;
    uint64_t payload;
} obj_t;

static _Atomic bool retire_done;
static _Atomic uint64_t retire_freed;

static void obj_free(act__epoch_entry_t *e)
{
    atomic_fetch_add_explicit(&retire_freed, 1, memory_order_relaxed);
    act_free(ACT_CONTAINER_OF(e, obj_t, e));
}

static void *retire_thread(void *p)
{
    act__epoch_rec_t *r = act__epoch_register();
    if (p) {
        while (!atomic_load_explicit(&retire_done, memory_order_relaxed)) {
            act__epoch_enter(r);
            act__epoch_exit(r);
        }
    } else {
        for (uint32_t i = 0; i < RETIRE_OBJECTS; i++) {
            obj_t *o = act_xmalloc(sizeof *o);
            act__epoch_retire(r, &o->e, obj_free);
            if (i % 64 == 63)
                act__epoch_poll(r);
        }
        while (act__epoch_poll(r) > 0)
            ;
        atomic_store(&retire_done, true);
    }
    act__epoch_unregister(r);
    return NULL;
}

static void bench_epoch_retire(void)
{
    act__epoch_init();
    void *argp[2] = {NULL, (void *)1};
    double s = run_threads(2, retire_thread, argp);
    act__epoch_deinit();
    if (atomic_load(&retire_freed) != RETIRE_OBJECTS)
        abort();
    emit("epoch_retire", "epoch", s * 1e9 / RETIRE_OBJECTS, 2);
}

/* ---- pid slots' shared free stack against ck_stack ------------------------------------------ */

#define SLOT_OPS 4000000u

typedef struct {
    ck_stack_entry_t link;
    uint32_t idx;
} ck_slot_t;

static ck_stack_t ck_slots;

static void *slots_thread(void *p)
{
    bool use_ck = p != NULL;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < SLOT_OPS; i++) {
        if (use_ck) {
            ck_stack_entry_t *e = ck_stack_pop_mpmc(&ck_slots);
            sum += ((ck_slot_t *)e)->idx;
            ck_stack_push_mpmc(&ck_slots, e);
        } else {
            act_pid_t pid;
            act__slot_alloc(NULL, &pid);
            sum += (uint32_t)pid;
            act__slot_free(NULL, (uint32_t)pid);
        }
    }
    return sum ? NULL : p;
}

static void bench_slots(bool use_ck)
{
    ck_slot_t *all = NULL;
    if (use_ck) {
        ck_stack_init(&ck_slots);
        all = xcalloc(1024, sizeof *all);
        for (uint32_t i = 0; i < 1024; i++) {
            all[i].idx = i + 1;
            ck_stack_push_mpmc(&ck_slots, &all[i].link);
        }
    } else {
        act__slots_init(1u << 20);
    }
    void *argp[2] = {use_ck ? (void *)1 : NULL, use_ck ? (void *)1 : NULL};
    double s = run_threads(2, slots_thread, argp);
    emit(use_ck ? "slots_ck_stack" : "slots_shared", use_ck ? "ck_stack_mpmc" : "slots",
         s * 1e9 / (2.0 * SLOT_OPS), 2);
    if (use_ck)
        act_free(all);
    else
        act__slots_deinit();
}

/* ---- registry ------------------------------------------------------------------------------- */

static int idle_handle(void *state, act_msg_t *msg)
{
    (void)state;
    return msg->type == ACT_MSG_USER ? act_stop(ACT_NORMAL) : 0;
}

typedef struct {
    unsigned long hash;
    const char *name;
    act_pid_t pid;
} hs_entry_t;

static unsigned long hs_fnv(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a, as a registry would hash */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (unsigned long)h;
}

static unsigned long hs_hash(const void *o, unsigned long seed)
{
    (void)seed;
    return ((const hs_entry_t *)o)->hash;
}

static bool hs_compare(const void *a, const void *b)
{
    const hs_entry_t *x = a, *y = b;
    return x->hash == y->hash && strcmp(x->name, y->name) == 0;
}

static void *hs_malloc(size_t n)
{
    return act_malloc(n);
}

static void hs_free(void *p, size_t n, bool defer)
{
    (void)n;
    (void)defer; /* single-threaded here */
    act_free(p);
}

static void bench_registry(void)
{
    static const act_behaviour_t idle = {.name = "idle", .handle = idle_handle};
    act_system_start(&(act_config_t){.schedulers = 1});
    static char names[1000][32];
    static hs_entry_t entries[1000];
    struct ck_malloc alloc = {.malloc = hs_malloc, .free = hs_free};
    ck_hs_t hs;
    ck_hs_init(&hs, CK_HS_MODE_SPMC | CK_HS_MODE_OBJECT | CK_HS_MODE_DELETE, hs_hash, hs_compare,
               &alloc, 64, 0);
    for (int i = 0; i < 1000; i++) {
        act_pid_t pid;
        act_spawn(&(act_spawn_opts_t){.behaviour = &idle}, &pid);
        snprintf(names[i], sizeof names[i], "service.%d", i);
        act_register(names[i], pid);
        entries[i] = (hs_entry_t){hs_fnv(names[i]), names[i], pid};
        ck_hs_put(&hs, entries[i].hash, &entries[i]);
    }
    const uint32_t n = 10000000;
    uint64_t found = 0;
    double t0 = now_s();
    for (uint32_t i = 0; i < n; i++)
        found += act_whereis(names[(i * 7) % 1000]) != ACT_PID_NONE;
    emit("registry", "registry", (now_s() - t0) * 1e9 / n, 1);
    act_system_stop();

    act__epoch_init();
    act__epoch_rec_t *r = act__epoch_register();
    t0 = now_s();
    for (uint32_t i = 0; i < n; i++) {
        const char *name = names[(i * 7) % 1000];
        hs_entry_t key = {hs_fnv(name), name, 0};
        act__epoch_enter(r);
        const hs_entry_t *e = ck_hs_get(&hs, key.hash, &key);
        found += e && e->pid != ACT_PID_NONE;
        act__epoch_exit(r);
    }
    emit("registry", "ck_hs", (now_s() - t0) * 1e9 / n, 1);
    act__epoch_unregister(r);
    act__epoch_deinit();
    ck_hs_destroy(&hs);
    if (found != 2ull * n)
        abort();
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "mailbox_1p") || !strcmp(mode, "mailbox_4p")) {
        unsigned p = mode[8] - '0';
        bench_mailbox(mode, p, false);
#if defined(CK_F_FIFO_MPMC)
        bench_mailbox(mode, p, true);
#endif
    } else if (!strcmp(mode, "runq_owner")) {
        bench_runq_owner();
    } else if (!strcmp(mode, "runq_steal")) {
        bench_runq_steal();
    } else if (!strcmp(mode, "epoch_section")) {
        bench_epoch_section();
    } else if (!strcmp(mode, "epoch_retire")) {
        bench_epoch_retire();
    } else if (!strcmp(mode, "slots")) {
        bench_slots(false);
#if defined(CK_F_STACK_POP_MPMC)
        bench_slots(true);
#endif
    } else if (!strcmp(mode, "registry")) {
        bench_registry();
    } else {
        fprintf(stderr, "usage: struct_bench mailbox_1p|mailbox_4p|runq_owner|runq_steal|"
                        "epoch_section|epoch_retire|slots|registry\n");
        return 2;
    }
    return 0;
}
