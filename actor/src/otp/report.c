/*
 * The report sink of the OTP behaviours (report.h).
 *
 * One process-wide sink, set from any thread. Reports are rare (a crash, a restart), so one
 * mutex serializes them and the sink needs no lock of its own; `mode` lets a silenced report
 * skip the formatting and the lock altogether, which the restart benchmark depends on.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "otp_int.h"

enum { MODE_STDERR, MODE_CUSTOM, MODE_SILENT };

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static act_report_fn sink_fn; /* under sink_lock */
static void *sink_arg;        /* under sink_lock */
static _Atomic int mode;      /* MODE_*: relaxed, a hint; the sink itself is read under the lock */

void act_report_silent(const act_report_t *r, void *arg)
{
    (void)r;
    (void)arg;
}

void act_report_stderr(const act_report_t *r, void *arg)
{
    (void)arg;
    fprintf(stderr, "%s\n", r->line);
}

void act_report_set(act_report_fn fn, void *arg)
{
    pthread_mutex_lock(&sink_lock);
    sink_fn = fn;
    sink_arg = arg;
    int m = fn == NULL ? MODE_STDERR : fn == act_report_silent ? MODE_SILENT : MODE_CUSTOM;
    atomic_store_explicit(&mode, m, memory_order_relaxed);
    pthread_mutex_unlock(&sink_lock);
}

bool act__report_on(void)
{
    return atomic_load_explicit(&mode, memory_order_relaxed) != MODE_SILENT;
}

const char *act__reason_text(int reason, char *buf, size_t len)
{
    if (reason < 0)
        snprintf(buf, len, "%s (%s)", act_err_name(reason), act_strerror(reason));
    else
        snprintf(buf, len, "%s", act_reason_str(reason));
    return buf;
}

static void emit(act_report_t *r)
{
    pthread_mutex_lock(&sink_lock);
    act_report_fn fn = sink_fn ? sink_fn : act_report_stderr;
    fn(r, sink_arg);
    pthread_mutex_unlock(&sink_lock);
}

void act__report(act_report_kind_t kind, const char *who, act_pid_t who_pid, const char *child,
                 act_pid_t child_pid, int reason, const char *text, const char *action)
{
    if (!act__report_on())
        return;
    char line[1024], why[160], wp[ACT_PID_STRLEN], cp[ACT_PID_STRLEN];
    who = who ? who : "";
    child = child ? child : "";
    text = text ? text : "";
    action = action ? action : "";
    act__reason_text(reason, why, sizeof why);
    act_pid_str(who_pid, wp);
    act_pid_str(child_pid, cp);
    const char *sep = text[0] ? ": " : "";
    switch (kind) {
    case ACT_REPORT_CHILD_EXIT:
        snprintf(line, sizeof line, "[supervisor] %s %s: child %s %s exited: %s%s%s; %s", who, wp,
                 child, cp, why, sep, text, action);
        break;
    case ACT_REPORT_START_FAILED:
        snprintf(line, sizeof line, "[supervisor] %s %s: child %s failed to start: %s%s%s%s%s", who,
                 wp, child, why, sep, text, action[0] ? "; " : "", action);
        break;
    case ACT_REPORT_SHUTDOWN_KILL:
        snprintf(line, sizeof line,
                 "[supervisor] %s %s: child %s %s ignored its shutdown (%s); killed", who, wp,
                 child, cp, action);
        break;
    case ACT_REPORT_GAVE_UP:
        snprintf(line, sizeof line,
                 "[supervisor] %s %s: %s; shutting down (last exit: child %s %s: %s%s%s)", who, wp,
                 action, child, cp, why, sep, text);
        break;
    case ACT_REPORT_APP_EXIT:
        snprintf(line, sizeof line, "[application] %s exited: %s%s%s; %s", who, why, sep, text,
                 action);
        break;
    case ACT_REPORT_APP_START:
        snprintf(line, sizeof line, "[application] %s failed to start: %s%s%s", who, why, sep,
                 text);
        break;
    case ACT_REPORT_NODE:
        snprintf(line, sizeof line, "[node] %s", text);
        break;
    case ACT_REPORT_LOG:
        snprintf(line, sizeof line, "%s", text);
        break;
    case ACT_REPORT_LIBRARY:
        snprintf(line, sizeof line, "[%s] %s%s%s", who, text, reason ? ": " : "",
                 reason ? why : "");
        break;
    }
    act_report_t r = {
        .kind = kind,
        .who = who,
        .who_pid = who_pid,
        .child = child,
        .child_pid = child_pid,
        .reason = reason,
        .text = text,
        .action = action,
        .line = line,
    };
    emit(&r);
}

bool act_report_enabled(void)
{
    return act__report_on();
}

void act_report_log(const char *who, const char *line)
{
    if (!act__report_on())
        return;
    act_report_t r = {
        .kind = ACT_REPORT_LOG,
        .who = who ? who : "",
        .child = "",
        .text = line,
        .action = "",
        .line = line,
    };
    emit(&r);
}

void act__report_node(const char *fmt, ...)
{
    if (!act__report_on())
        return;
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    act__report(ACT_REPORT_NODE, "node", ACT_PID_NONE, "", ACT_PID_NONE, 0, text, "");
}

void act_report_library(const char *who, int reason, const char *fmt, ...)
{
    if (!act__report_on())
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    act__report(ACT_REPORT_LIBRARY, who, ACT_PID_NONE, "", ACT_PID_NONE, reason, text, "");
}
