/* Running a compiled router on a conn (router.c). */
#ifndef DYN_ROUTER_INT_H
#define DYN_ROUTER_INT_H

#include "routes_int.h"

/* Runs cr on conn's path_info: hooks, route or forward. A router that matches nothing leaves
 * conn halted with error_status 404/405 for the pipeline to render. Request fiber only. */
dyn_conn_t *dyn__router_call(dyn_conn_t *conn, const dyn__crouter_t *cr);

#endif
