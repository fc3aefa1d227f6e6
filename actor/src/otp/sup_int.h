/*
 * What the supervisor actor (sup.c) and its clients (sup_client.c) share: the requests a
 * supervisor answers (act_call) and its replies. A reply carries its data inline (entries,
 * then strings, addressed by offsets), so a reply dropped after a caller's timeout frees
 * everything with it.
 */
#ifndef ACT_SUP_INT_H
#define ACT_SUP_INT_H

#include "otp_int.h"

enum {
    ACT__SUP_WHICH,
    ACT__SUP_COUNT,
    ACT__SUP_START,
    ACT__SUP_ADD,
    ACT__SUP_TERMINATE,
    ACT__SUP_TERMINATE_PID,
    ACT__SUP_RESTART,
    ACT__SUP_DELETE
};

typedef struct {
    act_msg_t hdr;
    int op;
    act_pid_t pid;
    void *extra;
    int sched;
    act_child_spec_t spec; /* ACT__SUP_ADD (its id is `id` below) */
    char id[];             /* ACT__SUP_ADD, ACT__SUP_TERMINATE, ACT__SUP_RESTART, ACT__SUP_DELETE */
} act__sup_req_t;

typedef struct {
    size_t id_off; /* into the reply's data */
    act_pid_t pid;
    act_child_type_t type;
    act_restart_t restart;
    uint32_t restarts;
    bool restarting;
} act__sup_child_t;

typedef struct {
    act_msg_t hdr;
    int status;
    act_pid_t pid;
    act_strategy_t strategy;
    act_child_counts_t counts;
    size_t n;        /* act__sup_child_t entries at the start of data */
    size_t name_off; /* the supervisor's name, in data */
    size_t size;     /* bytes of data */
    _Alignas(16) unsigned char data[];
} act__sup_reply_t;

#endif
