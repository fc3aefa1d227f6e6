/*
 * Messages: a header (act_msg_t, the first member of every message) plus a payload.
 *
 * Ownership (STYLE section 5):
 * - act_msg_alloc() gives the caller a message; act_send() always takes it (delivered, or
 *   freed by the runtime when the pid is dead); the sender never touches it again.
 * - A plain actor's handler borrows the message it is given; the runtime frees it after the
 *   handler returns unless the handler called act_msg_keep() (then the actor frees it later
 *   with act_msg_free()).
 * - act_receive() gives the message to the caller, who frees it (or sends it on).
 * Large payloads travel by pointer inside the message, never copied.
 *
 * A user message is a struct whose first member is act_msg_t:
 *
 *     typedef struct { act_msg_t hdr; int n; } ping_t;
 *     ping_t *p = act_msg_new(ping_t, MSG_PING);
 *     p->n = 42;
 *     act_send(peer, &p->hdr);
 */
#ifndef ACT_MSG_H
#define ACT_MSG_H

#include "actor/types.h"

/* Private: the intrusive link of the runtime's lock-free queues. */
typedef struct act__node act__node_t;
struct act__node {
    act__node_t *_Atomic next;
};

typedef struct act_msg act_msg_t;
struct act_msg {
    act__node_t _node; /* private: mailbox link */
    uint32_t type;     /* ACT_MSG_* below ACT_MSG_USER, the application's from there */
    uint32_t _flags;   /* private */
    act_pid_t from;    /* sender, set by act_send: the actor's pid, a foreign thread's proxy
                        * pid (see act_self), or ACT_PID_NONE (a thread without a proxy, a
                        * libuv callback) */
    act_ref_t ref;     /* call correlation: set by act_call, copied by act_reply */
};

/* Message types the runtime delivers. Types from ACT_MSG_USER up are the application's. */
enum {
    ACT_MSG_EXIT = 1, /* an exit signal turned into a message (trap_exit): act_down_t */
    ACT_MSG_DOWN = 2, /* a monitored actor exited: act_down_t, hdr.ref = the monitor's ref */
    /* 0x40-0x7f: the OTP behaviours' messages (sup.h, server.h, app.h). */
    ACT_MSG_USER = 0x100,
};

/* Payload of ACT_MSG_EXIT and ACT_MSG_DOWN: who exited, why, and the failure text the actor
 * gave (act_failf), or an empty string. */
typedef struct act_down {
    act_msg_t hdr;
    act_pid_t pid;
    int reason;
    char text[]; /* NUL-terminated */
} act_down_t;

/* A message of `size` bytes (at least sizeof(act_msg_t)) with `type`; the payload after the
 * header is uninitialized. Stops the process if memory runs out (messages are small: put big
 * payloads behind a pointer). Any thread. */
ACT_API act_msg_t *act_msg_alloc(size_t size, uint32_t type);
#define act_msg_new(T, type) ((T *)act_msg_alloc(sizeof(T), (type)))

/* Frees a message the caller owns. NULL is ignored. Any thread. */
ACT_API void act_msg_free(act_msg_t *msg);

/* In a plain actor's handler: keep the message being handled past the handler's return; the
 * actor now owns it and frees it with act_msg_free (or sends it on). */
ACT_API void act_msg_keep(act_msg_t *msg);

/* Sends msg to pid and always takes it. Returns 0, or ACT_ENOPROC when pid is known dead (the
 * message is then freed; like Erlang's `!`, a send to a dead actor is not an error to the
 * sender, so most callers ignore the result). Messages from one sender to one receiver
 * arrive in the order sent. Any thread, never blocks, takes no lock. */
ACT_API int act_send(act_pid_t pid, act_msg_t *msg);

/* A match function for act_receive: true to take msg. Runs in the receiver; must not block. */
typedef bool (*act_match_fn)(const act_msg_t *msg, void *arg);

/* Selective receive: the oldest message for which match(msg, arg) is true (match NULL: any),
 * waiting up to timeout_ms (ACT_INFINITY: forever, 0: don't wait). Messages that don't match
 * stay queued, in order, for later receives. Exit signals and monitor notifications are
 * handled while waiting (a kill or an untrapped abnormal exit ends the actor here).
 * Returns 0 with *out owned by the caller, ACT_ETIMEDOUT, or ACT_ENOTFIBER in a plain actor.
 * In a fiber actor it suspends that actor only; on a foreign thread it blocks the thread.
 * A kill lands at a fiber's next receive, send or spawn and unwinds past its frames: free (or
 * copy out of) a received message before the next such call, or register its release with
 * act_fiber_on_exit, or a kill at that point leaks it. */
ACT_API int act_receive(act_match_fn match, void *arg, int64_t timeout_ms, act_msg_t **out);

/* act_receive for the first message of `type`. */
ACT_API int act_receive_type(uint32_t type, int64_t timeout_ms, act_msg_t **out);

/* Request/reply: sends req to pid (taking it) and waits up to timeout_ms for the reply that
 * act_reply() sends back. The wait is correlated by a fresh reference and guarded by a
 * monitor, so a dead or dying server fails the call at once. Returns 0 with *reply owned by
 * the caller, ACT_ETIMEDOUT (a late reply is dropped, never delivered), ACT_ENOPROC (no such
 * actor) or ACT_ECALLDOWN (the server exited before replying; *down_reason, if not NULL, gets
 * its exit reason). Fiber actors and foreign threads only (ACT_ENOTFIBER otherwise). */
ACT_API int act_call(act_pid_t pid, act_msg_t *req, int64_t timeout_ms, act_msg_t **reply,
                     int *down_reason);

/* Replies to a request received through act_call: sends reply (taking it) to req->from with
 * req's reference. The server may reply later, from another handler: keep req (or copy its
 * `from` and `ref` into a stub with act_reply_to). A fiber or foreign thread drops a reply
 * whose reference is not the one its act_call waits for; a reply to a message that was not a
 * call (ref 0) is delivered like any message. Any actor or thread. */
ACT_API int act_reply(const act_msg_t *req, act_msg_t *reply);
ACT_API int act_reply_to(act_pid_t to, act_ref_t ref, act_msg_t *reply);

/* True if msg is a reply sent with act_reply/act_reply_to. */
ACT_API bool act_msg_is_reply(const act_msg_t *msg);

#endif
