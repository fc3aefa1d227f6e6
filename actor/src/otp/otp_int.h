/*
 * What the OTP behaviours share (start.c, sup.c, sup_client.c, server.c, app.c, node.c,
 * report.c): their private message types and flags, the start handshake and the report helper.
 * They sit on the core's public API plus core_int.h.
 *
 * The start handshake (proc_lib's init_ack). The starter spawns the child linked to itself and
 * waits for an ACK message from it (act__start_wait): status 0 once the child is initialized,
 * or an error. If the child dies first, the starter learns it from the link (a starter that
 * traps exits gets the EXIT message, so it needs no monitor: one signal less per restart, which
 * the supervisor's restart rate feels) or else from a monitor taken atomically at spawn. A
 * child whose init fails cleanly unlinks from the starter before it acknowledges: the UNLINK
 * reaches the starter before the ACK (one sender, one receiver: FIFO), so the starter is never
 * taken down by a start that merely failed.
 */
#ifndef ACT_OTP_INT_H
#define ACT_OTP_INT_H

#include "core_int.h"

/* Private message types, in the OTP range (0x40-0x7f; the public ones are in sup.h and
 * server.h). */
enum {
    ACT__MSG_ACK = 0x50, /* act__ack_t: child -> starter */
    ACT__MSG_SUP_REQ,    /* act__sup_req_t: a call to a supervisor */
    ACT__MSG_SUP_REPLY,  /* act__sup_reply_t */
    ACT__MSG_SUP_STOP,   /* act_sup_stop */
    ACT__MSG_SUP_RETRY,  /* a supervisor to itself: retry failed restarts */
    ACT__MSG_SRV_STOP,   /* act__srv_stop_t: act_server_stop */
    ACT__MSG_APP_REQ,    /* a call to the application controller */
    ACT__MSG_APP_REPLY,
    ACT__MSG_APP_QUIT,      /* the controller exits */
    ACT__MSG_SRV_SYS,       /* a system request to a server (sys) */
    ACT__MSG_SRV_SYS_REPLY, /* its answer */
    ACT__MSG_SRV_DRAIN,     /* a resumed server to itself: replay what it set aside */
};

/* server.c: the name of the servers' behaviour, as act_info reports it (by this address). */
extern const char act__server_kind[];

/* act_msg_t._flags bits of the behaviours (core_int.h's high half). */
#define ACT__MSG_CAST (1u << 16) /* sent by act_server_cast */
_Static_assert((ACT__MSG_CAST & ~ACT__MSG_FLAGS_BEHAVIOUR) == 0, "a behaviour's flag");

typedef struct act__ack {
    act_msg_t hdr;
    int status;
    char text[]; /* a failure's text ("failed to start child db: ..."), or "" */
} act__ack_t;

/* An ACK's status for a child that ignored its start (a server's act_server_ignore): the
 * start returns 0 with no pid. */
#define ACT__START_IGNORED 0x7fffffd0

/* Sends the ACK with status to the starter, with a failure's text (may be NULL). */
void act__ack(act_pid_t starter, int status, const char *text);
/* Waits for child's ACK: the starter is linked to child; mref is the monitor taken at spawn,
 * or 0 when the starter traps exits and relies on the link. On timeout the child is unlinked
 * and killed. Returns the ACK's status, the reason the child died with (ACT_ECHILDSTART if it
 * exited normally), or ACT_ETIMEDOUT; the failure's text (the ACK's, or the exit's) is then
 * act_start_failure(). */
int act__start_wait(act_pid_t child, act_ref_t mref, int64_t timeout_ms);
/* Sets (NULL: clears) the calling thread's act_start_failure() text. */
void act__start_failure_set(const char *text);
/* The status a failed init acknowledges: rc is an init's non-zero return (an error, or the
 * act_stop marker, whose reason is read from the actor): that reason, or ACT_ECHILDSTART for
 * ACT_NORMAL (a start cannot fail with 0). */
int act__init_status(int rc);

/* Waits up to timeout_ms for the DOWN of monitor mref (on `pid`), dropping the EXIT message
 * that pid's link may have queued before it. Returns 0 with *reason (may be NULL) set to the
 * exit reason, or ACT_ETIMEDOUT. */
int act__await_down(act_pid_t pid, act_ref_t mref, int64_t timeout_ms, int *reason);

/* Reports (report.c). act__report_on is a cheap check that lets callers skip the work of a
 * silenced report. */
bool act__report_on(void);
void act__report(act_report_kind_t kind, const char *who, act_pid_t who_pid, const char *child,
                 act_pid_t child_pid, int reason, const char *text, const char *action);
void act__report_node(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An exit reason as report text: "killed", "ACT_ECHILDSTART (a child failed to start)". */
const char *act__reason_text(int reason, char *buf, size_t len);

/* app.c, for node.c: the death that stopped the node, as text ("" if none). */
void act__app_death(char *buf, size_t len);

/* sup_client.c, for sup.c: makes start requests that reach a dead supervisor come back to
 * their requester (act__msg_bounce_set). */
void act__sup_bounce_init(void);

#endif
