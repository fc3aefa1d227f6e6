/*
 * What the runtime core offers the behaviours built on it (src/otp/: start handshakes,
 * supervisors, servers, applications). The core knows none of them: they use the public API
 * plus the few services below, and never the core's structures (actor_int.h).
 */
#ifndef ACT_CORE_INT_H
#define ACT_CORE_INT_H

#include "actor/act.h"

/* act_msg_t._flags: the low 16 bits are the core's, the high 16 the behaviours' (otp_int.h). */
#define ACT__MSG_FLAGS_BEHAVIOUR 0xffff0000u

/* True if the caller may wait in act_receive: a fiber actor, or a foreign thread. */
bool act__can_wait(void);
/* True if the caller traps exits (a foreign thread's proxy always does). */
bool act__self_traps(void);
/* The exit reason a plain actor's init or handler means by returning rc: the reason given to
 * act_stop when rc is its marker, rc itself otherwise. The calling actor only. */
int act__exit_reason_of(int rc);

/* In a plain actor's handler, for a message msg the actor holds (it took it earlier with
 * act_msg_keep): runs fn(state, msg) as if msg were the message being handled now, so that
 * act_msg_keep inside fn keeps it, and frees msg afterwards unless fn kept it. Returns fn's
 * result. If fn fails (act_fail), msg goes with the actor like the message being handled; the
 * handler must therefore have kept (and freed, or stored) its own message before. A server
 * replays the messages it set aside while suspended this way. */
int act__handle_held(int (*fn)(void *state, act_msg_t *msg), void *state, act_msg_t *msg);

/* A message that reaches a dead actor (it was queued when the actor died, or arrived after)
 * is freed, unless its type has a bounce function: then fn takes it and returns the answer
 * its protocol gives for "no such actor" (a start request hands back what it carried), or
 * NULL, with the answer's destination in *to; the core sends that answer from the dead
 * actor's pid, as it answers its own link and monitor requests. A behaviour registers fn for
 * its own types, below ACT_MSG_USER, before such messages can be sent. fn runs on whatever
 * thread drains the dead mailbox, only while the system runs, and must not block. Any
 * thread. */
typedef act_msg_t *(*act__bounce_fn)(act_msg_t *msg, act_pid_t *to);
void act__msg_bounce_set(uint32_t type, act__bounce_fn fn);

#endif
