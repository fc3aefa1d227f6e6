/*
 * An environment's configuration applied to a Dynamo (config.h).
 *
 * Everything is checked before anything is written, so a refused configuration leaves the
 * declaration as it was. The order of precedence is the usual one: the node's command line,
 * then the process's environment, then the environment's file, then the declaration, then the
 * framework's defaults (inst.c resolves those that depend on the environment).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/dynamo.h"

static const struct {
    const char *name;
    dyn_log_level_t level;
} levels[] = {
    {"debug", DYN_LOG_DEBUG},  {"info", DYN_LOG_INFO},   {"warn", DYN_LOG_WARN},
    {"warning", DYN_LOG_WARN}, {"error", DYN_LOG_ERROR}, {"none", DYN_LOG_NONE},
};

int dyn_log_level_parse(const char *s, dyn_log_level_t *out)
{
    for (size_t i = 0; s && i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(s, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    }
    return ACT_EBADARG;
}

const char *dyn_log_level_name(dyn_log_level_t level)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (levels[i].level == level)
            return levels[i].name;
    return "default";
}

/* A decimal port, 0-65535, nothing else. */
static bool parse_port(const char *s, uint16_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > 65535 || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return false;
    *out = (uint16_t)v;
    return true;
}

/* An environment variable, NULL when unset or empty (an empty PORT= means "not set"). */
static const char *env_var(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int dyn_config_apply(dyn_dynamo_t *d, dyn_env_t env, const dyn_config_t *c, bool port_set,
                     uint16_t port, const char *host, char *err, size_t errlen)
{
    static const dyn_config_t none;
    if (!c)
        c = &none;
    if (!d) {
        snprintf(err, errlen, "no Dynamo to configure");
        return ACT_EBADARG;
    }

    /* The port: --port, PORT, the file, the declaration, 4000. */
    uint16_t p = c->port ? c->port : d->port ? d->port : 4000;
    const char *v = env_var("PORT");
    if (v && !parse_port(v, &p)) {
        snprintf(err, errlen, "PORT=%s is not a port number (0 to 65535)", v);
        return ACT_EBADARG;
    }
    if (port_set)
        p = port;

    const char *h = host ? host : env_var("DYNAMO_HOST") ? env_var("DYNAMO_HOST") : c->host;

    dyn_log_level_t level = c->log_level ? c->log_level : d->log_level;
    if ((v = env_var("DYNAMO_LOG_LEVEL")) && dyn_log_level_parse(v, &level) != 0) {
        snprintf(err, errlen,
                 "DYNAMO_LOG_LEVEL=%s is not a level (debug, info, warn, error or "
                 "none)",
                 v);
        return ACT_EBADARG;
    }

    /* The secret: SECRET_KEY_BASE, else the file's outside prod. In prod the secret must come
     * from the environment: a secret in the source ends up in version control. */
    const char *secret = env_var("SECRET_KEY_BASE");
    if (env == DYN_ENV_PROD && c->secret) {
        snprintf(err, errlen,
                 "the prod configuration sets a secret: keep secrets out of the "
                 "source, remove it and set SECRET_KEY_BASE in the environment instead");
        return ACT_EBADARG;
    }
    if (!secret)
        secret = c->secret ? c->secret : d->secret;
    if (env == DYN_ENV_PROD && !env_var("SECRET_KEY_BASE")) {
        snprintf(err, errlen,
                 "SECRET_KEY_BASE is not set: the prod environment needs a secret "
                 "of at least %d bytes to sign and encrypt cookies and sessions; generate one "
                 "with `dynctl secret` and export SECRET_KEY_BASE=<it>",
                 DYN_CONFIG_SECRET_MIN);
        return ACT_EBADARG;
    }
    if (secret && strlen(secret) < DYN_CONFIG_SECRET_MIN) {
        snprintf(err, errlen,
                 "the secret%s is %zu bytes long: it needs at least %d (generate one "
                 "with `dynctl secret`)",
                 env_var("SECRET_KEY_BASE") ? " (SECRET_KEY_BASE)" : "", strlen(secret),
                 DYN_CONFIG_SECRET_MIN);
        return ACT_EBADARG;
    }

    d->env = env;
    d->port = p;
    if (h)
        d->host = h;
    d->log_level = level;
    d->secret = secret;
    if (c->code_reload)
        d->code_reload = c->code_reload;
    if (c->debug_errors)
        d->debug_errors = c->debug_errors;
    if (c->static_cache_control)
        d->static_cache_control = c->static_cache_control;
    if (c->stop_timeout_ms)
        d->stop_timeout_ms = c->stop_timeout_ms;
    return 0;
}
