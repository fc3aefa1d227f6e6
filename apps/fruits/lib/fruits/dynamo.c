/*
 * The Dynamo: its endpoint's plugs and router.
 */
#include "fruits.h"

static const dyn_plug_spec_t plugs[] = {
    DYN_PLUG(dyn_plug_request_id, NULL),
    DYN_PLUG(dyn_plug_logger, NULL),
    DYN_PLUG(dyn_plug_head, NULL),
};

dyn_dynamo_t fruits_dynamo = {
    .name = "fruits",
    .env = DYN_ENV_DEV,
    .web = &fruits_web, /* web/: the router and templates (CMakeLists.txt) */
    DYN_PLUGS(plugs),
    .port = 4001,
};
