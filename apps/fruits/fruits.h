/*
 * The fruits application: the Dynamo README's template example as a running app.
 *
 *     get "/fruits" do
 *       conn = conn.assign(:fruits, [{0, "Apple"}, {1, "Orange"}, {2, "Banana"}])
 *       render conn, "fruits.html"
 *     end
 *
 * with fruits.html.eex rendered inside the layout layouts/home.html.eex, and a `?extra=NAME`
 * query parameter that adds NAME to the list: whatever it holds comes back escaped
 * (/fruits?extra=<script>alert(1)</script> shows the text, never runs it).
 *
 *   lib/fruits.c                 the application callback: a supervisor with the Dynamo
 *   lib/fruits/dynamo.c          the Dynamo
 *   web/routers/fruits_router.c  the routes
 *   web/templates/               the templates (compiled into C by the build)
 *   main.c                       the node (`fruits --port N`)
 */
#ifndef FRUITS_H
#define FRUITS_H

#include "dynamo/dynamo.h"

/* The Dynamo, registered as "fruits". Not const: main sets the port and environment. */
extern dyn_dynamo_t fruits_dynamo;

extern const act_app_t fruits_app;

DYN_ROUTER_DECLARE(fruits_router);

#endif
