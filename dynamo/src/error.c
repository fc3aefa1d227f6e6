/* The framework's error table (DYN_ERROR_MAP), falling back to the HTTP layer's and the runtime's,
 * and the names of environments. */
#include <string.h>
#include <strings.h>

#include "dynamo/types.h"

#include "actor/types.h"

const char *dyn_strerror(int err)
{
    switch (err) {
#define DYN__ERR_MSG(name, msg)                                                                    \
    case DYN_E##name:                                                                              \
        return msg;
        DYN_ERROR_MAP(DYN__ERR_MSG)
#undef DYN__ERR_MSG
    default:
        return http_strerror(err);
    }
}

const char *dyn_err_name(int err)
{
    switch (err) {
#define DYN__ERR_NAME(name, msg)                                                                   \
    case DYN_E##name:                                                                              \
        return "DYN_E" #name;
        DYN_ERROR_MAP(DYN__ERR_NAME)
#undef DYN__ERR_NAME
    default:
        return act_err_name(err);
    }
}

const char *dyn_env_name(dyn_env_t env)
{
    switch (env) {
    case DYN_ENV_DEV:
        return "dev";
    case DYN_ENV_TEST:
        return "test";
    case DYN_ENV_PROD:
        return "prod";
    }
    return "unknown";
}

int dyn_env_parse(const char *s, dyn_env_t *out)
{
    static const struct {
        const char *name;
        dyn_env_t env;
    } names[] = {{"dev", DYN_ENV_DEV},
                 {"development", DYN_ENV_DEV},
                 {"test", DYN_ENV_TEST},
                 {"prod", DYN_ENV_PROD},
                 {"production", DYN_ENV_PROD}};
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].env;
            return 0;
        }
    return ACT_EBADARG;
}
