/* The test environment: plain error pages, quiet logs. */
#include "fruits.h"

const dyn_config_t fruits_test = {
    .port = 4003,
    .log_level = DYN_LOG_WARN,
    .code_reload = DYN_SWITCH_OFF,
    .debug_errors = DYN_SWITCH_OFF,
    .secret = "6wqo5ighBGwxy_IeIP_mx71dU1JYNnmfMkFzov7KuVKGQGunPLrxsgqLbSoE0sx3",
};
