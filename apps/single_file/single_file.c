/*
 * A single file Dynamo: the Dynamo guide's smallest app, a Dynamo, its router and its start in
 * one file, as the examples of the guides are written.
 *
 *     defmodule HelloWorld do
 *       use Dynamo
 *       config :dynamo, env: "prod", endpoint: HelloWorld
 *
 *       use Dynamo.Router
 *       get "/" do
 *         conn.resp(200, "Hello World!")
 *       end
 *     end
 *
 *     HelloWorld.start_link
 *     HelloWorld.run
 *
 *   single_file [PORT]       (default 4000; 0 picks a free port)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "dynamo/dynamo.h"

static dyn_conn_t *hello(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "Hello World!");
}

DYN_ROUTER(hello_world_router, DYN_GET("/", hello));

static dyn_dynamo_t hello_world = {
    .name = "hello_world",
    .env = DYN_ENV_PROD,
    .endpoint = &hello_world_router,
    .port = 4000,
};

static void stop(int sig)
{
    (void)sig;
    act_system_request_stop(0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        hello_world.port = (uint16_t)atoi(argv[1]);
    act_system_start(NULL);
    int rc = dyn_start_link(&hello_world, NULL); /* HelloWorld.start_link */
    if (rc) {
        fprintf(stderr, "single_file: %s\n", dyn_strerror(rc));
        act_system_stop();
        return 1;
    }
    printf("single_file: serving on http://127.0.0.1:%u\n", dyn_port("hello_world"));
    fflush(stdout);
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    act_system_wait(); /* HelloWorld.run: serve until stopped */
    act_system_stop();
    return 0;
}
