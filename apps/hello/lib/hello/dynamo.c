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

/* The session in a cookie, encrypted and signed with keys derived from the Dynamo's secret
 * (docs/sessions.md); routes read it after dyn_fetch(conn, DYN_FETCH_SESSION). */
static const dyn_session_opts_t session_opts = {.key = "_hello_key"};

/* The endpoint's plugs, in order, before the router (Phoenix's endpoint). */
static const dyn_plug_spec_t plugs[] = {
    DYN_PLUG(dyn_plug_request_id, NULL),       DYN_PLUG(dyn_plug_logger, NULL),
    DYN_PLUG(dyn_plug_method_override, NULL),  DYN_PLUG(dyn_plug_head, NULL),
    DYN_PLUG(dyn_plug_session, &session_opts),
};

dyn_dynamo_t hello_dynamo = {
    .name = "hello",
    .env = DYN_ENV_DEV,
    .web = &hello_web, /* endpoint: application_router (CMakeLists.txt) */
    DYN_PLUGS(plugs),
    .port = 4000,
    .static_route = "/static",
    .static_root = "priv/static",
    /* The secret where no environment applies (the in-process tests run the Dynamo as it is):
     * the node takes dev's and test's from lib/hello/environments/, and prod's only from
     * SECRET_KEY_BASE (dynamo/config.h). */
    .secret = "hello-dev-secret-not-for-production-hello-dev-secret-not-for-prod!",
};
