/*
 * The name registry: register/whereis/unregister/send_name, names released at death, the
 * error cases, many names (table growth), concurrent use from several threads, foreach.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

TestSuite(registry, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

Test(registry, register_whereis_send_name_unregister)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    cr_assert_eq(act_whereis("svc"), ACT_PID_NONE);
    cr_assert_eq(act_register("svc", p), 0);
    cr_assert_eq(act_whereis("svc"), p);
    cr_assert_eq(act_whereis("svc2"), ACT_PID_NONE);
    cr_assert_eq(act_whereis("sv"), ACT_PID_NONE);
    tu_cmd_t *c = act_msg_new(tu_cmd_t, TU_CMD);
    c->op = TU_OP_PING;
    c->v = 77;
    cr_assert_eq(act_send_name("svc", &c->hdr), 0);
    cr_assert_eq(tu_recv_int(TU_PONG, 5000), 77);
    cr_assert_eq(act_unregister("svc"), 0);
    cr_assert_eq(act_whereis("svc"), ACT_PID_NONE);
    cr_assert_eq(act_unregister("svc"), ACT_ENONAME);
    /* send_name to an unknown name frees the message (tu_stop checks, below). */
    cr_assert_eq(act_send_name("svc", act_msg_alloc(sizeof(act_msg_t), TU_INT)), ACT_ENONAME);
    /* The pid may take a new name after unregistering. */
    cr_assert_eq(act_register("svc-b", p), 0);
    cr_assert_eq(act_whereis("svc-b"), p);
    /* Foreign threads' proxies can be named too. */
    cr_assert_eq(act_register("main", act_self()), 0);
    cr_assert_eq(act_whereis("main"), act_self());
    tu_stop();
}

Test(registry, name_is_released_when_the_actor_dies)
{
    for (int fiber = 0; fiber < 2; fiber++) {
        act_ref_t ref;
        act_pid_t p = tu_probe((tu_probe_opts_t){.fiber = fiber, .monitor = &ref});
        cr_assert_eq(act_register("mortal", p), 0);
        act_exit(p, ACT_KILL);
        /* The name goes before the monitors learn of the death. */
        act_msg_free(&tu_recv_down(ACT_MSG_DOWN, 5000)->hdr);
        cr_assert_eq(act_whereis("mortal"), ACT_PID_NONE, "a dead actor keeps its name");
        act_pid_t q = tu_probe((tu_probe_opts_t){0});
        cr_assert_eq(act_register("mortal", q), 0, "the name is free again");
        cr_assert_eq(act_unregister("mortal"), 0);
    }
    /* A thread's name goes when it detaches. */
    act_self();
    cr_assert_eq(act_register("thread", act_self()), 0);
    act_thread_detach();
    cr_assert_eq(act_whereis("thread"), ACT_PID_NONE);
}

Test(registry, errors)
{
    act_pid_t a = tu_probe((tu_probe_opts_t){0});
    act_pid_t b = tu_probe((tu_probe_opts_t){0});
    cr_assert_eq(act_register("x", a), 0);
    cr_assert_eq(act_register("x", b), ACT_ENAMETAKEN);
    cr_assert_eq(act_register("x", a), ACT_ENAMETAKEN);
    cr_assert_eq(act_register("y", a), ACT_EALREADYREG);
    cr_assert_eq(act_whereis("y"), ACT_PID_NONE);
    cr_assert_eq(act_whereis("x"), a);
    cr_assert_eq(act_register("", b), ACT_EBADARG);
    cr_assert_eq(act_register(NULL, b), ACT_EBADARG);
    char name[ACT_NAME_MAX + 2];
    memset(name, 'n', sizeof name);
    name[ACT_NAME_MAX + 1] = '\0';
    cr_assert_eq(act_register(name, b), ACT_EBADARG, "256 bytes is too long");
    name[ACT_NAME_MAX] = '\0';
    cr_assert_eq(act_register(name, b), 0, "255 bytes is fine");
    cr_assert_eq(act_whereis(name), b);
    act_exit(a, ACT_KILL);
    cr_assert(tu_wait_dead(a, 5000));
    cr_assert_eq(act_register("z", a), ACT_ENOPROC);
    cr_assert_eq(act_register("z", ACT_PID_NONE), ACT_ENOPROC);
    cr_assert_eq(act_whereis("z"), ACT_PID_NONE);
    cr_assert_eq(act_unregister(NULL), ACT_ENONAME);
    cr_assert_eq(act_whereis(NULL), ACT_PID_NONE);
}

typedef struct {
    int n;
    int bad;
    act_pid_t *pids;
} seen_t;

static void collect(const char *name, act_pid_t pid, void *arg)
{
    seen_t *s = arg;
    int i;
    if (sscanf(name, "n%d", &i) != 1 || i < 0 || i >= 2000 || s->pids[i] != pid)
        s->bad++;
    /* The registry may be used from the callback. */
    if (act_whereis(name) != pid)
        s->bad++;
    s->n++;
}

