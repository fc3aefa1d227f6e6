/*
 * Stacker: the OTP example of the Dynamo README, in C.
 *
 * The application `stacker` starts the supervisor `stacker_sup` (one_for_one), which runs
 *   - `stack`: Stacker.Server, a server registered as "stacker" holding a stack of integers
 *     (push and pop are calls); popping an empty stack crashes it, as the Elixir server's
 *     missing function clause does, and the supervisor restarts it with its initial stack;
 *   - `web`: the supervisor the Dynamo joins the tree under (the seed's
 *     `supervisor(Stacker.Dynamo, [])`); it has no child until the framework exists.
 *
 * Environment (act_app_set_env, or `stacker --set key=value`):
 *   stack         the initial stack, bottom first: "1,2,3" pops 3 first (default: empty)
 *   max_restarts  the supervisor's intensity (default 3)
 *   max_seconds   ... within this many seconds (default 5)
 */
#ifndef STACKER_H
#define STACKER_H

#include "actor/act.h"

/* The application descriptor: act_node_run(&stacker_app, NULL) runs it. */
extern const act_app_t stacker_app;

/* The server's registered name. */
#define STACKER_NAME "stacker"

/* Calls from fibers and foreign threads (5 s timeout). They return 0 or the call's error:
 * ACT_ENONAME when no stacker runs (between a crash and its restart), ACT_ECALLDOWN when the
 * call crashed it (popping an empty stack). */
int stacker_push(long long value);
int stacker_pop(long long *value);

#endif
