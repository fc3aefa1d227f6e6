/*
 * Reports of the OTP behaviours: Erlang's supervisor, crash and application reports, one line
 * each, all through one sink.
 *
 * Supervisors report a child's abnormal exit (with the restart they do about it), a child that
 * failed to start, a child killed after ignoring its shutdown, and giving up (max restart
 * intensity). The application controller reports applications that exit or fail to start, the
 * node its start and stop. Exits with ACT_NORMAL or ACT_SHUTDOWN are never reported (they are
 * how things stop).
 *
 * Layers above send their log lines (a web framework's request log) through the same sink with
 * act_report_log, so one act_report_set redirects or silences everything.
 *
 * The default sink writes the line to stderr. act_report_set() redirects or silences every
 * report (tests and benchmarks turn them off); a silenced report is not even formatted.
 */
#ifndef ACT_REPORT_H
#define ACT_REPORT_H

#include "actor/types.h"

typedef enum act_report_kind {
    ACT_REPORT_CHILD_EXIT,    /* a child exited abnormally; `action` says what happens next */
    ACT_REPORT_START_FAILED,  /* a child failed to start (or to restart) */
    ACT_REPORT_SHUTDOWN_KILL, /* a child ignored its shutdown past its timeout and was killed */
    ACT_REPORT_GAVE_UP,       /* max restart intensity reached: the supervisor exits */
    ACT_REPORT_APP_EXIT,      /* an application's top supervisor exited */
    ACT_REPORT_APP_START,     /* an application failed to start */
    ACT_REPORT_NODE,          /* the node: started, stopping, stopped */
    ACT_REPORT_LOG,           /* a log line of a layer above (act_report_log): who = its source */
    ACT_REPORT_LIBRARY,       /* a library on the runtime (the HTTP server...) reports an error
                                 or a warning of its own: `who` names it, `text` says what */
} act_report_kind_t;

typedef struct act_report {
    act_report_kind_t kind;
    const char *who;     /* the supervisor's name, the application's name, or "node" */
    act_pid_t who_pid;   /* the supervisor (ACT_PID_NONE for applications and the node) */
    const char *child;   /* the child id ("" if none) */
    act_pid_t child_pid; /* the child (ACT_PID_NONE if none) */
    int reason;          /* exit reason or error code (0 if none) */
    const char *text;    /* the exit text (act_down_t.text) or "" */
    const char *action;  /* "restarting", "not restarted", "shutting down", ... or "" */
    const char *line;    /* all of it, formatted on one line without a newline */
} act_report_t;

/* Receives every report; the report and its strings are borrowed for the call. Called from
 * the reporting actor's thread, one report at a time (the sink needs no lock of its own).
 * Must not block or call back into supervisors. */
typedef void (*act_report_fn)(const act_report_t *r, void *arg);

/* Sends every report to fn(r, arg) from now on. fn NULL restores the default (stderr).
 * Any thread; survives act_system_stop. */
ACT_API void act_report_set(act_report_fn fn, void *arg);

/* Reports for a library built on the runtime (kind ACT_REPORT_LIBRARY) through the same sink:
 * who names the library ("http"), reason is an error code or exit reason (0: none), fmt and
 * what follows make the text. Skipped (not even formatted) while reports are silenced. Any
 * thread. */
ACT_API void act_report_library(const char *who, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A sink that drops everything: act_report_set(act_report_silent, NULL). */
ACT_API void act_report_silent(const act_report_t *r, void *arg);

/* Sends a log line (one line, no newline) through the sink as an ACT_REPORT_LOG report: who
 * names the source ("web" for a Dynamo), text and line are `line`. Nothing is done (not even
 * a lock taken) while reports are silenced. Any thread; never blocks for long (one mutex). */
ACT_API void act_report_log(const char *who, const char *line);

/* False while reports are silenced (act_report_silent): callers may skip formatting. */
ACT_API bool act_report_enabled(void);

/* The default sink: r->line and a newline to stderr. */
ACT_API void act_report_stderr(const act_report_t *r, void *arg);

#endif
