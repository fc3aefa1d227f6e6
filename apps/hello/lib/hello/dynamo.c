/*
 * The Dynamo (the seed's lib/hello/dynamo.ex):
 *
 *     defmodule Hello.Dynamo do
 *       use Dynamo
 *       config :dynamo,
 *         env: Mix.env,
 *         otp_app: :hello,
 *         endpoint: ApplicationRouter,
 *         static_route: "/static"
 *     end
 */
#include "hello.h"

/* The endpoint's plugs, in order, before the router (Phoenix's endpoint). */
static const dyn_plug_spec_t plugs[] = {
    DYN_PLUG(dyn_plug_request_id, NULL),
    DYN_PLUG(dyn_plug_logger, NULL),
    DYN_PLUG(dyn_plug_method_override, NULL),
    DYN_PLUG(dyn_plug_head, NULL),
};

dyn_dynamo_t hello_dynamo = {
    .name = "hello",
    .env = DYN_ENV_DEV,
    .endpoint = &application_router,
    DYN_PLUGS(plugs),
    .port = 4000,
    .static_route = "/static",
    .static_root = "priv/static",
};
