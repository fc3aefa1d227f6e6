/*
 * act_send: per-sender order, sends to dead pids (freed, never delivered), sends from foreign
 * threads, message ownership (the runtime frees a handled message unless the handler keeps
 * it; a kept message may be forwarded), and a large fan-out.
 */
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"

TestSuite(send, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

enum { MSG_SEQ = TU_INT + 100, MSG_DONE, MSG_REPORT, MSG_HOLD, MSG_FLUSH, MSG_FWD };

/* ---- an order checker: one counter per sender ----------------------------------------------- */

#define MAX_SENDERS 16

typedef struct {
    act_pid_t report;
    uint64_t next[MAX_SENDERS];
    uint64_t got, bad;
    unsigned done, senders;
} order_t;

static int order_init(void *state, void *arg)
{
    order_t *s = state;
    s->report = TU_PID(arg);
    return 0;
}

static int order_handle(void *state, act_msg_t *msg)
{
    order_t *s = state;
    tu_int_t *m = (tu_int_t *)msg;
    if (msg->type == MSG_SEQ) {
        unsigned sender = (unsigned)(m->v >> 32);
        uint64_t seq = (uint32_t)m->v;
        if (sender >= MAX_SENDERS || seq != s->next[sender])
            s->bad++;
        else
            s->next[sender]++;
        s->got++;
    } else if (msg->type == MSG_DONE) {
        s->senders = (unsigned)m->v;
        s->done++;
    }
    if (s->senders && s->done == s->senders) {
        tu_send_int(s->report, MSG_REPORT, (int64_t)s->got);
        tu_send_int(s->report, MSG_REPORT, (int64_t)s->bad);
        return act_stop(ACT_NORMAL);
    }
    return 0;
}

static const act_behaviour_t order_beh = {
    .name = "order", .init = order_init, .handle = order_handle};

#define THREADS 4
static const uint32_t per_thread = TU_SCALED(50000, 5000);

static void thread_sender(void *arg, unsigned i)
{
    act_pid_t to = *(act_pid_t *)arg;
    for (uint32_t k = 0; k < per_thread; k++)
        TU_CHECK(tu_send_int(to, MSG_SEQ, ((int64_t)i << 32) | k) == 0);
    tu_send_int(to, MSG_DONE, THREADS);
}

Test(send, keeps_per_sender_order_from_foreign_threads)
{
    act_pid_t pid = tu_spawn_plain(&order_beh, sizeof(order_t), TU_ARG(act_self()), NULL);
    tu_threads(THREADS, thread_sender, &pid);
    cr_assert_eq(tu_recv_int(MSG_REPORT, 10000), (int64_t)per_thread * THREADS, "lost messages");
    cr_assert_eq(tu_recv_int(MSG_REPORT, 10000), 0, "messages out of order");
}

/* Senders that are actors: each sends its sequence when told to, and must be named as `from`. */
typedef struct {
    act_pid_t to;
    unsigned index;
} sender_t;

static int sender_init(void *state, void *arg)
{
    sender_t *s = state;
    s->to = TU_PID(arg);
    return 0;
}

static int sender_handle(void *state, act_msg_t *msg)
{
    sender_t *s = state;
    s->index = (unsigned)((tu_int_t *)msg)->v;
    for (uint32_t k = 0; k < 10000; k++)
        tu_send_int(s->to, MSG_SEQ, ((int64_t)s->index << 32) | k);
    tu_send_int(s->to, MSG_DONE, (int64_t)s->index << 32);
    return act_stop(ACT_NORMAL);
}

static const act_behaviour_t sender_beh = {.init = sender_init, .handle = sender_handle};

typedef struct {
    act_pid_t report;
    act_pid_t senders[8];
    uint64_t next[8];
    uint64_t got, bad;
    unsigned done;
} from_t;

static int from_init(void *state, void *arg)
{
    ((from_t *)state)->report = TU_PID(arg);
    return 0;
}

static int from_handle(void *state, act_msg_t *msg)
{
    from_t *s = state;
    tu_int_t *m = (tu_int_t *)msg;
    if (msg->type == TU_PING) { /* the test gives the senders' pids, one by one */
        s->senders[s->done++] = (act_pid_t)m->v;
        if (s->done == 8)
            s->done = 0;
        return 0;
    }
    unsigned i = (unsigned)(m->v >> 32);
    if (i >= 8 || msg->from != s->senders[i])
        s->bad++;
    if (msg->type == MSG_DONE) {
        if (++s->done == 8) {
            tu_send_int(s->report, MSG_REPORT, (int64_t)s->got);
            tu_send_int(s->report, MSG_REPORT, (int64_t)s->bad);
            return act_stop(ACT_NORMAL);
        }
        return 0;
    }
    if (i < 8 && (uint32_t)m->v != s->next[i])
        s->bad++;
    else if (i < 8)
        s->next[i]++;
    s->got++;
    return 0;
}

static const act_behaviour_t from_beh = {.init = from_init, .handle = from_handle};

Test(send, keeps_per_sender_order_between_actors_and_names_the_sender)
{
    act_pid_t sink = tu_spawn_plain(&from_beh, sizeof(from_t), TU_ARG(act_self()), NULL);
    act_pid_t senders[8];
    for (int i = 0; i < 8; i++) {
        senders[i] = tu_spawn_plain(&sender_beh, sizeof(sender_t), TU_ARG(sink), NULL);
        tu_send_int(sink, TU_PING, (int64_t)senders[i]);
    }
    for (int i = 0; i < 8; i++)
        tu_send_int(senders[i], TU_INT, i);
    cr_assert_eq(tu_recv_int(MSG_REPORT, 10000), 80000);
    cr_assert_eq(tu_recv_int(MSG_REPORT, 10000), 0, "out of order or wrong `from`");
}

/* A thread that is not an actor and never asked for its pid still sends as someone: the reply
 * to `from` comes back to it (the guides' first example does exactly this from main). */
static int reply_handle(void *state, act_msg_t *msg)
{
    (void)state;
    tu_send_int(msg->from, MSG_REPORT, ((tu_int_t *)msg)->v + 1);
    return 0;
}

static const act_behaviour_t reply_beh = {.handle = reply_handle};

static void ask_replier(void *arg, unsigned i)
{
    act_pid_t replier = *(act_pid_t *)arg;
    TU_CHECK(tu_send_int(replier, TU_INT, 41 + i) == 0);
    TU_CHECK(tu_recv_int(MSG_REPORT, 10000) == 42 + i);
}

Test(send, a_foreign_thread_sending_first_gets_the_reply)
{
    act_pid_t replier = tu_spawn_plain(&reply_beh, 0, NULL, NULL);
    tu_threads(3, ask_replier, &replier);
}

/* ---- dead pids ------------------------------------------------------------------------------ */

static int stop_handle(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    return act_stop(ACT_NORMAL);
}

static const act_behaviour_t stop_beh = {.handle = stop_handle};

Test(send, send_to_dead_pid_returns_noproc_and_frees_the_message)
{
    act_pid_t pid = tu_spawn_plain(&stop_beh, 0, NULL, NULL);
    tu_send_int(pid, TU_INT, 0);
    cr_assert(tu_wait_dead(pid, 5000));
    int64_t before = act_mem_live_blocks();
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(tu_send_int(pid, TU_INT, i), ACT_ENOPROC);
    cr_assert_eq(tu_send_int(ACT_PID_NONE, TU_INT, 0), ACT_ENOPROC);
    cr_assert_eq(tu_send_int(((act_pid_t)7 << 32) | 0x7fffffffu, TU_INT, 0), ACT_ENOPROC,
                 "an index beyond the table");
    /* Nothing else allocates now: the 1002 messages are gone already. */
    cr_assert_lt(act_mem_live_blocks() - before, 10, "messages to dead pids are kept");
}

/* Holds each message until told to go on, so the mailbox fills up behind it. */
static _Atomic bool release_gate;

static int gate_handle(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    while (!atomic_load(&release_gate))
        usleep(100);
    return act_stop(ACT_NORMAL);
}

static const act_behaviour_t gate_beh = {.handle = gate_handle};

static void late_sender(void *arg, unsigned i)
{
    (void)i;
    act_pid_t to = *(act_pid_t *)arg;
    /* Races with the death: before it, during the drain, after it. */
    for (int k = 0; k < 20000; k++)
        tu_send_int(to, TU_INT, k);
}

Test(send, messages_queued_or_racing_at_death_are_freed)
{
    act_pid_t pid = tu_spawn_plain(&gate_beh, 0, NULL, NULL);
    for (int i = 0; i < 1000; i++)
        tu_send_int(pid, TU_INT, i);
    atomic_store(&release_gate, true);
    tu_threads(2, late_sender, &pid);
    cr_assert(tu_wait_dead(pid, 5000));
    tu_stop(); /* proves every message was freed */
}

/* ---- ownership ------------------------------------------------------------------------------ */

typedef struct {
    act_msg_t hdr;
    int64_t v;
    void *self; /* the message's own address when sent */
} tagged_t;

typedef struct {
    act_pid_t report;
    act_pid_t next; /* forward target */
    tagged_t *held[64];
    int nheld;
} keeper_t;

static int keeper_init(void *state, void *arg)
{
    ((keeper_t *)state)->report = TU_PID(arg);
    return 0;
}

static int keeper_handle(void *state, act_msg_t *msg)
{
    keeper_t *s = state;
    tagged_t *m = (tagged_t *)msg;
    switch (msg->type) {
    case TU_PING: /* learn the forward target */
        s->next = (act_pid_t)((tu_int_t *)msg)->v;
        break;
    case MSG_FWD: /* keep, then send the very message on */
        act_msg_keep(msg);
        act_send(s->next, msg);
        break;
    case MSG_HOLD:
        act_msg_keep(msg);
        if (TU_CHECK(s->nheld < 64))
            s->held[s->nheld++] = m;
        break;
    case MSG_FLUSH: { /* the held messages are intact after their handlers returned */
        int64_t sum = 0;
        for (int i = 0; i < s->nheld; i++) {
            TU_CHECK(s->held[i]->self == s->held[i]);
            sum += s->held[i]->v;
            act_msg_free(&s->held[i]->hdr);
        }
        s->nheld = 0;
        tu_send_int(s->report, MSG_REPORT, sum);
        break;
    }
    case MSG_SEQ: /* the second hop of a forward: report what arrived */
        TU_CHECK(m->self == m);
        tu_send_int(s->report, MSG_REPORT, m->v);
        break;
    default:
        break;
    }
    return 0;
}

static const act_behaviour_t keeper_beh = {
    .name = "keeper", .init = keeper_init, .handle = keeper_handle};

static void send_tagged(act_pid_t to, uint32_t type, int64_t v)
{
    tagged_t *m = act_msg_new(tagged_t, type);
    m->v = v;
    m->self = m;
    cr_assert_eq(act_send(to, &m->hdr), 0);
}

Test(send, kept_message_outlives_its_handler_and_is_freed_by_the_actor)
{
    act_pid_t k = tu_spawn_plain(&keeper_beh, sizeof(keeper_t), TU_ARG(act_self()), NULL);
    for (int i = 1; i <= 50; i++)
        send_tagged(k, MSG_HOLD, i);
    /* Other traffic in between reuses whatever memory a wrongly freed message had. */
    for (int i = 0; i < 200; i++)
        tu_send_int(k, TU_INT, i);
    send_tagged(k, MSG_FLUSH, 0);
    cr_assert_eq(tu_recv_int(MSG_REPORT, 5000), 50 * 51 / 2);
    cr_assert_eq(tu_failures(), 0);
}

Test(send, kept_message_can_be_forwarded_as_is)
{
    /* test -> a -> b -> test: each hop keeps the message and sends the same block on. */
    act_pid_t a = tu_spawn_plain(&keeper_beh, sizeof(keeper_t), TU_ARG(act_self()), NULL);
    act_pid_t b = tu_spawn_plain(&keeper_beh, sizeof(keeper_t), TU_ARG(act_self()), NULL);
    tu_send_int(b, TU_PING, (int64_t)act_self());
    tu_send_int(a, TU_PING, (int64_t)b);
    tagged_t *sent[100];
    for (int i = 0; i < 100; i++) {
        sent[i] = act_msg_new(tagged_t, MSG_FWD);
        sent[i]->v = i;
        sent[i]->self = sent[i];
        act_send(a, &sent[i]->hdr);
    }
    for (int i = 0; i < 100; i++) {
        act_msg_t *m;
        cr_assert_eq(act_receive_type(MSG_FWD, MS(5000), &m), 0);
        tagged_t *t = (tagged_t *)m;
        cr_assert_eq(t, sent[i], "a forwarded message is the same block, in order");
        cr_assert_eq(t->v, i);
        cr_assert_eq(m->from, b, "the last hop is the sender");
        act_msg_free(m);
    }
    cr_assert_eq(tu_failures(), 0);
}

Test(send, handled_messages_are_freed_when_the_handler_returns)
{
    act_pid_t k = tu_spawn_plain(&keeper_beh, sizeof(keeper_t), TU_ARG(act_self()), NULL);
    send_tagged(k, MSG_FLUSH, 0); /* warm up: the actor's first turn allocates its state */
    tu_recv_int(MSG_REPORT, 5000);
    int64_t before = act_mem_live_blocks();
    for (int i = 0; i < 2000; i++)
        tu_send_int(k, TU_INT, i);
    send_tagged(k, MSG_FLUSH, 0);
    cr_assert_eq(tu_recv_int(MSG_REPORT, 5000), 0);
    /* If handled messages were kept, 2000 blocks would remain. */
    cr_assert_lt(act_mem_live_blocks() - before, 50);
}

/* ---- fan-out -------------------------------------------------------------------------------- */

typedef struct {
    act_pid_t report;
} echo_t;

static int echo_init(void *state, void *arg)
{
    ((echo_t *)state)->report = TU_PID(arg);
    return 0;
}

static int echo_handle(void *state, act_msg_t *msg)
{
    echo_t *s = state;
    int64_t v = ((tu_int_t *)msg)->v;
    tu_send_int(s->report, MSG_REPORT, v);
    return v < 0 ? act_stop(ACT_NORMAL) : 0;
}

static const act_behaviour_t echo_beh = {.init = echo_init, .handle = echo_handle};

/* A fiber that fans a message out to n actors and gathers every answer. */
typedef struct {
    act_pid_t report;
    int n;
} fan_arg_t;

static void fan_fiber(void *arg)
{
    fan_arg_t *fa = arg;
    act_pid_t self = act_self();
    act_pid_t *kids = malloc((size_t)fa->n * sizeof *kids);
    for (int i = 0; i < fa->n; i++) {
        act_spawn_opts_t o = {
            .behaviour = &echo_beh, .state_size = sizeof(echo_t), .arg = TU_ARG(self)};
        TU_CHECK(act_spawn(&o, &kids[i]) == 0);
    }
    int64_t sum = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < fa->n; i++)
            tu_send_int(kids[i], TU_INT, round == 2 ? -1 - i : i);
        for (int i = 0; i < fa->n; i++) {
            act_msg_t *m;
            if (!TU_CHECK(act_receive_type(MSG_REPORT, MS(10000), &m) == 0))
                break;
            sum += ((tu_int_t *)m)->v;
            act_msg_free(m);
        }
    }
    free(kids);
    tu_send_int(fa->report, MSG_REPORT, sum);
}

Test(send, fan_out_to_thousands_of_actors_and_back)
{
    static fan_arg_t fa;
    fa.report = act_self();
    fa.n = TU_SCALED(5000, 1000);
    tu_spawn_fiber(fan_fiber, &fa, NULL);
    int64_t n = fa.n;
    /* rounds 0 and 1: sum of i; round 2: sum of -1-i. */
    int64_t want = 2 * (n * (n - 1) / 2) - (n * (n + 1) / 2);
    cr_assert_eq(tu_recv_int(MSG_REPORT, 30000), want);
    cr_assert_eq(tu_failures(), 0);
}
