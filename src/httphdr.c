/*
 * httphdr: header-value parsers over byte spans.  Every parser copies at
 * most a short bounded prefix into a local buffer before calling libc or
 * libcurl, so that no read goes past the span.
 */
#include "httphdr.h"

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

uint64_t httphdr_retry_after_ms(const char *v, size_t len, time_t now)
{
  char buf[64];
  size_t used;
  int64_t secs = parse_digits(v, len, &used);
  time_t when;

  if (secs >= 0 && used == len)
    return (uint64_t)(secs < RETRY_AFTER_CAP_S ? secs : RETRY_AFTER_CAP_S) *
           1000;
  if (!len || len >= sizeof(buf))
    return 0;
  memcpy(buf, v, len);
  buf[len] = '\0';
  when = curl_getdate(buf, &now);
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