Test(registry, many_names_grow_the_table_and_foreach_sees_them_all)
{
    enum { N = 2000 };
    static act_pid_t pids[N];
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    for (int i = 0; i < N; i++) {
        /* One name per pid: spawn small actors. */
        pids[i] = i == 0 ? p : tu_probe((tu_probe_opts_t){0});
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        cr_assert_eq(act_register(name, pids[i]), 0, "%s", name);
    }
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        cr_assert_eq(act_whereis(name), pids[i], "%s", name);
    }
    seen_t s = {.pids = pids};
    act_registry_foreach(collect, &s);
    cr_assert_eq(s.n, N);
    cr_assert_eq(s.bad, 0);
    /* Remove every other one, then churn (tombstones force rebuilds). */
    for (int i = 0; i < N; i += 2) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        cr_assert_eq(act_unregister(name), 0);
    }
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < N; i += 2) {
            char name[32];
            snprintf(name, sizeof name, "n%d", i);
            cr_assert_eq(act_register(name, pids[i]), 0);
            cr_assert_eq(act_unregister(name), 0);
        }
    }
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        cr_assert_eq(act_whereis(name), i % 2 ? pids[i] : ACT_PID_NONE, "%s", name);
    }
    s = (seen_t){.pids = pids};
    act_registry_foreach(collect, &s);
    cr_assert_eq(s.n, N / 2);
    cr_assert_eq(s.bad, 0);
}

/* Threads register, look up and unregister their own names while others read them all. */
#define RTHREADS 4
static const int rounds = TU_SCALED(3000, 300);

typedef struct {
    act_pid_t pids[RTHREADS][8];
    _Atomic int wrong;
} conc_t;

static void reg_thread(void *arg, unsigned id)
{
    conc_t *c = arg;
    char mine[8][32];
    for (int k = 0; k < 8; k++)
        snprintf(mine[k], sizeof mine[k], "t%u-%d", id, k);
    /* Name 0 stays registered throughout (while the others grow and rebuild the table);
     * names 1..7 come and go. */
    TU_CHECK(act_register(mine[0], c->pids[id][0]) == 0);
    for (int r = 0; r < rounds; r++) {
        int k = 1 + r % 7;
        TU_CHECK(act_register(mine[k], c->pids[id][k]) == 0);
        if (act_whereis(mine[k]) != c->pids[id][k])
            atomic_fetch_add(&c->wrong, 1);
        if (act_whereis(mine[0]) != c->pids[id][0])
            atomic_fetch_add(&c->wrong, 1);
        /* Someone else's names: absent or right, never another pid. */
        unsigned other = (id + 1) % RTHREADS;
        int ok = (r * 3) % 8;
        char name[32];
        snprintf(name, sizeof name, "t%u-%d", other, ok);
        act_pid_t o = act_whereis(name);
        if (o != ACT_PID_NONE && o != c->pids[other][ok])
            atomic_fetch_add(&c->wrong, 1);
        TU_CHECK(act_unregister(mine[k]) == 0);
    }
    TU_CHECK(act_unregister(mine[0]) == 0);
}

Test(registry, concurrent_register_whereis_unregister)
{
    static conc_t c;
    for (int t = 0; t < RTHREADS; t++)
        for (int k = 0; k < 8; k++)
            c.pids[t][k] = tu_probe((tu_probe_opts_t){0});
    tu_threads(RTHREADS, reg_thread, &c);
    cr_assert_eq(atomic_load(&c.wrong), 0, "a lookup saw a wrong pid");
    cr_assert_eq(tu_failures(), 0);
}

/* Names of actors that die while others look them up and send to them. */
#define RACERS 500

typedef struct {
    _Atomic bool stop;
    _Atomic int wrong;
    act_pid_t _Atomic racers[RACERS]; /* every pid ever registered as "racer" */
    _Atomic int n;
} race_t;

static void reader_thread(void *arg, unsigned id)
{
    race_t *r = arg;
    (void)id;
    while (!atomic_load(&r->stop)) {
        act_pid_t p = act_whereis("racer");
        act_send_name("racer", act_msg_alloc(sizeof(act_msg_t), TU_INT));
        if (p == ACT_PID_NONE)
            continue;
        /* Whatever it finds was registered under that name at some point. */
        bool known = false;
        for (int i = atomic_load(&r->n) - 1; i >= 0 && !known; i--)
            known = atomic_load(&r->racers[i]) == p;
        if (!known)
            atomic_fetch_add(&r->wrong, 1);
    }
}

static void *readers(void *arg)
{
    tu_threads(2, reader_thread, arg);
    return NULL;
}

Test(registry, names_of_dying_actors_under_concurrent_lookups)
{
    static race_t r;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, readers, &r), 0);
    for (int i = 0; i < TU_SCALED(RACERS, 100); i++) {
        act_ref_t ref;
        act_pid_t p = tu_probe((tu_probe_opts_t){.monitor = &ref});
        atomic_store(&r.racers[i], p);
        atomic_store(&r.n, i + 1);
        int rc = act_register("racer", p);
        cr_assert(rc == 0, "round %d: %s (the last holder's death did not free it)", i,
                  act_strerror(rc));
        act_exit(p, ACT_KILL);
        /* The name goes before the monitors learn of the death. */
        act_msg_free(&tu_recv_down(ACT_MSG_DOWN, 5000)->hdr);
        cr_assert_eq(act_whereis("racer"), ACT_PID_NONE);
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&r.wrong), 0, "a lookup returned a pid never registered");
}
