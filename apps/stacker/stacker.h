/*
 * Stacker: the OTP example of the Dynamo README, in C.
 *
 * The application `stacker` starts the supervisor `stacker_sup` (one_for_one), which runs
 *   - `stack`: Stacker.Server, a server registered as "stacker" holding a stack of integers
 *     (push and pop are calls); popping an empty stack crashes it, as the Elixir server's
 *     missing function clause does, and the supervisor restarts it with its initial stack;
 *   - `web`: the Dynamo (the seed's `supervisor(Stacker.Dynamo, [])`), serving the stack over
 *     HTTP on 127.0.0.1:<port> (web.c):
 *         GET    /stack          the stack, top first, as JSON: [7,5]
 *         POST   /stack/:value   push an integer                      -> 201 "ok"
 *         DELETE /stack/top      pop                                  -> 200 "<value>"
 *       Popping an empty stack crashes the stack server, as from the console: the request
 *       answers 503 and says so; the supervisor restarts the server; the Dynamo is untouched.
 *
 * Environment (act_app_set_env, or `stacker --set key=value`):
 *   stack         the initial stack, bottom first: "1,2,3" pops 3 first (default: empty)
 *   max_restarts  the supervisor's intensity (default 3)
 *   max_seconds   ... within this many seconds (default 5)
 *   port          the Dynamo's port (default 4001; 0: any free port, see dyn_port("stacker"))
 */
#ifndef STACKER_H
#define STACKER_H

#include "dynamo/dynamo.h"

/* The application descriptor: act_node_run(&stacker_app, NULL) runs it. */
extern const act_app_t stacker_app;

/* The server's registered name. */
#define STACKER_NAME "stacker"

/* Calls from fibers and foreign threads (5 s timeout). They return 0 or the call's error:
 * ACT_ENONAME when no stacker runs (between a crash and its restart), ACT_ECALLDOWN when the
 * call crashed it (popping an empty stack). */
int stacker_push(long long value);
int stacker_pop(long long *value);
/* The stack, top first: *items (act_free it) and *n. Same errors. */
int stacker_items(long long **items, size_t *n);

/* The Dynamo (web.c), named "web" (the server holds the name "stacker"); its port comes from
 * the application's environment at each start. */
extern dyn_dynamo_t stacker_dynamo;
#endif
