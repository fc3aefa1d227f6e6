/*
 * hello: the example application as a node (`mix server`), what `dynctl start apps/hello`
 * runs.
 *
 *   hello [--env dev|test|prod] [--port N] [--host ADDR] [--schedulers N] [--control PATH]
 *
 * Serves on 127.0.0.1:4000 (the environment's port) until SIGTERM, SIGINT or `dynctl stop`;
 * prints the address once it serves. Exit statuses in dynamo/node.h.
 */
#include "hello.h"

static const dyn_node_t node = {
    .app = &hello_app,
    .dynamo = &hello_dynamo,
    .dev = &hello_dev,
    .test = &hello_test,
    .prod = &hello_prod,
};

int main(int argc, char **argv)
{
    return dyn_node_main(&node, argc, argv);
}
