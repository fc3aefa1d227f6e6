/*
 * The test environment (lib/hello/environments/test.exs): what the test suite runs with. Plain
 * error pages as in prod, quiet logs (warnings and errors only), no reloading.
 */
#include "hello.h"

const dyn_config_t hello_test = {
    .port = 4002,
    .log_level = DYN_LOG_WARN,
    .code_reload = DYN_SWITCH_OFF,
    .debug_errors = DYN_SWITCH_OFF,
    .secret = "Cpbbj-l_PcnXAcAF4hqtxJAZgueSxlo6IT7Q8dlBfvILp_22ZTW3gKi4s9jqSRzQ",
};
