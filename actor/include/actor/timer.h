/*
 * Timers and sleeping.
 *
 * A timer delivers a message to a pid after a delay. Each scheduler keeps its timers in a heap
 * driven by one uv_timer_t of its loop; a timer can be cancelled from any thread, and a
 * successful cancel guarantees the message is never delivered (it is freed).
 */
#ifndef ACT_TIMER_H
#define ACT_TIMER_H

#include "actor/msg.h"

/* A timer handle (0 is never issued). */
typedef uint64_t act_timer_t;

/* Sends msg to pid after ms milliseconds (taking msg). *out (may be NULL) gets a handle for
 * act_timer_cancel. Returns 0, ACT_EBADARG (ms < 0) or ACT_ENOTRUNNING (msg freed). Any thread. */
ACT_API int act_send_after(act_pid_t pid, int64_t ms, act_msg_t *msg, act_timer_t *out);

/* Cancels a timer: its message is freed and never delivered. *remaining_ms (may be NULL) gets
 * the time that was left. Returns 0, or ACT_ENOTIMER if it already fired or was cancelled.
 * Any thread. */
ACT_API int act_timer_cancel(act_timer_t t, int64_t *remaining_ms);

/* Suspends the calling fiber (or foreign thread) for ms milliseconds; signals are handled
 * meanwhile. Returns 0 or ACT_ENOTFIBER in a plain actor. */
ACT_API int act_sleep(int64_t ms);

/* In a fiber: lets other actors run and handles pending signals, then continues. */
ACT_API int act_yield(void);

#endif
