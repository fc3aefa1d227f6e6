/*
 * Basic types of the actor runtime: pids, references, error codes and exit reasons.
 *
 * Error codes are negative ints: -errno where errno has a meaning (so libuv statuses pass
 * through unchanged on Linux), plus the runtime's own in a range neither errno nor libuv uses.
 * One table, ACT_ERRNO_MAP, makes the enum, act_strerror() and act_err_name().
 *
 * Exit reasons are ints too: ACT_NORMAL (0), the well-known positive reasons below, user
 * reasons from ACT_REASON_USER up, and negative error codes (an actor whose handler returns
 * -EIO exits with reason -EIO). act_reason_str() names any of them.
 */
#ifndef ACT_TYPES_H
#define ACT_TYPES_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_API __attribute__((visibility("default")))

#define ACT_LIKELY(x) __builtin_expect(!!(x), 1)
#define ACT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ACT_CONTAINER_OF(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))

/* A pid: slot index (low 32 bits) and generation (high 32 bits). A pid of a dead actor never
 * reaches a new one until its slot's generation wraps. Passed by value, compared with ==.
 * ACT_PID_NONE (0) is never a live actor. */
typedef uint64_t act_pid_t;
#define ACT_PID_NONE ((act_pid_t)0)

/* A reference: unique within a running system (monitors, calls, timers). 0 is never issued. */
typedef uint64_t act_ref_t;

/* Timeouts in milliseconds; ACT_INFINITY waits forever. */
#define ACT_INFINITY (-1)

/* X(name, message): the runtime's own error codes, each -(ACT__ERR_BASE + n). */
#define ACT_ERRNO_MAP(X)                                                                           \
    X(NOPROC, "no such actor")                                                                     \
    X(NOTFIBER, "operation needs a fiber actor or a non-scheduler thread")                         \
    X(NOTRUNNING, "actor system not running")                                                      \
    X(SHUTDOWN, "actor system is stopping")                                                        \
    X(NAMETAKEN, "name already registered")                                                        \
    X(NONAME, "no actor registered under that name")                                               \
    X(ALREADYREG, "actor already has a registered name")                                           \
    X(NOTIMER, "no such timer (fired or cancelled)")                                               \
    X(NOMONITOR, "no such monitor")                                                                \
    X(TOOMANY, "too many actors")                                                                  \
    X(BADARG, "invalid argument")                                                                  \
    X(NOSCHED, "no such scheduler")                                                                \
    X(CALLDOWN, "called actor exited before replying")                                             \
    X(CHILDSTART, "a child failed to start")                                                       \
    X(NOCHILD, "no such child")                                                                    \
    X(CHILDEXISTS, "a child with that id already exists")                                          \
    X(CHILDRUNNING, "child is running")                                                            \
    X(MAXCHILDREN, "supervisor has reached max_children")                                          \
    X(NOTSUP, "operation not supported by this kind of supervisor")                                \
    X(NOAPP, "no such application (not loaded)")                                                   \
    X(DEPMISSING, "application depends on an application that is not loaded")                      \
    X(DEPCYCLE, "circular dependency between applications")                                        \
    X(APPSTARTED, "application already started")                                                   \
    X(APPNOTSTARTED, "application not started")                                                    \
    X(RESTARTING, "child is restarting")

#define ACT__ERR_BASE 30000
enum {
    ACT__ERR_FIRST = ACT__ERR_BASE - 1,
#define ACT__ERR_ENUM(name, msg) ACT__E##name,
    ACT_ERRNO_MAP(ACT__ERR_ENUM)
#undef ACT__ERR_ENUM
};
#define ACT_ENOPROC (-ACT__ENOPROC)
#define ACT_ENOTFIBER (-ACT__ENOTFIBER)
#define ACT_ENOTRUNNING (-ACT__ENOTRUNNING)
#define ACT_ESHUTDOWN (-ACT__ESHUTDOWN)
#define ACT_ENAMETAKEN (-ACT__ENAMETAKEN)
#define ACT_ENONAME (-ACT__ENONAME)
#define ACT_EALREADYREG (-ACT__EALREADYREG)
#define ACT_ENOTIMER (-ACT__ENOTIMER)
#define ACT_ENOMONITOR (-ACT__ENOMONITOR)
#define ACT_ETOOMANY (-ACT__ETOOMANY)
#define ACT_EBADARG (-ACT__EBADARG)
#define ACT_ENOSCHED (-ACT__ENOSCHED)
#define ACT_ECALLDOWN (-ACT__ECALLDOWN)
#define ACT_ECHILDSTART (-ACT__ECHILDSTART)
#define ACT_ENOCHILD (-ACT__ENOCHILD)
#define ACT_ECHILDEXISTS (-ACT__ECHILDEXISTS)
#define ACT_ECHILDRUNNING (-ACT__ECHILDRUNNING)
#define ACT_EMAXCHILDREN (-ACT__EMAXCHILDREN)
#define ACT_ENOTSUP (-ACT__ENOTSUP)
#define ACT_ENOAPP (-ACT__ENOAPP)
#define ACT_EDEPMISSING (-ACT__EDEPMISSING)
#define ACT_EDEPCYCLE (-ACT__EDEPCYCLE)
#define ACT_EAPPSTARTED (-ACT__EAPPSTARTED)
#define ACT_EAPPNOTSTARTED (-ACT__EAPPNOTSTARTED)
#define ACT_ERESTARTING (-ACT__ERESTARTING)
#define ACT_ETIMEDOUT (-ETIMEDOUT)
#define ACT_ENOMEM (-ENOMEM)

/* Message for any error code (ours, -errno, or a libuv status). Never NULL. Any thread. */
ACT_API const char *act_strerror(int err);
/* Symbolic name ("ACT_ENOPROC", "ETIMEDOUT"...). Never NULL. Any thread. */
ACT_API const char *act_err_name(int err);

/* Exit reasons. ACT_KILL is only ever a signal: it cannot be trapped and the victim exits
 * with ACT_KILLED. Reasons from ACT_REASON_USER up are the application's. */
enum {
    ACT_NORMAL = 0,
    ACT_SHUTDOWN = 1,
    ACT_KILL = 2,
    ACT_KILLED = 3,
    ACT_NOPROC = 4,
    ACT_CRASH = 5,   /* a generic failure (act_failf without a more precise reason) */
    ACT_NOSTART = 6, /* init failed */
    ACT_REASON_USER = 256,
};

/* "normal", "shutdown", "killed", an error's message for negative reasons, "reason N" for
 * user reasons. Never NULL. Any thread. */
ACT_API const char *act_reason_str(int reason);

#endif
