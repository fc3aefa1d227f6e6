/*
 * act_catch: a fiber catches its own act_fail/act_failf (reason, text, a backtrace taken where
 * act_fail was called) and goes on; catches nest; exit signals (a kill, a linked actor's
 * death) are never caught; outside a fiber it refuses.
 */
#include <string.h>

#include "test_util.h"

TestSuite(catch, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

enum { R_FAIL = ACT_REASON_USER + 7 };

static __attribute__((noinline)) void failing(void *arg)
{
    (void)arg;
    act_fail(R_FAIL);
}

static __attribute__((noinline)) void failing_f(void *arg)
{
    act_failf(R_FAIL + 1, "bad thing %d", *(int *)arg);
}

static void returning(void *arg)
{
    *(int *)arg = 42;
}

static void catches_then_reports(void *arg)
{
    act_pid_t test = TU_PID(arg);
    act_failure_t f;
    int rc = act_catch(failing, NULL, &f);
    TU_CHECK(rc == 1);
    TU_CHECK(f.reason == R_FAIL);
    TU_CHECK(f.text[0] == '\0');
    /* frames[0] is the return address inside `failing`, right after its call to act_fail. */
    TU_CHECK(f.nframes > 1);
    TU_CHECK((char *)f.frames[0] > (char *)failing && (char *)f.frames[0] < (char *)failing + 256);
    int n = 7;
    rc = act_catch(failing_f, &n, &f);
    TU_CHECK(rc == 1);
    TU_CHECK(f.reason == R_FAIL + 1);
    TU_CHECK(strcmp(f.text, "bad thing 7") == 0);
    TU_CHECK((char *)f.frames[0] > (char *)failing_f &&
             (char *)f.frames[0] < (char *)failing_f + 256);
    int v = 0;
    rc = act_catch(returning, &v, &f);
    TU_CHECK(rc == 0 && v == 42);
    tu_send_int(test, TU_RESULT, 1);
    /* The catch is gone once act_catch returned: this failure ends the fiber. */
    act_failf(R_FAIL + 2, "after");
}

Test(catch, catches_own_failure_with_text_and_backtrace_and_goes_on)
{
    act_ref_t ref;
    act_pid_t pid = tu_spawn_fiber(catches_then_reports, TU_ARG(act_self()), &ref);
    cr_assert_eq(tu_recv_int(TU_RESULT, MS(5000)), 1);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, MS(5000));
    cr_assert_eq(d->pid, pid);
    cr_assert_eq(d->reason, R_FAIL + 2);
    cr_assert_str_eq(d->text, "after", "an uncaught act_failf keeps its text for the monitors");
    act_msg_free(&d->hdr);
    cr_assert_eq(tu_failures(), 0);
}

static void inner_rethrows(void *arg)
{
    (void)arg;
    act_failure_t f;
    int rc = act_catch(failing, NULL, &f);
    TU_CHECK(rc == 1 && f.reason == R_FAIL);
    act_failf(f.reason + 10, "rethrown");
}

static void nests(void *arg)
{
    act_failure_t f;
    int rc = act_catch(inner_rethrows, NULL, &f);
    TU_CHECK(rc == 1);
    TU_CHECK(f.reason == R_FAIL + 10);
    TU_CHECK(strcmp(f.text, "rethrown") == 0);
    tu_send_int(TU_PID(arg), TU_RESULT, 2);
}

Test(catch, nested_catches_take_the_innermost_and_rethrow_reaches_the_outer)
{
    tu_spawn_fiber(nests, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, MS(5000)), 2);
    cr_assert_eq(tu_failures(), 0);
}

static void waits_forever(void *arg)
{
    tu_send_int(TU_PID(arg), TU_RESULT, 3);
    act_msg_t *m;
    act_receive_type(TU_PING, ACT_INFINITY, &m);
}

static void catch_around_wait(void *arg)
{
    act_failure_t f;
    act_catch(waits_forever, arg, &f);
    /* Never reached: a kill or a linked death is not the fiber's own failure. */
    tu_send_int(TU_PID(arg), TU_RESULT, 99);
}

Test(catch, kill_is_never_caught)
{
    act_ref_t ref;
    act_pid_t pid = tu_spawn_fiber(catch_around_wait, TU_ARG(act_self()), &ref);
    cr_assert_eq(tu_recv_int(TU_RESULT, MS(5000)), 3);
    act_exit(pid, ACT_KILL);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, MS(5000));
    cr_assert_eq(d->reason, ACT_KILLED);
    act_msg_free(&d->hdr);
    act_msg_t *m;
    cr_assert_eq(act_receive_type(TU_RESULT, MS(200), &m), ACT_ETIMEDOUT);
}

Test(catch, exit_signal_from_a_link_is_never_caught)
{
    act_ref_t ref;
    act_pid_t pid = tu_spawn_fiber(catch_around_wait, TU_ARG(act_self()), &ref);
    cr_assert_eq(tu_recv_int(TU_RESULT, MS(5000)), 3);
    act_exit(pid, R_FAIL);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, MS(5000));
    cr_assert_eq(d->reason, R_FAIL);
    act_msg_free(&d->hdr);
    act_msg_t *m;
    cr_assert_eq(act_receive_type(TU_RESULT, MS(200), &m), ACT_ETIMEDOUT);
}

Test(catch, refuses_outside_a_fiber)
{
    act_failure_t f;
    int v = 0;
    cr_assert_eq(act_catch(returning, &v, &f), ACT_ENOTFIBER);
    cr_assert_eq(v, 0, "fn does not run");
}
