/*
 * The prod environment (lib/hello/environments/prod.exs): plain error pages with a log line
 * per crash, structured request logs, static files cached by browsers for a day, no reloading.
 * The secret comes from SECRET_KEY_BASE (required: the node refuses to start without it), the
 * port from PORT when a process manager sets one.
 */
#include "hello.h"

const dyn_config_t hello_prod = {
    .port = 4000,
    .log_level = DYN_LOG_INFO,
    .code_reload = DYN_SWITCH_OFF,
    .debug_errors = DYN_SWITCH_OFF,
    .static_cache_control = "public, max-age=86400",
    .stop_timeout_ms = 15000,
};
