/*
 * The hello application: the Dynamo README's walk-through as a running app (the project `mix
 * dynamo hello` would generate, in C). Its parts mirror the seed's project:
 *
 *   lib/hello.c                     the application callback: a supervisor with the Dynamo
 *   lib/hello/dynamo.c              the Dynamo (use Dynamo + config :dynamo)
 *   web/routers/application_router.c, posts_router.c, account_router.c: the routers
 *   main.c                          the node (`hello --port N`)
 */
#ifndef HELLO_H
#define HELLO_H

#include "dynamo/dynamo.h"

/* The Dynamo, registered as "hello" (its server as "hello.http"). Not const: main sets the port
 * and environment from the command line before the node starts. */
extern dyn_dynamo_t hello_dynamo;

/* The application: its top supervisor runs the Dynamo (and would run the app's other workers). */
extern const act_app_t hello_app;

/* The routers. */
DYN_ROUTER_DECLARE(application_router);
DYN_ROUTER_DECLARE(posts_router);
DYN_ROUTER_DECLARE(account_router);

#endif
