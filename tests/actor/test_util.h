/* Shared helpers of the actor suites: a system per test, scaled timeouts, message helpers. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdatomic.h>

#include "actor/act.h"

#ifndef DYN_TEST_TIMEOUT_SCALE
#define DYN_TEST_TIMEOUT_SCALE 1
#endif
/* Criterion's .timeout, in seconds, scaled for sanitizer builds. */
#define TMO(s) ((double)(s) * DYN_TEST_TIMEOUT_SCALE)
/* Milliseconds for waits inside tests, scaled the same way. */
#define MS(ms) ((int64_t)(ms) * DYN_TEST_TIMEOUT_SCALE)

/* Starts a system with n schedulers (0: default) for the current test; tu_stop checks that
 * stopping it leaves no live block behind. */
void tu_start(unsigned n);
void tu_stop(void);
void tu_start2(void); /* .init for most tests: 2 schedulers */

enum { TU_INT = ACT_MSG_USER + 1000, TU_PING, TU_PONG };

typedef struct {
    act_msg_t hdr;
    int64_t v;
} tu_int_t;

/* Sends an int message of type `type` to pid. */
int tu_send_int(act_pid_t pid, uint32_t type, int64_t v);
/* Receives the next message of `type` within ms, fails the test otherwise; returns its value. */
int64_t tu_recv_int(uint32_t type, int64_t ms);
/* Receives the next ACT_MSG_DOWN (or EXIT) within ms; fails otherwise. Caller frees. */
act_down_t *tu_recv_down(uint32_t type, int64_t ms);
/* Spins until pred() or ms elapse; returns pred(). */
bool tu_wait(bool (*pred)(void *), void *arg, int64_t ms);
/* Waits until pid is dead. */
bool tu_wait_dead(act_pid_t pid, int64_t ms);

#endif
