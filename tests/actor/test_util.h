/* Shared helpers of the actor suites: a system per test, scaled timeouts, message helpers. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>

#include "actor/act.h"

#ifndef DYN_TEST_TIMEOUT_SCALE
#define DYN_TEST_TIMEOUT_SCALE 1
#endif
/* Criterion's .timeout, in seconds, scaled for sanitizer builds. */
#define TMO(s) ((double)(s)*DYN_TEST_TIMEOUT_SCALE)
/* Milliseconds for waits inside tests, scaled the same way. */
#define MS(ms) ((int64_t)(ms)*DYN_TEST_TIMEOUT_SCALE)

/* Starts a system with n schedulers (0: default) for the current test; tu_stop checks that
 * no TU_CHECK failed and that stopping the system leaves no live block behind. As a .fini it
 * is caught by ctest (tests/CMakeLists.txt: Criterion ignores .fini's assertions); a test
 * whose point is that check calls it at the end of its body, where its assertions count. */
void tu_start(unsigned n);
void tu_stop(void);
void tu_start2(void); /* .init for most tests: 2 schedulers */
void tu_start1(void); /* one scheduler: every actor on the same thread */

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

/* Checks made off the test's thread (inside actors, fibers, helper threads), where Criterion's
 * assertions must not run (a failing one unwinds to the test's frame). A failed TU_CHECK prints
 * the expression and counts; tu_stop fails the test if any did, and tests may assert
 * tu_failures() == 0 earlier. Any thread. */
#define TU_CHECK(cond) tu_check(!!(cond), __FILE__, __LINE__, #cond)
bool tu_check(bool ok, const char *file, int line, const char *expr);
int tu_failures(void);

/* Pids travel through void *arg. */
#define TU_ARG(pid) ((void *)(uintptr_t)(pid))
#define TU_PID(arg) ((act_pid_t)(uintptr_t)(arg))

/* Spawns a fiber running fn(arg) (monitored when ref is not NULL); fails the test on error. */
act_pid_t tu_spawn_fiber(act_fiber_fn fn, void *arg, act_ref_t *ref);
/* Spawns a plain actor with a zeroed inline state of state_size bytes and init argument arg. */
act_pid_t tu_spawn_plain(const act_behaviour_t *b, size_t state_size, void *arg, act_ref_t *ref);

/* Runs fn(arg, i) on n new threads, i = 0..n-1, and joins them. */
void tu_threads(unsigned n, void (*fn)(void *arg, unsigned i), void *arg);

/* ---- the probe: an actor driven by commands, reporting what happens to it ----------------- */

enum { TU_CMD = ACT_MSG_USER + 1100, TU_SEEN_EXIT, TU_SEEN_DOWN, TU_TERMINATED, TU_RESULT };

/* What a probe does with a TU_CMD (v and pid are the command's arguments). */
enum {
    TU_OP_PING,            /* report TU_PONG with v */
    TU_OP_STOP,            /* plain: return act_stop(v); fiber: return from its function */
    TU_OP_RETURN,          /* plain: return v from the handler; fiber: act_fail(v) */
    TU_OP_FAIL,            /* act_fail(v) from a nested call */
    TU_OP_FAILF,           /* act_failf(v, "failf %d", v) */
    TU_OP_EXIT,            /* act_exit(pid, v) */
    TU_OP_LINK,            /* act_link(pid), report TU_RESULT with its result */
    TU_OP_UNLINK,          /* act_unlink(pid), report TU_RESULT */
    TU_OP_TRAP,            /* act_trap_exit(v), report TU_RESULT with the previous setting */
    TU_OP_MONITOR,         /* act_monitor(pid), report TU_RESULT with the ref */
    TU_OP_WAIT_GATE,       /* busy-wait until tu_gate is set, report TU_RESULT 0 */
    TU_OP_GATED_DEMONITOR, /* busy-wait until tu_gate is set, then act_demonitor(v, 0) and
                            * report TU_RESULT with its result */
};

typedef struct {
    act_msg_t hdr;
    int op;
    int64_t v;
    act_pid_t pid;
} tu_cmd_t;

/* A probe's report of an ACT_MSG_EXIT (TU_SEEN_EXIT) or ACT_MSG_DOWN (TU_SEEN_DOWN). */
typedef struct {
    act_msg_t hdr;
    act_pid_t self; /* the probe */
    act_pid_t pid;
    act_ref_t ref;
    int reason;
    char text[128];
} tu_seen_t;

extern _Atomic bool tu_gate;
/* Terminate calls of plain probes, and the last reason. */
extern _Atomic int tu_probe_terminated;
extern _Atomic int tu_probe_last_reason;

typedef struct {
    bool fiber;
    bool trap_exit;
    bool link;          /* to the caller */
    act_ref_t *monitor; /* monitored by the caller */
    int sched;
} tu_probe_opts_t;

/* Spawns a probe reporting to the caller (act_self(): a thread or an actor); fails the test on
 * error. */
act_pid_t tu_probe(tu_probe_opts_t o);
int tu_cmd(act_pid_t to, int op, int64_t v, act_pid_t pid);
/* Receives the next TU_SEEN_EXIT/TU_SEEN_DOWN within ms; fails otherwise. Caller frees. */
tu_seen_t *tu_recv_seen(uint32_t type, int64_t ms);
/* True if no message of `type` arrives within ms. */
bool tu_no_msg(uint32_t type, int64_t ms);

/* Process CPU time (user + system) in microseconds. */
int64_t tu_cpu_us(void);

/* Element counts for stress loops: the full count in optimized builds, a smaller one under the
 * sanitizers (which run 5-20x slower). */
#if defined(DYN_TSAN) || defined(DYN_ASAN)
#define TU_SCALED(full, sanitized) (sanitized)
#else
#define TU_SCALED(full, sanitized) (full)
#endif

#endif
