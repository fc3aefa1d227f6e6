/*
 * The application callback (the seed's lib/hello.ex): starts the application's supervisor,
 * which embeds the Dynamo as one of its children, as Stacker.Supervisor embeds Stacker.Dynamo.
 * Workers of the application's own go beside it.
 */
#include "hello.h"

static const act_child_spec_t children[] = {
    {DYN_CHILD("web", &hello_dynamo)},
};

static int hello_start(const act_app_t *app, act_pid_t *top)
{
    (void)app;
    const act_sup_spec_t spec = {
        .name = "hello_sup",
        .strategy = ACT_ONE_FOR_ONE,
        .max_restarts = 5,
        .max_seconds = 5,
        .children = children,
        .nchildren = sizeof children / sizeof children[0],
    };
    return act_sup_start_link(&spec, top);
}

const act_app_t hello_app = {
    .name = "hello",
    .version = "0.1.0",
    .start = hello_start,
    .type = ACT_APP_PERMANENT,
};
