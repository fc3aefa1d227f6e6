/*
 * Log lines of a Dynamo (the request logger, crashes), through the runtime's report sink.
 *
 * Values that come from requests (paths, ids) are quoted and escaped (logfmt's rules, control
 * bytes as \xNN), so a request can never forge a second log line or a field.
 */
#include <stdio.h>
#include <string.h>

#include "pipeline_int.h"

bool dyn__log_on(const dyn__inst_t *in, dyn_log_level_t level)
{
    return level >= in->log_level && in->log_level != DYN_LOG_NONE && act_report_enabled();
}

void dyn__log(const dyn__inst_t *in, dyn_log_level_t level, const char *fmt, ...)
{
    if (!dyn__log_on(in, level))
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    act_report_log(in->decl->name, line);
}

void dyn__log_text(dyn_buf_t *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < ' ' || *p == 0x7f)
            dyn_buf_printf(b, "\\x%02x", *p);
        else
            dyn_buf_put(b, p, 1);
    }
}

void dyn__log_value(dyn_buf_t *b, const char *s)
{
    bool quote = s[0] == '\0';
    for (const unsigned char *p = (const unsigned char *)s; *p && !quote; p++)
        quote = *p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f;
    if (!quote) {
        dyn_buf_puts(b, s);
        return;
    }
    dyn_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            dyn_buf_printf(b, "\\%c", *p);
        else if (*p < ' ' || *p == 0x7f)
            dyn_buf_printf(b, "\\x%02x", *p);
        else
            dyn_buf_put(b, p, 1);
    }
    dyn_buf_puts(b, "\"");
}
