/*
 * Environments and their configuration: the seed's lib/<app>/environments/{dev,test,prod}.exs,
 * in C.
 *
 * A project keeps one file per environment under lib/<app>/environments/, each declaring what
 * differs in that environment:
 *
 *     // lib/hello/environments/prod.c
 *     const dyn_config_t hello_prod = {
 *         .port = 4000,
 *         .log_level = DYN_LOG_INFO,
 *         .static_cache_control = "public, max-age=3600",
 *     };
 *
 * The three files are compiled into the application, and the node picks one when it starts
 * (node.h): `--env`, else DYNAMO_ENV, else the environment the program was built for (the
 * build's DYNAMO_ENV; dynctl builds each environment in its own _build/<env>). Why C rather
 * than a key=value file read at start: a misspelt setting is a compile error instead of a line
 * silently ignored, values have C's types (a port is a number, a switch is a switch), a setting
 * can name C things (limits, error pages), and nothing has to be parsed at start. What changes
 * from one machine to the next without a rebuild comes from the process's environment, which
 * overrides the file:
 *
 *     PORT              the port (0-65535)
 *     DYNAMO_HOST       the address to bind ("0.0.0.0" for every interface)
 *     DYNAMO_LOG_LEVEL  debug, info, warn, error or none
 *     SECRET_KEY_BASE   the secret that signs and encrypts cookies and sessions (at least
 *                       DYN_CONFIG_SECRET_MIN bytes): required in prod, where a secret written
 *                       in the source is refused, so it never sits in version control
 *
 * and the node's command line (--port, --host) overrides both.
 */
#ifndef DYN_CONFIG_H
#define DYN_CONFIG_H

#include "actor/app.h"
#include "dynamo/plug.h"

/* A secret shorter than this is refused (secret_key_base: 64 bytes, as Plug's). */
#define DYN_CONFIG_SECRET_MIN 64

/* One environment's settings. Zero fields keep the Dynamo's declaration, else the framework's
 * default for the environment (in brackets). */
typedef struct dyn_config {
    const char *host;          /* the address to bind ["127.0.0.1"] */
    uint16_t port;             /* [the declaration's, else 4000]; PORT=0 asks for any free port */
    dyn_log_level_t log_level; /* [dev debug, test warn, prod info] */
    dyn_switch_t code_reload;  /* rebuild and reload web/ as it changes [dev on, else off];
                                  needs the web code built as a module (the dev build) */
    dyn_switch_t debug_errors; /* the exception page with the request and a backtrace [dev on,
                                  else a plain 500 page and a log line] */
    const char *static_cache_control; /* Cache-Control of static files [dev "no-cache", test and
                                         prod "public"] */
    const char *secret;               /* secret_key_base in dev and test (prod: SECRET_KEY_BASE) */
    int64_t stop_timeout_ms;          /* graceful stop: requests in flight get this long [5000] */
    const act_app_env_t *app_env;     /* the application's environment in this environment
                                         (act_app_env_get), {NULL, NULL}-terminated; may be NULL */
} dyn_config_t;

/* Applies environment env's configuration c (may be NULL: defaults only) to the Dynamo d, then
 * the process's environment variables (above), then the caller's overrides: port if port_set,
 * host if not NULL. d->env becomes env. Strings are borrowed (c's, getenv's, host) for d's
 * life. On an error nothing is applied and err gets one line for a person (what is wrong and
 * how to fix it). Returns 0 or ACT_EBADARG (a bad PORT or DYNAMO_LOG_LEVEL, SECRET_KEY_BASE
 * missing or too short in prod, a secret in prod's file, a secret too short). Before the
 * Dynamo starts, on the thread that owns d. */
DYN_API int dyn_config_apply(dyn_dynamo_t *d, dyn_env_t env, const dyn_config_t *c, bool port_set,
                             uint16_t port, const char *host, char *err, size_t errlen);

/* Parses a log level name ("debug", "info", "warn", "error", "none"). Returns 0 or
 * ACT_EBADARG. */
DYN_API int dyn_log_level_parse(const char *s, dyn_log_level_t *out);
/* "debug", "info", ..., "default". */
DYN_API const char *dyn_log_level_name(dyn_log_level_t level);

#endif
