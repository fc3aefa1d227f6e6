/*
 * fruits: the template example as a node, what `dynctl start apps/fruits` runs.
 *
 *   fruits [--env dev|test|prod] [--port N] [--host ADDR] [--schedulers N] [--control PATH]
 *
 * Serves on 127.0.0.1:4001 (the environment's port) until SIGTERM, SIGINT or `dynctl stop`;
 * prints the address once it serves. Exit statuses in dynamo/node.h.
 */
#include "fruits.h"

static const dyn_node_t node = {
    .app = &fruits_app,
    .dynamo = &fruits_dynamo,
    .dev = &fruits_dev,
    .test = &fruits_test,
    .prod = &fruits_prod,
};

int main(int argc, char **argv)
{
    return dyn_node_main(&node, argc, argv);
}
