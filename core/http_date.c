/*
 * http_date: format and parse the date forms HTTP and S3 use (see http_date.h).
 *
 * Day and month names are our own tables, not strftime's, because strftime follows LC_TIME and
 * HTTP dates are always English (RFC 7231 7.1.1.1); calendar maths is timegm/gmtime_r, so the
 * process time zone never matters either. All three parsed forms are fixed-width, so each is a
 * position-by-position match with no scanning.
 */
#include "http_date.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char http_date_days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const http_date_days_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                   "Thursday", "Friday", "Saturday"};
static const char http_date_months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Write v as exactly n decimal digits (v is known to fit). */
static char *http_date_put(char *o, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + n;
}

static char *http_date_put_str(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

/* gmtime_r, kept within years 0..9999 so every field fits the fixed-width forms; a time_t
 * outside that (or that gmtime_r rejects) is clamped to the nearest end. */
static void http_date_tm(time_t t, struct tm *tm)
{
    if (gmtime_r(&t, tm) == NULL || tm->tm_year + 1900 > 9999) {
        if (t > 0) {
            *tm = (struct tm){.tm_year = 9999 - 1900,
                              .tm_mon = 11,
                              .tm_mday = 31,
                              .tm_hour = 23,
                              .tm_min = 59,
                              .tm_sec = 59,
                              .tm_wday = 5};
        } else {
            *tm = (struct tm){.tm_year = -1900, .tm_mon = 0, .tm_mday = 1, .tm_wday = 6};
        }
    } else if (tm->tm_year + 1900 < 0) {
        *tm = (struct tm){.tm_year = -1900, .tm_mon = 0, .tm_mday = 1, .tm_wday = 6};
    }
}

void http_date_format(time_t t, char *out)
{
    struct tm tm;
    char *o = out;

    http_date_tm(t, &tm);
    o = http_date_put_str(o, http_date_days[tm.tm_wday], 3);
    o = http_date_put_str(o, ", ", 2);
    o = http_date_put(o, tm.tm_mday, 2);
    *o++ = ' ';
    o = http_date_put_str(o, http_date_months[tm.tm_mon], 3);
    *o++ = ' ';
    o = http_date_put(o, tm.tm_year + 1900, 4);
    *o++ = ' ';
    o = http_date_put(o, tm.tm_hour, 2);
    *o++ = ':';
    o = http_date_put(o, tm.tm_min, 2);
    *o++ = ':';
    o = http_date_put(o, tm.tm_sec, 2);
    o = http_date_put_str(o, " GMT", 4);
    *o = '\0';
}

void http_date_format_iso8601(time_t t, char *out)
{
    struct tm tm;
    char *o = out;

    http_date_tm(t, &tm);
    o = http_date_put(o, tm.tm_year + 1900, 4);
    *o++ = '-';
    o = http_date_put(o, tm.tm_mon + 1, 2);
    *o++ = '-';
    o = http_date_put(o, tm.tm_mday, 2);
    *o++ = 'T';
    o = http_date_put(o, tm.tm_hour, 2);
    *o++ = ':';
    o = http_date_put(o, tm.tm_min, 2);
    *o++ = ':';
    o = http_date_put(o, tm.tm_sec, 2);
    /* S3 writes milliseconds; our times are whole seconds. */
    o = http_date_put_str(o, ".000Z", 5);
    *o = '\0';
}

/* n digits at s into *out; -1 if any is not a digit. */
static int http_date_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Three-letter month name (case-sensitive, RFC 7231 7.1.1.1) to 0..11, or -1. */
static int http_date_month(const char *s)
{
    for (int i = 0; i < 12; i++) {
        if (memcmp(s, http_date_months[i], 3) == 0)
            return i;
    }
    return -1;
}

static bool http_date_is_day(const char *s)
{
    for (int i = 0; i < 7; i++) {
        if (memcmp(s, http_date_days[i], 3) == 0)
            return true;
    }
    return false;
}

/* "HH:MM:SS" at s. Second 60 is allowed: the grammar admits leap seconds, timegm folds it. */
static int http_date_time(const char *s, struct tm *tm)
{
    if (s[2] != ':' || s[5] != ':')
        return -1;
    if (http_date_digits(s, 2, &tm->tm_hour) || http_date_digits(s + 3, 2, &tm->tm_min) ||
        http_date_digits(s + 6, 2, &tm->tm_sec))
        return -1;
    if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
        return -1;
    return 0;
}

static bool http_date_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Check the calendar date (timegm would quietly roll "31 Feb" into March) and convert. */
static int http_date_finish(struct tm *tm, int year, time_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max = mdays[tm->tm_mon] + (tm->tm_mon == 1 && http_date_leap(year) ? 1 : 0);

    if (tm->tm_mday < 1 || tm->tm_mday > max)
        return -1;
    tm->tm_year = year - 1900;
    tm->tm_isdst = 0;
    /* -1 is also a valid time (1969-12-31 23:59:59), so errno tells the failure apart. */
    errno = 0;
    time_t t = timegm(tm);
    if (t == (time_t)-1 && errno != 0)
        return -1;
    *out = t;
    return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int http_date_parse_imf(const char *s, size_t len, time_t *out)
{
    struct tm tm = {0};
    int year;

    if (len != 29 || !http_date_is_day(s) || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' ||
        s[11] != ' ' || s[16] != ' ' || memcmp(s + 25, " GMT", 4) != 0)
        return -1;
    if (http_date_digits(s + 5, 2, &tm.tm_mday) || http_date_digits(s + 12, 4, &year))
        return -1;
    tm.tm_mon = http_date_month(s + 8);
    if (tm.tm_mon < 0 || http_date_time(s + 17, &tm) != 0)
        return -1;
    return http_date_finish(&tm, year, out);
}

/* The current UTC year, for the RFC 850 two-digit-year rule. */
static int http_date_this_year(void)
{
    struct tm tm;
    time_t now = time(NULL);
    if (gmtime_r(&now, &tm) == NULL)
        return 1970;
    return tm.tm_year + 1900;
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". */
static int http_date_parse_rfc850(const char *s, size_t len, time_t *out)
{
    struct tm tm = {0};
    size_t n = 0;
    int yy;

    for (int i = 0; i < 7; i++) {
        size_t dl = strlen(http_date_days_long[i]);
        if (len > dl && memcmp(s, http_date_days_long[i], dl) == 0) {
            n = dl;
            break;
        }
    }
    if (n == 0 || len != n + 24)
        return -1;
    s += n;
    if (memcmp(s, ", ", 2) != 0 || s[4] != '-' || s[8] != '-' || s[11] != ' ' ||
        memcmp(s + 20, " GMT", 4) != 0)
        return -1;
    if (http_date_digits(s + 2, 2, &tm.tm_mday) || http_date_digits(s + 9, 2, &yy))
        return -1;
    tm.tm_mon = http_date_month(s + 5);
    if (tm.tm_mon < 0 || http_date_time(s + 12, &tm) != 0)
        return -1;

    /* RFC 7231 7.1.1.1: a two-digit year more than 50 years in the future means the most
     * recent past year with the same last two digits. */
    int now = http_date_this_year();
    int year = now - now % 100 + yy;
    if (year > now + 50)
        year -= 100;
    return http_date_finish(&tm, year, out);
}

/* asctime: "Sun Nov  6 08:49:37 1994" (day space-padded; "06" is taken too). */
static int http_date_parse_asctime(const char *s, size_t len, time_t *out)
{
    struct tm tm = {0};
    int year;

    if (len != 24 || !http_date_is_day(s) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' ||
        s[19] != ' ')
        return -1;
    tm.tm_mon = http_date_month(s + 4);
    if (tm.tm_mon < 0)
        return -1;
    if (s[8] == ' ') {
        if (http_date_digits(s + 9, 1, &tm.tm_mday))
            return -1;
    } else if (http_date_digits(s + 8, 2, &tm.tm_mday)) {
        return -1;
    }
    if (http_date_time(s + 11, &tm) != 0 || http_date_digits(s + 20, 4, &year))
        return -1;
    return http_date_finish(&tm, year, out);
}

int http_date_parse(const char *s, size_t len, time_t *out)
{
    if (s == NULL || len < 4)
        return -1;
    if (s[3] == ',')
        return http_date_parse_imf(s, len, out);
    if (s[3] == ' ')
        return http_date_parse_asctime(s, len, out);
    return http_date_parse_rfc850(s, len, out);
}

int http_date_parse_amz(const char *s, size_t len, time_t *out)
{
    struct tm tm = {0};
    int year;

    if (s == NULL || len != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    if (http_date_digits(s, 4, &year) || http_date_digits(s + 4, 2, &tm.tm_mon) ||
        http_date_digits(s + 6, 2, &tm.tm_mday))
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12)
        return -1;
    tm.tm_mon--;
    char hms[8] = {s[9], s[10], ':', s[11], s[12], ':', s[13], s[14]};
    if (http_date_time(hms, &tm) != 0)
        return -1;
    return http_date_finish(&tm, year, out);
}
