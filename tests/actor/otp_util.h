/* Helpers of the OTP suites (sup, dynsup, app, node): captured reports, an event log, workers. */
#ifndef OTP_UTIL_H
#define OTP_UTIL_H

#include "test_util.h"

/* .init of most OTP suites: reports captured (not printed), 2 schedulers. */
void otp_start(void);
/* Sends reports to the capture from now on (otp_start does). */
void otp_capture_reports(void);
/* Reports of `kind` captured so far whose line contains `needle` (NULL: any). */
int otp_reports(act_report_kind_t kind, const char *needle);
/* Waits up to ms for such a report. */
bool otp_wait_report(act_report_kind_t kind, const char *needle, int64_t ms);
/* Prints every captured report through cr_log_info (for failing tests). */
void otp_print_reports(void);

/* The event log: workers append +tag when started and -tag when stopped. Any thread. */
void otp_log(int ev);
int otp_log_len(void);
int otp_log_at(int i);
/* Waits up to ms until the log holds at least n events. */
bool otp_log_wait(int n, int64_t ms);
/* True if events [from, from + n) are exactly evs. */
bool otp_log_is(int from, const int *evs, int n);
/* The log from `from` as text, for messages. */
const char *otp_log_str(int from);

/* A server worker: arg OTP_W(tag, flags). It logs +tag after a successful init, -tag in
 * terminate, and registers nothing. */
#define OTP_TRAP 0x10000      /* trap exits (it still stops on its parent's exit, as servers do) */
#define OTP_FAIL_INIT 0x20000 /* init returns -EIO */
#define OTP_W(tag, flags) ((void *)(intptr_t)((tag) | (flags)))
extern const act_server_t otp_worker;

/* Start functions of plain children started with act_start_link that trap exits:
 * - otp_stubborn_start ignores every exit signal but a kill;
 * - otp_slow_start stops 200 ms after its parent's exit signal.
 * Both log +tag/-tag with tag = (intptr_t)spec->arg. */
int otp_stubborn_start(const act_child_start_t *cs, act_pid_t *out);
int otp_slow_start(const act_child_start_t *cs, act_pid_t *out);

/* Callbacks of the test applications: the start callback starts a supervisor with one
 * otp_worker tagged by the application's env "tag", whose intensity is its env "maxr" (in
 * 5 s), and fails with -EIO for tag 99; the stop callback logs 100 + tag. */
int otp_app_start(const act_app_t *app, act_pid_t *top);
void otp_app_stop(const act_app_t *app);

/* Starts and links a supervisor "sup_test" (registered under that name if register_name) with
 * these children; fails the test if it does not start. */
act_pid_t otp_start_sup(bool register_name, act_strategy_t strategy, int max_r, int max_s,
                        const act_child_spec_t *kids, size_t n);

/* The pid of child `id` of sup (ACT_PID_NONE if not running or absent); fails the test if
 * the supervisor does not answer. */
act_pid_t otp_child(act_pid_t sup, const char *id);
/* Waits until child `id` runs under a pid other than `old`; returns it (or ACT_PID_NONE). */
act_pid_t otp_wait_restart(act_pid_t sup, const char *id, act_pid_t old, int64_t ms);

#endif
