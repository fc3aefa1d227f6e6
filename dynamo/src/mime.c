/* Media types and header parameters (mime_int.h). */
#include <string.h>
#include <strings.h>

#include "mime_int.h"
#include "text_int.h"

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool dyn__ieq(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

bool dyn__mime_split(const char *ct, dyn_str_t *type, dyn_str_t *sub, const char **params)
{
    const char *p = skip_ws(ct);
    const char *t = p;
    while (dyn__tchar((unsigned char)*p))
        p++;
    if (p == t || *p != '/')
        return false;
    *type = (dyn_str_t){t, (size_t)(p - t)};
    const char *s = ++p;
    while (dyn__tchar((unsigned char)*p))
        p++;
    if (p == s)
        return false;
    *sub = (dyn_str_t){s, (size_t)(p - s)};
    p = skip_ws(p);
    if (*p && *p != ';')
        return false;
    *params = p;
    return true;
}

/* Reads one value at p (a token or a quoted-string) into out; *end gets what follows. */
static ssize_t read_value(const char *p, const char **end, char *out, size_t cap)
{
    size_t n = 0;
    bool fits = true;
    if (*p == '"') {
        p++;
        for (;;) {
            char c = *p;
            if (!c)
                return DYN_EBADENCODING; /* unterminated */
            if (c == '"') {
                p++;
                break;
            }
            if (c == '\\' && (p[1] == '"' || p[1] == '\\'))
                c = *++p;
            if (out) {
                if (n + 1 < cap)
                    out[n] = c;
                else
                    fits = false;
            }
            n++;
            p++;
        }
    } else {
        /* A token; lenient: anything up to ';' or whitespace (unquoted filenames exist). */
        while (*p && *p != ';' && *p != ' ' && *p != '\t') {
            if (out) {
                if (n + 1 < cap)
                    out[n] = *p;
                else
                    fits = false;
            }
            n++;
            p++;
        }
    }
    *end = p;
    if (!out)
        return (ssize_t)n;
    if (!fits)
        return DYN_ELIMIT;
    out[n] = '\0';
    return (ssize_t)n;
}

ssize_t dyn__mime_param(const char *params, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = params;
    for (;;) {
        p = skip_ws(p);
        while (*p == ';')
            p = skip_ws(p + 1);
        if (!*p)
            return -1;
        const char *k = p;
        while (dyn__tchar((unsigned char)*p))
            p++;
        size_t kl = (size_t)(p - k);
        p = skip_ws(p);
        if (kl == 0 || *p != '=')
            return DYN_EBADENCODING;
        p = skip_ws(p + 1);
        const char *end;
        bool want = kl == nl && strncasecmp(k, name, nl) == 0;
        ssize_t vl = read_value(p, &end, want ? out : NULL, cap);
        if (vl < 0 || want)
            return vl;
        p = skip_ws(end);
        if (*p && *p != ';')
            return DYN_EBADENCODING;
    }
}
