/*
 * The application callback: a supervisor that embeds the Dynamo.
 */
#include "fruits.h"

static const act_child_spec_t children[] = {
    {DYN_CHILD("web", &fruits_dynamo)},
};

static int fruits_start(const act_app_t *app, act_pid_t *top)
{
    (void)app;
    const act_sup_spec_t spec = {
        .name = "fruits_sup",
        .strategy = ACT_ONE_FOR_ONE,
        .max_restarts = 5,
        .max_seconds = 5,
        .children = children,
        .nchildren = sizeof children / sizeof children[0],
    };
    return act_sup_start_link(&spec, top);
}

const act_app_t fruits_app = {
    .name = "fruits",
    .version = "0.1.0",
    .deps = (const char *const[]){"dynamo", NULL},
    .start = fruits_start,
    .type = ACT_APP_PERMANENT,
};
