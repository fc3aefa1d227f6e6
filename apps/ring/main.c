/*
 * ring: the runtime's hello world. Starts an actor system (one scheduler per core), builds a
 * ring of N plain actors, sends a token around it M times and prints what it measured.
 *
 *   ring [ACTORS] [HOPS]          defaults: 1000 actors, 1,000,000 hops
 *
 * Every actor forwards the token to the next one with a decremented hop count; the one that
 * sees 0 tells the caller (the main thread, through its proxy pid) and the ring is torn down by
 * act_system_stop.
 */
#include <stdio.h>
#include <stdlib.h>

#include "actor/act.h"

enum { MSG_NEXT = ACT_MSG_USER, MSG_TOKEN, MSG_DONE };

typedef struct {
    act_msg_t hdr;
    act_pid_t pid;
} next_msg_t;

typedef struct {
    act_msg_t hdr;
    uint64_t hops;
} token_msg_t;

typedef struct {
    act_pid_t next;
    act_pid_t report_to;
} node_t;

static int node_handle(void *state, act_msg_t *msg)
{
    node_t *n = state;
    if (msg->type == MSG_NEXT) {
        n->next = ((next_msg_t *)msg)->pid;
        return 0;
    }
    token_msg_t *t = (token_msg_t *)msg;
    if (t->hops == 0) {
        act_send(n->report_to, act_msg_alloc(sizeof(act_msg_t), MSG_DONE));
        return 0;
    }
    /* Forward the very same message: no allocation per hop. */
    act_msg_keep(msg);
    t->hops--;
    act_send(n->next, msg);
    return 0;
}

static int node_init(void *state, void *arg)
{
    ((node_t *)state)->report_to = (act_pid_t)(uintptr_t)arg;
    return 0;
}

static const act_behaviour_t node_behaviour = {
    .name = "ring_node", .init = node_init, .handle = node_handle};

int main(int argc, char **argv)
{
    long actors = argc > 1 ? atol(argv[1]) : 1000;
    long hops = argc > 2 ? atol(argv[2]) : 1000000;
    if (actors < 1 || hops < 0) {
        fprintf(stderr, "usage: ring [ACTORS>=1] [HOPS>=0]\n");
        return 2;
    }
    int rc = act_system_start(NULL);
    if (rc) {
        fprintf(stderr, "ring: cannot start the actor system: %s\n", act_strerror(rc));
        return 1;
    }
    act_pid_t self = act_self();
    act_pid_t *pids = malloc(sizeof *pids * (size_t)actors);
    if (!pids) {
        fprintf(stderr, "ring: out of memory\n");
        return 1;
    }
    int64_t t0 = act_now_ms();
    for (long i = 0; i < actors; i++) {
        act_spawn_opts_t o = {.behaviour = &node_behaviour,
                              .state_size = sizeof(node_t),
                              .arg = (void *)(uintptr_t)self};
        if ((rc = act_spawn(&o, &pids[i]))) {
            fprintf(stderr, "ring: spawn: %s\n", act_strerror(rc));
            return 1;
        }
    }
    for (long i = 0; i < actors; i++) {
        next_msg_t *m = act_msg_new(next_msg_t, MSG_NEXT);
        m->pid = pids[(i + 1) % actors];
        act_send(pids[i], &m->hdr);
    }
    int64_t t1 = act_now_ms();
    token_msg_t *tok = act_msg_new(token_msg_t, MSG_TOKEN);
    tok->hops = (uint64_t)hops;
    act_send(pids[0], &tok->hdr);
    act_msg_t *done;
    act_receive_type(MSG_DONE, ACT_INFINITY, &done);
    act_msg_free(done);
    int64_t t2 = act_now_ms();
    double secs = (double)(t2 - t1) / 1000.0;
    printf("ring: %ld actors on %u schedulers, built in %lld ms; %ld hops in %.3f s "
           "(%.1f M hops/s)\n",
           actors, act_sched_count(), (long long)(t1 - t0), hops, secs,
           secs > 0 ? (double)hops / secs / 1e6 : 0.0);
    free(pids);
    act_system_stop();
    return 0;
}
