/*
 * RFC 9110's fields for caches and partial content, as the static plug reads them: HTTP dates,
 * entity-tag lists, byte ranges and Accept-Encoding (static_int.h).
 *
 * Every parser walks its input once, never reads past the end, allocates nothing, and says
 * "invalid" for anything off the grammar rather than guessing: an invalid conditional field
 * is ignored, as the RFC asks, so a hostile client only ever gets the plain 200. Numbers
 * saturate instead of wrapping (a range start of 2^70 is just unsatisfiable).
 */
#include <string.h>
#include <strings.h>

#include "static_int.h"

/* ---- dates -------------------------------------------------------------------------------- */

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const long_days[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* A cursor over s[0..len). */
typedef struct cur {
    const char *p;
    const char *end;
} cur_t;

static bool lit(cur_t *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Exactly n digits (n <= 9). */
static bool digits(cur_t *c, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (c->p == c->end || *c->p < '0' || *c->p > '9')
            return false;
        v = v * 10 + (unsigned)(*c->p++ - '0');
    }
    *out = v;
    return true;
}

static int month(cur_t *c)
{
    if (c->end - c->p < 3)
        return -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(c->p, months[i], 3) == 0) {
            c->p += 3;
            return i + 1;
        }
    return -1;
}

/* "HH:MM:SS" */
static bool clock_of_day(cur_t *c, unsigned *h, unsigned *mi, unsigned *s)
{
    return digits(c, 2, h) && lit(c, ":") && digits(c, 2, mi) && lit(c, ":") && digits(c, 2, s) &&
           *h < 24 && *mi < 60 && *s <= 60; /* 60: a leap second, as the grammar allows */
}

