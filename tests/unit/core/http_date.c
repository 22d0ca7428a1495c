/*
 * Unit tests for core/http_date.c: the three HTTP-date forms RFC 7231 7.1.1.1 makes recipients
 * accept, the ISO 8601 form of S3 XML and the SigV4 X-Amz-Date form.
 */
#include "core/http_date.h"

#include <criterion/criterion.h>

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RFC_EXAMPLE 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT, RFC 7231's example */

static int parse(const char *s, time_t *t)
{
    return http_date_parse(s, strlen(s), t);
}

Test(http_date, format_rfc_example)
{
    char out[HTTP_DATE_LEN + 1];
    http_date_format(RFC_EXAMPLE, out);
    cr_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    cr_assert_eq(strlen(out), HTTP_DATE_LEN);
}

Test(http_date, format_epoch_and_far_dates)
{
    char out[HTTP_DATE_LEN + 1];
    http_date_format(0, out);
    cr_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    http_date_format(951782400, out); /* leap day */
    cr_assert_str_eq(out, "Tue, 29 Feb 2000 00:00:00 GMT");
    http_date_format(253402300799, out);
    cr_assert_str_eq(out, "Fri, 31 Dec 9999 23:59:59 GMT");
}

Test(http_date, format_clamps_out_of_range_times)
{
    char out[HTTP_DATE_LEN + 1];
    http_date_format(253402300800, out); /* year 10000 */
    cr_assert_str_eq(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    cr_assert_eq(strlen(out), HTTP_DATE_LEN);
    http_date_format((time_t)INT64_MAX, out);
    cr_assert_eq(strlen(out), HTTP_DATE_LEN);
    http_date_format((time_t)INT64_MIN, out);
    cr_assert_str_eq(out, "Sat, 01 Jan 0000 00:00:00 GMT");
}

Test(http_date, format_ignores_tz_and_locale)
{
    char out[HTTP_DATE_LEN + 1];
    setenv("TZ", "America/New_York", 1);
    tzset();
    setlocale(LC_ALL, "");
    http_date_format(RFC_EXAMPLE, out);
    cr_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    time_t t;
    cr_assert_eq(parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    cr_assert_eq(t, RFC_EXAMPLE);
}

Test(http_date, format_iso8601)
{
    char out[ISO8601_LEN + 1];
    http_date_format_iso8601(RFC_EXAMPLE, out);
    cr_assert_str_eq(out, "1994-11-06T08:49:37.000Z");
    cr_assert_eq(strlen(out), ISO8601_LEN);
    http_date_format_iso8601(0, out);
    cr_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
}

Test(http_date, parse_imf_fixdate)
{
    time_t t = 0;
    cr_assert_eq(parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    cr_assert_eq(t, RFC_EXAMPLE);
    cr_assert_eq(parse("Thu, 01 Jan 1970 00:00:00 GMT", &t), 0);
    cr_assert_eq(t, 0);
}

Test(http_date, parse_rfc850)
{
    time_t t = 0;
    cr_assert_eq(parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
    cr_assert_eq(t, RFC_EXAMPLE);
    cr_assert_eq(parse("Wednesday, 01-Jan-20 00:00:00 GMT", &t), 0);
    cr_assert_eq(t, 1577836800);
}

Test(http_date, parse_rfc850_two_digit_year_rule)
{
    /* RFC 7231: more than 50 years ahead means the previous century. */
    time_t now = time(NULL), t;
    struct tm tm;
    gmtime_r(&now, &tm);
    int year = tm.tm_year + 1900;
    char s[64];
    int ahead = (year + 49) % 100, behind = (year + 51) % 100;
    snprintf(s, sizeof(s), "Monday, 01-Jan-%02d 00:00:00 GMT", ahead);
    cr_assert_eq(parse(s, &t), 0);
    gmtime_r(&t, &tm);
    cr_assert_eq(tm.tm_year + 1900, year + 49);
    snprintf(s, sizeof(s), "Monday, 01-Jan-%02d 00:00:00 GMT", behind);
    cr_assert_eq(parse(s, &t), 0);
    gmtime_r(&t, &tm);
    cr_assert_eq(tm.tm_year + 1900, year + 51 - 100);
}

Test(http_date, parse_asctime)
{
    time_t t = 0;
    cr_assert_eq(parse("Sun Nov  6 08:49:37 1994", &t), 0);
    cr_assert_eq(t, RFC_EXAMPLE);
    cr_assert_eq(parse("Sun Nov 06 08:49:37 1994", &t), 0);
    cr_assert_eq(t, RFC_EXAMPLE);
    cr_assert_eq(parse("Thu Jan  1 00:00:00 1970", &t), 0);
    cr_assert_eq(t, 0);
}

Test(http_date, parse_round_trips_format)
{
    char out[HTTP_DATE_LEN + 1];
    for (time_t t = -86400LL * 365 * 70; t < 86400LL * 365 * 100; t += 86400LL * 37 + 3671) {
        time_t back;
        http_date_format(t, out);
        cr_assert_eq(parse(out, &back), 0, "%s", out);
        cr_assert_eq(back, t, "%s", out);
    }
}

Test(http_date, parse_one_second_before_epoch)
{
    time_t t = 0;
    cr_assert_eq(parse("Wed, 31 Dec 1969 23:59:59 GMT", &t), 0);
    cr_assert_eq(t, -1);
}

Test(http_date, parse_leap_second_and_leap_day)
{
    time_t t;
    cr_assert_eq(parse("Sat, 31 Dec 2016 23:59:60 GMT", &t), 0);
    cr_assert_eq(t, 1483228800);
    cr_assert_eq(parse("Tue, 29 Feb 2000 00:00:00 GMT", &t), 0);
    cr_assert_eq(parse("Thu, 29 Feb 2024 00:00:00 GMT", &t), 0);
    cr_assert_eq(parse("Mon, 29 Feb 2100 00:00:00 GMT", &t), -1);
    cr_assert_eq(parse("Wed, 29 Feb 2023 00:00:00 GMT", &t), -1);
}

Test(http_date, parse_rejects_junk)
{
    static const char *const bad[] = {
        "",
        "Sun",
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        " Sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 0x Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 199x 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sunda, 06-Nov-94 08:49:37 GMT",
        "Funday, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMTX",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 1994 ",
        "Sun Nov x6 08:49:37 1994",
        "Sun Nov  x 08:49:37 1994",
        "1994-11-06T08:49:37Z",
        "784111777",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        time_t t = 42;
        cr_assert_eq(parse(bad[i], &t), -1, "%s", bad[i]);
        cr_assert_eq(t, 42);
    }
    time_t t;
    cr_assert_eq(http_date_parse(NULL, 0, &t), -1);
}

Test(http_date, parse_never_reads_past_len)
{
    time_t t;
    cr_assert_eq(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMTjunk", 29, &t), 0);
    cr_assert_eq(t, RFC_EXAMPLE);
    cr_assert_eq(http_date_parse("Sun, 06 Nov 1994 08:49:37 GM", 28, &t), -1);
}

Test(http_date, parse_amz)
{
    time_t t = 0;
    cr_assert_eq(http_date_parse_amz("19941106T084937Z", 16, &t), 0);
    cr_assert_eq(t, RFC_EXAMPLE);
    cr_assert_eq(http_date_parse_amz("20150830T123600Z", 16, &t), 0);
    cr_assert_eq(t, 1440938160);
}

Test(http_date, parse_amz_rejects_junk)
{
    static const char *const bad[] = {
        "",
        "20150830T123600",
        "20150830T123600Z ",
        "20150830t123600Z",
        "20150830T123600z",
        "2015083OT123600Z",
        "20151330T123600Z",
        "20150000T123600Z",
        "20150832T123600Z",
        "20150230T123600Z",
        "20150830T243600Z",
        "20150830T126000Z",
        "2015-08-30T12:36:00Z",
        "20150830 123600Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        time_t t = 42;
        cr_assert_eq(http_date_parse_amz(bad[i], strlen(bad[i]), &t), -1, "%s", bad[i]);
        cr_assert_eq(t, 42);
    }
}
