/*
 * The logger plug (plug.h, Plug.Logger): one line per request, written when its response goes
 * out (a before-send callback, so the status is the one sent, an error page's included),
 * through the runtime's report sink.
 *
 *     dev:          GET /users/42 -> 200 in 312us [FZ1kB3...]
 *     test, prod:   level=info method=GET path=/users/42 status=200 duration_us=312
 *                   request_id=FZ1kB3... dynamo=hello
 *
 * Request lines are at level info: with the level above info nothing is registered at all.
 */
#include <string.h>
#include <time.h>

#include "../pipeline_int.h"

static const dyn_logger_opts_t defaults = {0};

typedef struct start {
    struct timespec t0;
    const dyn_logger_opts_t *opts;
} start_t;

static int init(const void *opts, void **state)
{
    *state = (void *)(opts ? opts : &defaults);
    return 0;
}

static dyn_conn_t *line(dyn_conn_t *c, void *arg)
{
    start_t *s = arg;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long us =
        (long long)(t1.tv_sec - s->t0.tv_sec) * 1000000 + (t1.tv_nsec - s->t0.tv_nsec) / 1000;
    dyn_log_format_t fmt = s->opts->format;
    if (fmt == DYN_LOG_FORMAT_DEFAULT)
        fmt = c->inst->env == DYN_ENV_DEV ? DYN_LOG_FORMAT_TEXT : DYN_LOG_FORMAT_LOGFMT;
    dyn_buf_t b;
    dyn_buf_init(&b, c->arena, 256);
    if (fmt == DYN_LOG_FORMAT_TEXT) {
        dyn_buf_printf(&b, "%s ", c->orig_method_str);
        dyn__log_text(&b, c->path);
        dyn_buf_printf(&b, " -> %d in %lldus", c->status, us);
        if (c->request_id)
            dyn_buf_printf(&b, " [%s]", c->request_id);
    } else {
        dyn_buf_puts(&b, "level=info method=");
        dyn__log_value(&b, c->orig_method_str);
        dyn_buf_puts(&b, " path=");
        dyn__log_value(&b, c->path);
        dyn_buf_printf(&b, " status=%d duration_us=%lld request_id=", c->status, us);
        dyn__log_value(&b, c->request_id ? c->request_id : "");
        dyn_buf_printf(&b, " dynamo=%s", c->inst->decl->name);
    }
    if (!b.failed)
        act_report_log(c->inst->decl->name, b.data);
    return c;
}

static dyn_conn_t *call(dyn_conn_t *c, void *state)
{
    const dyn_logger_opts_t *o = state;
    dyn_log_level_t level = o->level ? o->level : c->inst->log_level;
    if (level > DYN_LOG_INFO || !act_report_enabled())
        return c;
    start_t *s = dyn_alloc(c, sizeof *s);
    clock_gettime(CLOCK_MONOTONIC, &s->t0);
    s->opts = o;
    return dyn_register_before_send(c, line, s);
}

const dyn_plug_t dyn_plug_logger = {
    .name = "logger",
    .init = init,
    .call = call,
};
