/*
 * libFuzzer target for the response-header parsers (src/httphdr.c):
 * httphdr_value, httphdr_retry_after_ms and httphdr_range_start, each fed
 * an exact-size heap copy so that any read past the span is an ASan error.
 * Properties:
 *  - a value found by httphdr_value lies inside the line, starts with no
 *    SP or HTAB and ends with no blank or line end;
 *  - Retry-After never asks for more than a day, and a value of digits
 *    only gives exactly that many seconds (capped);
 *  - a range start is -1 or a number that the value really begins with
 *    after "bytes ", and "bytes A-B/T" with A <= B gives A back;
 *  - an HTTP-date is -1 or a time, and where our own IMF-fixdate parser
 *    took it (29 bytes ending in " GMT"), libcurl's parser agrees.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "httphdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DAY_MS (24ull * 60 * 60 * 1000)

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                         \
      abort();                                                                \
    }                                                                         \
  } while (0)

static int is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void check_value(const char *line, size_t n)
{
  static const char *const names[] = {"Retry-After", "Content-Range", "ETag",
                                      "X"};
  size_t i, len;

  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const char *v = httphdr_value(line, n, names[i], &len);

    if (!v)
      continue;
    CHECK(v >= line && v + len <= line + n);
    /* HTTP's leading whitespace is SP and HTAB; the end loses CR/LF too. */
    CHECK(!len || (v[0] != ' ' && v[0] != '\t' && !is_blank(v[len - 1])));
  }
}

static void check_retry_after(const char *v, size_t n)
{
  uint64_t ms = httphdr_retry_after_ms(v, n, 1445412480);
  size_t i;

  CHECK(ms <= DAY_MS);
  for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++)
    ;
  if (n && i == n && n < 6) {
    uint64_t secs = strtoull(v, NULL, 10);

    CHECK(ms == (secs * 1000 < DAY_MS ? secs * 1000 : DAY_MS));
  }
}

static void check_range(const char *v, size_t n)
{
  int64_t start = httphdr_range_start(v, n);
  char buf[64];
  unsigned a, b;

  CHECK(start >= -1);
  if (start >= 0)
    CHECK(n > 6 && v[6] >= '0' && v[6] <= '9');
  snprintf(buf, sizeof(buf), "%.*s", (int)(n < 63 ? n : 63), v);
  /* A canonical form must parse back to its own first number. */
  if (sscanf(buf, "bytes %u-%u/", &a, &b) == 2 && a <= b && a < 1000000 &&
      b < 1000000) {
    char canon[64];
    int k = snprintf(canon, sizeof(canon), "bytes %u-%u/*", a, b);

    CHECK(httphdr_range_start(canon, (size_t)k) == (int64_t)a);
  }
}

static void check_date(const char *v, size_t n)
{
  int64_t when = httphdr_date(v, n);
  char buf[32];

  CHECK(when >= -1);
  if (when < 0 || n != 29 || memcmp(v + 25, " GMT", 4) || memchr(v, 0, n))
    return;
  memcpy(buf, v, n);
  buf[n] = '\0';
  CHECK(curl_getdate(buf, NULL) == when);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *copy;

  if (size > 4096)
    return 0;
  copy = malloc(size ? size : 1);
  if (!copy)
    return 0;
  memcpy(copy, data, size);
  check_value(copy, size);
  check_retry_after(copy, size);
  check_range(copy, size);
  check_date(copy, size);
  free(copy);
  return 0;
}
