/*
 * The dev environment (the seed's lib/hello/environments/dev.exs): the debug exception page,
 * web/ rebuilt and reloaded as it changes, every log line, static files always revalidated.
 * PORT, DYNAMO_HOST, DYNAMO_LOG_LEVEL and SECRET_KEY_BASE override it (dynamo/config.h).
 */
#include "hello.h"

const dyn_config_t hello_dev = {
    .port = 4000,
    .log_level = DYN_LOG_DEBUG,
    .code_reload = DYN_SWITCH_ON,
    .debug_errors = DYN_SWITCH_ON,
    .static_cache_control = "no-cache",
    /* A development secret (prod takes SECRET_KEY_BASE from the environment). */
    .secret = "Gb1lDTQO5yiBSJumIweJpdI_WLVQAm8vCYm5Iy9iBbsoOXRM7IDAFljiKVg3HuGE",
};
