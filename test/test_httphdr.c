/*
 * httphdr tests: tables of header lines and values, including malformed
 * and hostile ones.  Spans are passed without a terminating NUL where it
 * matters: each input is copied into an exact-size buffer.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "httphdr.h"

/* An exact-size heap copy, so a read past the span is a sanitizer error. */
static char *span(const char *s, size_t *len)
{
  char *p;

  *len = strlen(s);
  p = malloc(*len ? *len : 1);
  memcpy(p, s, *len);
  return p;
}

static const struct {
  const char *line, *name, *want;
} values[] = {
    {"Retry-After: 120\r\n", "Retry-After", "120"},
    {"retry-after:\t 7 \r\n", "Retry-After", "7"},
    {"ETag: \"abc\"\r\n", "ETag", "\"abc\""},
    {"ETag:\r\n", "ETag", ""},
    {"ETagX: 1\r\n", "ETag", NULL},
    {"ETa: 1\r\n", "ETag", NULL},
    {"Content-Range bytes 1-2/3\r\n", "Content-Range", NULL},
    {"", "ETag", NULL},
    {"ETag", "ETag", NULL},
};

START_TEST(test_value)
{
  size_t n, len = 0;
  char *line = span(values[_i].line, &n);
  const char *v = httphdr_value(line, n, values[_i].name, &len);

  if (!values[_i].want)
    ck_assert_ptr_null(v);
  else {
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, strlen(values[_i].want));
    ck_assert(!memcmp(v, values[_i].want, len));
  }
  free(line);
}
END_TEST

/* 2015-10-21 07:28:00 UTC */
#define NOW 1445412480

static const struct {
  const char *value;
  uint64_t want_ms;
} retry_afters[] = {
    {"0", 0},
    {"1", 1000},
    {"120", 120000},
    {"86400", 86400000},
    {"999999999999", 86400000},        /* capped at a day */
    {"99999999999999999999999999", 0}, /* overflow: not a number */
    {"-5", 0},
    {"+5", 0},
    {" 5", 0},
    {"5s", 0},
    {"", 0},
    {"Wed, 21 Oct 2015 07:28:10 GMT", 10000},
    {"Wed, 21 Oct 2015 07:27:00 GMT", 0}, /* in the past */
    {"Thu, 22 Oct 2015 07:28:00 GMT", 86400000},
    {"Sat, 21 Oct 2045 07:28:00 GMT", 86400000},
    {"not a date", 0},
};

START_TEST(test_retry_after)
{
  size_t n;
  char *v = span(retry_afters[_i].value, &n);

  ck_assert_uint_eq(httphdr_retry_after_ms(v, n, NOW),
                    retry_afters[_i].want_ms);
  free(v);
}
END_TEST

static const struct {
  const char *value;
  int64_t want;
} dates[] = {
    {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
    {"Fri, 31 Dec 1999 23:59:59 GMT", 946684799},
    {"Tue, 29 Feb 2000 12:00:00 GMT", 951825600},
    {"Mon, 01 Mar 2100 00:00:00 GMT", 4107542400},
    /* A wrong weekday passes, as in libcurl; a word that is none fails. */
    {"Mon, 06 Nov 1994 08:49:37 GMT", 784111777},
    {"Xyz, 06 Nov 1994 08:49:37 GMT", -1},
    {"SuI, 06 Nov 1994 08:49:37 GMT", -1},
    /* Other case: libcurl's parser takes it. */
    {"sun, 06 NOV 1994 08:49:37 GMT", 784111777},
    /* Obsolete forms, which go to curl_getdate. */
    {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
    {"Sun Nov  6 08:49:37 1994", 784111777},
    {"Sun, 6 Nov 1994 08:49:37 GMT", 784111777},
    {"Sun, 06 Foo 1994 08:49:37 GMT", -1},
    {"Sun, 06 Nov 1994 25:49:37 GMT", -1},
    {"garbage", -1},
    {"", -1},
};

START_TEST(test_date)
{
  size_t n;
  char *v = span(dates[_i].value, &n);

  ck_assert_int_eq(httphdr_date(v, n), dates[_i].want);
  /* Where they overlap, our parser and libcurl's agree. */
  ck_assert_int_eq(curl_getdate(dates[_i].value, NULL), dates[_i].want);
  free(v);
}
END_TEST

/*
 * Every 1,000,003rd second from 1970 to 2106, written as IMF-fixdate by
 * gmtime and strftime, parses back to itself, and libcurl agrees.
 */
START_TEST(test_date_round_trip)
{
  int64_t t;

  for (t = 0; t < 4294967296LL; t += 1000003) {
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[64];
    size_t n;

    gmtime_r(&tt, &tm);
    n = strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ck_assert_uint_eq(n, 29);
    ck_assert_int_eq(httphdr_date(buf, n), t);
    ck_assert_int_eq(curl_getdate(buf, NULL), tt);
  }
}
END_TEST

static const struct {
  const char *value;
  int64_t want;
} ranges[] = {
    {"bytes 0-99/100", 0},
    {"bytes 30000-99999/100000", 30000},
    {"BYTES 5-5/*", 5},
    {"bytes 10-5/100", -1},
    {"bytes -5/100", -1},
    {"bytes 5-/100", -1},
    {"bytes 5-10", -1},
    {"bytes */100", -1},
    {"bytes 5", -1},
    {"bits 5-10/100", -1},
    {"bytes 99999999999999999999-1/2", -1},
    {"", -1},
};

START_TEST(test_range_start)
{
  size_t n;
  char *v = span(ranges[_i].value, &n);

  ck_assert_int_eq(httphdr_range_start(v, n), ranges[_i].want);
  free(v);
}
END_TEST

static Suite *httphdr_suite(void)
{
  Suite *s = suite_create("httphdr");
  TCase *tc = tcase_create("parsers");

  tcase_add_loop_test(tc, test_value, 0, sizeof(values) / sizeof(values[0]));
  tcase_add_loop_test(tc, test_retry_after, 0,
                      sizeof(retry_afters) / sizeof(retry_afters[0]));
  tcase_add_loop_test(tc, test_date, 0, sizeof(dates) / sizeof(dates[0]));
  tcase_add_test(tc, test_date_round_trip);
  tcase_add_loop_test(tc, test_range_start, 0,
                      sizeof(ranges) / sizeof(ranges[0]));
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(httphdr_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
