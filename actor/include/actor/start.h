/*
 * Starting an actor as a supervised child: Erlang's proc_lib:start_link and init_ack.
 *
 * A supervisor's start function must spawn its child linked to the supervisor and return
 * only once the child is initialized (sup.h). act_server_child_start and act_sup_child_start
 * do that for servers and supervisors; act_start_link does it for any actor: a plain actor is
 * acknowledged when its init returns, a fiber acknowledges itself with act_init_ack when it
 * is ready.
 */
#ifndef ACT_START_H
#define ACT_START_H

#include "actor/actor.h"

/* Spawns an actor linked to the caller (opts->link is implied; opts->monitor must be NULL)
 * and waits up to timeout_ms (ACT_INFINITY: for ever) until it is initialized:
 * - a plain actor is initialized when its init returns 0 (the acknowledgement is automatic);
 *   an init that returns an error or act_stop(reason) unlinks from the caller first, so the
 *   caller gets that reason back without an exit signal;
 * - a fiber must call act_init_ack(0) once ready (or act_init_ack(error) to fail the start).
 * Returns 0 with *out (may be NULL) set; otherwise, as proc_lib's {error, Reason}, the reason
 * the child failed with: a negative error, the status given to act_init_ack, or a positive
 * reason (act_stop(ACT_SHUTDOWN), a user reason, ACT_KILLED...) -- so test for failure with
 * `!= 0`; ACT_ECHILDSTART if it exited normally before acknowledging; ACT_ETIMEDOUT (the
 * child is killed); ACT_ENOTFIBER; or an act_spawn error. A child that crashes during init
 * sends the caller an exit signal through the link (a caller that traps exits gets it
 * consumed). Fiber or foreign thread. */
ACT_API int act_start_link(const act_spawn_opts_t *opts, int64_t timeout_ms, act_pid_t *out);

/* In a fiber started by act_start_link: tells the starter the fiber is initialized (status 0)
 * and returns 0. With status < 0 it unlinks from the starter, tells it, and exits the fiber
 * with that reason (it does not return). Returns ACT_EBADARG if the fiber was not started by
 * act_start_link or has acknowledged already; ACT_ENOTFIBER outside a fiber. */
ACT_API int act_init_ack(int status);

/* The text of the calling thread's last failed start (act_start_link, act_server_start_link,
 * act_sup_start_link...): what the child said as it failed, e.g. a supervisor's "failed to
 * start child db: ACT_ETIMEDOUT (...)", nested as deep as the tree; "" if it said nothing (its
 * reason is the start's return value). Read it right after the failed call: the next start on
 * the thread replaces it. Never NULL. Any thread. */
#define ACT_START_FAILURE_MAX 512
ACT_API const char *act_start_failure(void);

#endif
