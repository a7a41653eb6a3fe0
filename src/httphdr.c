/*
 * httphdr: header-value parsers over byte spans.  Every parser copies at
 * most a short bounded prefix into a local buffer before calling libc or
 * libcurl, so that no read goes past the span.
 */
#include "httphdr.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define RETRY_AFTER_CAP_S (24 * 60 * 60)

const char *httphdr_value(const char *line, size_t n, const char *name,
                          size_t *len)
{
  size_t k = strlen(name);
  const char *v, *end = line + n;

  if (n <= k || line[k] != ':' || strncasecmp(line, name, k))
    return NULL;
  v = line + k + 1;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
                     end[-1] == '\t'))
    end--;
  *len = (size_t)(end - v);
  return v;
}

/* Parses decimal digits only; -1 when there are none or on overflow. */
static int64_t parse_digits(const char *s, size_t len, size_t *used)
{
  int64_t n = 0;
  size_t i;

  for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
    if (n > (INT64_MAX - 9) / 10)
      return -1;
    n = n * 10 + (s[i] - '0');
  }
  *used = i;
  return i ? n : -1;
}

/* Two decimal digits at s, or -1. */
static int two_digits(const char *s)
{
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
    return -1;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

/* 1 + the index of the three letters at s in names (n of them), or 0. */
static unsigned name_index(const char *s, const char *names, unsigned n)
{
  unsigned i;

  for (i = 0; i < n; i++)
    if (!memcmp(s, names + 3 * i, 3))
      return i + 1;
  return 0;
}

/* Month 1..12 from its three-letter English name, or 0. */
static unsigned month_of(const char *s)
{
  return name_index(s, "JanFebMarAprMayJunJulAugSepOctNovDec", 12);
}

/*
 * Whether s starts with a weekday's three-letter name.  The day is not
 * checked against the date (libcurl does not either), but a word that is
 * no weekday makes the whole date invalid there, and so here.
 */
static bool is_weekday(const char *s)
{
  return name_index(s, "MonTueWedThuFriSatSun", 7) != 0;
}

/*
 * Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian).
 * Counting years from March puts the leap day last, so a year's day
 * number does not depend on whether it is a leap year; 400 years are
 * always 146097 days.
 */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  int64_t era;
  unsigned year_of_era, day_of_year, day_of_era;

  if (m <= 2)
    y--;
  era = (y >= 0 ? y : y - 399) / 400;
  year_of_era = (unsigned)(y - era * 400);
  day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 +
               day_of_year;
  return era * 146097 + (int64_t)day_of_era - 719468;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT", the one form RFC 9110 lets servers send. */
static int64_t parse_imf_fixdate(const char *v, size_t len)
{
  int day, year_hi, year_lo, hour, min, sec;
  unsigned month;

  if (len != 29 || !is_weekday(v) || v[3] != ',' || v[4] != ' ' || v[7] != ' ' ||
      v[11] != ' ' || v[16] != ' ' || v[19] != ':' || v[22] != ':' ||
      v[25] != ' ' || memcmp(v + 26, "GMT", 3))
    return -1;
  day = two_digits(v + 5);
  month = month_of(v + 8);
  year_hi = two_digits(v + 12);
  year_lo = two_digits(v + 14);
  hour = two_digits(v + 17);
  min = two_digits(v + 20);
  sec = two_digits(v + 23);
  if (day < 1 || day > 31 || !month || year_hi < 0 || year_lo < 0 ||
      hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
    return -1;
  return days_from_civil(year_hi * 100 + year_lo, month, (unsigned)day) *
             86400 +
         hour * 3600 + min * 60 + sec;
}

int64_t httphdr_date(const char *v, size_t len)
{
  char buf[64];
  int64_t when = parse_imf_fixdate(v, len);

  if (when >= 0)
    return when;
  /* The obsolete forms (RFC 850, asctime) are rare: libcurl reads them. */
  if (!len || len >= sizeof(buf))
    return -1;
  memcpy(buf, v, len);
  buf[len] = '\0';
  when = curl_getdate(buf, NULL);
  return when < 0 ? -1 : when;
}

uint64_t httphdr_retry_after_ms(const char *v, size_t len, time_t now)
{
  size_t used;
  int64_t secs = parse_digits(v, len, &used);
  int64_t when;

  if (secs >= 0 && used == len)
    return (uint64_t)(secs < RETRY_AFTER_CAP_S ? secs : RETRY_AFTER_CAP_S) *
           1000;
  when = httphdr_date(v, len);
  if (when < 0 || when <= now)
    return 0;
  secs = when - now;
  return (uint64_t)(secs < RETRY_AFTER_CAP_S ? secs : RETRY_AFTER_CAP_S) *
         1000;
}

int64_t httphdr_range_start(const char *v, size_t len)
{
  size_t used;
  int64_t first, last;

  if (len < 6 || strncasecmp(v, "bytes ", 6))
    return -1;
  v += 6;
  len -= 6;
  first = parse_digits(v, len, &used);
  if (first < 0 || used == len || v[used] != '-')
    return -1;
  v += used + 1;
  len -= used + 1;
  last = parse_digits(v, len, &used);
  if (last < first || used == len || v[used] != '/')
    return -1;
  return first;
}
