/* The prod environment: plain error pages, structured logs; SECRET_KEY_BASE required. */
#include "fruits.h"

const dyn_config_t fruits_prod = {
    .port = 4001,
    .log_level = DYN_LOG_INFO,
    .code_reload = DYN_SWITCH_OFF,
    .debug_errors = DYN_SWITCH_OFF,
};