static bool finish(int64_t y, int m, unsigned d, unsigned h, unsigned mi, unsigned s, time_t *out)
{
    if (m < 1 || d < 1 || d > month_days(y, (unsigned)m))
        return false;
    if (s == 60)
        s = 59;
    *out = (time_t)(days_from_civil(y, (unsigned)m, d) * 86400 + h * 3600 + mi * 60 + s);
    return true;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool imf_fixdate(cur_t c, time_t *out)
{
    bool day = false;
    for (int i = 0; i < 7 && !day; i++)
        day = lit(&c, days[i]);
    unsigned d, y, h, mi, s;
    int m;
    if (!day || !lit(&c, ", ") || !digits(&c, 2, &d) || !lit(&c, " ") || (m = month(&c)) < 0 ||
        !lit(&c, " ") || !digits(&c, 4, &y) || !lit(&c, " ") || !clock_of_day(&c, &h, &mi, &s) ||
        !lit(&c, " GMT") || c.p != c.end)
        return false;
    return finish(y, m, d, h, mi, s, out);
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" */
static bool rfc850(cur_t c, time_t now, time_t *out)
{
    bool day = false;
    for (int i = 0; i < 7 && !day; i++)
        day = lit(&c, long_days[i]);
    unsigned d, yy, h, mi, s;
    int m;
    if (!day || !lit(&c, ", ") || !digits(&c, 2, &d) || !lit(&c, "-") || (m = month(&c)) < 0 ||
        !lit(&c, "-") || !digits(&c, 2, &yy) || !lit(&c, " ") || !clock_of_day(&c, &h, &mi, &s) ||
        !lit(&c, " GMT") || c.p != c.end)
        return false;
    /* The latest year ending in yy that is not more than 50 years in the future. */
    int64_t now_year = 1970 + (int64_t)(now / 86400) * 400 / 146097;
    int64_t y = now_year - now_year % 100 + yy;
    if (y > now_year + 50)
        y -= 100;
    return finish(y, m, d, h, mi, s, out);
}

/* "Sun Nov  6 08:49:37 1994" */
static bool asctime_date(cur_t c, time_t *out)
{
    bool day = false;
    for (int i = 0; i < 7 && !day; i++)
        day = lit(&c, days[i]);
    unsigned d, y, h, mi, s;
    int m;
    if (!day || !lit(&c, " ") || (m = month(&c)) < 0 || !lit(&c, " "))
        return false;
    if (c.p < c.end && *c.p == ' ') {
        c.p++;
        if (!digits(&c, 1, &d))
            return false;
    } else if (!digits(&c, 2, &d)) {
        return false;
    }
    if (!lit(&c, " ") || !clock_of_day(&c, &h, &mi, &s) || !lit(&c, " ") || !digits(&c, 4, &y) ||
        c.p != c.end)
        return false;
    return finish(y, m, d, h, mi, s, out);
}

bool dyn__http_date_parse(const char *s, size_t len, time_t now, time_t *out)
{
    cur_t c = {s, s + len};
    if (len >= 4 && s[3] == ',')
        return imf_fixdate(c, out);
    if (len >= 4 && s[3] == ' ')
        return asctime_date(c, out);
    return rfc850(c, now, out);
}

void dyn__http_date_format(time_t t, char out[DYN__HTTP_DATE_LEN + 1])
{
    /* civil_from_days, the inverse of days_from_civil. */
    int64_t z = (int64_t)t / 86400, secs = (int64_t)t % 86400;
    if (secs < 0) {
        secs += 86400;
        z--;
    }
    int wday = (int)((z % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999; /* four digits, whatever the clock says */
    unsigned h = (unsigned)(secs / 3600), mi = (unsigned)(secs / 60 % 60),
             s = (unsigned)(secs % 60);
    memcpy(out, days[wday], 3);
    out[3] = ',';
    out[4] = ' ';
    out[5] = (char)('0' + d / 10);
    out[6] = (char)('0' + d % 10);
    out[7] = ' ';
    memcpy(out + 8, months[m - 1], 3);
    out[11] = ' ';
    unsigned yy = (unsigned)y;
    out[12] = (char)('0' + yy / 1000);
    out[13] = (char)('0' + yy / 100 % 10);
    out[14] = (char)('0' + yy / 10 % 10);
    out[15] = (char)('0' + yy % 10);
    out[16] = ' ';
    out[17] = (char)('0' + h / 10);
    out[18] = (char)('0' + h % 10);
    out[19] = ':';
    out[20] = (char)('0' + mi / 10);
    out[21] = (char)('0' + mi % 10);
    out[22] = ':';
    out[23] = (char)('0' + s / 10);
    out[24] = (char)('0' + s % 10);
    memcpy(out + 25, " GMT", 5);
}

/* ---- entity tags -------------------------------------------------------------------------- */

static const char *ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* etagc = "!" / %x23-7E / obs-text: anything visible but '"', and bytes >= 0x80. */
static bool etagc(unsigned char ch)
{
    return ch == 0x21 || (ch >= 0x23 && ch != 0x7f);
}

int dyn__etag_list_match(const char *list, const char *etag, bool weak)
{
    const char *p = ows(list);
    if (*p == '*') {
        p = ows(p + 1);
        return *p == '\0' ? DYN__ETAG_MATCH : DYN__ETAG_INVALID;
    }
    size_t elen = strlen(etag);
    bool any = false, matched = false;
    while (*p) {
        if (*p == ',') { /* empty list members are allowed (RFC 9110 section 5.6.1) */
            p = ows(p + 1);
            continue;
        }
        bool is_weak = false;
        if (p[0] == 'W' && p[1] == '/') {
            is_weak = true;
            p += 2;
        }
        if (*p != '"')
            return DYN__ETAG_INVALID;
        const char *start = p++;
        while (etagc((unsigned char)*p))
            p++;
        if (*p != '"')
            return DYN__ETAG_INVALID;
        p++;
        size_t n = (size_t)(p - start);
        if ((weak || !is_weak) && n == elen && memcmp(start, etag, n) == 0)
            matched = true;
        any = true;
        p = ows(p);
        if (*p && *p != ',')
            return DYN__ETAG_INVALID;
    }
    if (!any)
        return DYN__ETAG_INVALID;
    return matched ? DYN__ETAG_MATCH : DYN__ETAG_NOMATCH;
}

/* ---- ranges ------------------------------------------------------------------------------- */

/* 1*DIGIT, saturating at UINT64_MAX. */
static bool number(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    if (*p < '0' || *p > '9')
        return false;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned dgt = (unsigned)(*p - '0');
        v = v > (UINT64_MAX - dgt) / 10 ? UINT64_MAX : v * 10 + dgt;
    }
    *pp = p;
    *out = v;
    return true;
}

int dyn__range_parse(const char *field, uint64_t size, dyn__range_t *out)
{
    const char *p = field;
    if (strncasecmp(p, "bytes", 5) != 0)
        return DYN__RANGE_IGNORE; /* another unit: ignored, as the RFC asks */
    p = ows(p + 5);
    if (*p++ != '=')
        return DYN__RANGE_IGNORE;
    unsigned specs = 0, satisfiable = 0;
    dyn__range_t one = {0, 0};
    p = ows(p);
    while (*p) {
        if (*p == ',') {
            p = ows(p + 1);
            continue;
        }
        uint64_t first = 0, last = UINT64_MAX;
        bool suffix = *p == '-';
        if (suffix) {
            p++;
            if (!number(&p, &last))
                return DYN__RANGE_IGNORE;
        } else {
            if (!number(&p, &first) || *p++ != '-')
                return DYN__RANGE_IGNORE;
            if (*p >= '0' && *p <= '9') {
                number(&p, &last);
                if (last < first)
                    return DYN__RANGE_IGNORE; /* invalid, so the whole set is */
            }
        }
        p = ows(p);
        if (*p && *p != ',')
            return DYN__RANGE_IGNORE;
        if (++specs > DYN__RANGE_MAX)
            return DYN__RANGE_IGNORE;
        if (size == 0)
            continue;
        if (suffix) {
            if (last == 0)
                continue; /* "-0": nothing */
            one.first = last >= size ? 0 : size - last;
            one.last = size - 1;
        } else {
            if (first >= size)
                continue;
            one.first = first;
            one.last = last >= size ? size - 1 : last;
        }
        satisfiable++;
    }
    if (specs == 0 || size == 0)
        return DYN__RANGE_IGNORE;
    if (satisfiable == 0)
        return DYN__RANGE_UNSATISFIABLE;
    if (specs > 1)
        return DYN__RANGE_IGNORE;
    *out = one;
    return DYN__RANGE_ONE;
}

/* ---- Accept-Encoding ---------------------------------------------------------------------- */

/* A weight ("q=0.5") after ';': true unless it is zero. Bad parameters count as "not zero"
 * (the coding was still named). */
static bool nonzero_weight(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            if (p < end && *p == '0') {
                p++;
                if (p < end && *p == '.')
                    for (p++; p < end && *p == '0'; p++)
                        ;
                while (p < end && (*p == ' ' || *p == '\t'))
                    p++;
                if (p == end || *p == ';')
                    return false;
            }
            return true;
        }
        while (p < end && *p != ';')
            p++;
    }
    return true;
}

bool dyn__accepts_gzip(const char *field)
{
    if (!field)
        return false;
    int gzip = -1, star = -1; /* -1 unnamed, 0 refused, 1 accepted */
    const char *p = field;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t tlen = (size_t)(p - tok);
        const char *params = p;
        while (*p && *p != ',')
            p++;
        if (tlen == 0)
            continue;
        bool ok = nonzero_weight(params, p);
        if ((tlen == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
            (tlen == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
            gzip = gzip == 1 ? 1 : ok;
        else if (tlen == 1 && *tok == '*')
            star = ok;
    }
    return gzip >= 0 ? gzip == 1 : star == 1;
}
