/*
 * The Date header (RFC 9110 5.6.7, IMF-fixdate), formatted once a second per worker: the
 * responses of a scheduler all read the same cached string. Whether a second has passed is
 * told by the loop's cached clock (uv_now, updated once per loop turn), so a response reads no
 * clock at all; the wall clock is read once per second. The loop's clock lags by at most a
 * turn, so the header may lag the true second by that much.
 */
#include <string.h>
#include <time.h>

#include "conn_int.h"

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

const char *http__date(http__worker_t *w)
{
    /* The loop's cached clock (no call at all) says when the next second may have begun. */
    uint64_t now = uv_now(w->timer.loop);
    if (ACT_LIKELY(now < w->date_next))
        return w->date;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w->date_next = now + (uint64_t)(1000 - ts.tv_nsec / 1000000);
    if (ts.tv_sec == w->date_sec)
        return w->date;
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char *p = w->date; /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    memcpy(p, days[tm.tm_wday], 3);
    p[3] = ',';
    p[4] = ' ';
    put2(p + 5, tm.tm_mday);
    p[7] = ' ';
    memcpy(p + 8, months[tm.tm_mon], 3);
    p[11] = ' ';
    int y = tm.tm_year + 1900;
    put2(p + 12, y / 100);
    put2(p + 14, y % 100);
    p[16] = ' ';
    put2(p + 17, tm.tm_hour);
    p[19] = ':';
    put2(p + 20, tm.tm_min);
    p[22] = ':';
    put2(p + 23, tm.tm_sec);
    memcpy(p + 25, " GMT", 5);
    w->date_sec = ts.tv_sec;
    return w->date;
}
