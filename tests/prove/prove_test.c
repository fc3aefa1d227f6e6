/*
 * Deliberately broken tests (built with -DDYN_TEST_PROVE_CHECKS=ON, never run by CI): each
 * breaks one rule that a check must catch, and tests/CMakeLists.txt registers each as a ctest
 * entry that must fail. `ctest -L prove` passing proves that the checks fail their test in
 * this build, including those Criterion 2.4.1 reports from a .fini without failing the test
 * (docs/runtime.md, Testing).
 */
#include <signal.h>
#include <stdlib.h>

#include "test_util.h"

TestSuite(prove, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

/* A runtime block nobody frees: tu_stop's leak check, in .fini. */
Test(prove, leak_found_at_teardown)
{
    void *lost = act_malloc(64);
    (void)lost;
}

/* A failed TU_CHECK inside an actor, which no assertion of the body looks at: tu_stop's
 * off-thread check, in .fini (and the check's own message). */
static int failing_handle(void *state, act_msg_t *msg)
{
    (void)state;
    TU_CHECK(msg->type == TU_PONG);
    tu_send_int(msg->from, TU_PONG, 0);
    return 0;
}

Test(prove, check_failed_off_the_test_thread)
{
    static const act_behaviour_t b = {.handle = failing_handle};
    act_pid_t p = tu_spawn_plain(&b, 0, NULL, NULL);
    act_self();
    tu_send_int(p, TU_PING, 0);
    tu_recv_int(TU_PONG, 2000);
}

/* A crash in .fini, after a body that passed. */
static void crashing_fini(void)
{
    tu_stop();
    raise(SIGSEGV);
}

Test(prove, crash_in_teardown, .fini = crashing_fini)
{
}

/* The same leak, found by the body's own check (tu_stop called at the end of the body). */
Test(prove, leak_found_in_the_body)
{
    void *lost = act_malloc(64);
    (void)lost;
    tu_stop();
}

/* A libc block nobody frees: LeakSanitizer's report at the test process's exit (ASan builds
 * only). */
Test(prove, libc_leak_found_by_lsan)
{
    void *volatile lost = malloc(77);
    lost = NULL;
    (void)lost;
}
