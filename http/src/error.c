/* Error strings, status reasons, method names. */
#include <string.h>

#include "http/http.h"

const char *http_strerror(int err)
{
    switch (err) {
#define HTTP__ERR_STR(name, msg)                                                                   \
    case -HTTP__E##name:                                                                           \
        return msg;
        HTTP_ERROR_MAP(HTTP__ERR_STR)
#undef HTTP__ERR_STR
    default:
        return act_strerror(err);
    }
}

const char *http_status_reason(int status)
{
    switch (status) {
#define HTTP__REASON_STR(code, reason)                                                             \
    case code:                                                                                     \
        return reason;
        HTTP_REASON_MAP(HTTP__REASON_STR)
#undef HTTP__REASON_STR
    default:
        return "Unknown";
    }
}

const char *http_method_name(http_method_t m)
{
    static const char *const names[] = {
        [HTTP_METHOD_OTHER] = "OTHER", [HTTP_METHOD_GET] = "GET",
        [HTTP_METHOD_HEAD] = "HEAD",   [HTTP_METHOD_POST] = "POST",
        [HTTP_METHOD_PUT] = "PUT",     [HTTP_METHOD_DELETE] = "DELETE",
        [HTTP_METHOD_PATCH] = "PATCH", [HTTP_METHOD_OPTIONS] = "OPTIONS",
        [HTTP_METHOD_TRACE] = "TRACE", [HTTP_METHOD_CONNECT] = "CONNECT",
    };
    if ((unsigned)m >= sizeof names / sizeof names[0])
        return "OTHER";
    return names[m];
}
