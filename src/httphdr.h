/*
 * httphdr: the few response-header parsers a transfer needs, apart from
 * libcurl so that they can be tested and fuzzed alone.  Inputs are spans
 * (pointer + length), never assumed to be NUL-terminated: libcurl hands
 * header lines over as raw bytes.
 *
 * Pure functions; the Retry-After parser takes the current time as an
 * argument.  Nothing is allocated.
 */
#ifndef CORRAL_HTTPHDR_H
#define CORRAL_HTTPHDR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * If line (n bytes, "Name: value\r\n") is header `name` (case-insensitive),
 * returns its value with surrounding blanks and the line end trimmed, and
 * sets *len; else NULL.
 */
const char *httphdr_value(const char *line, size_t n, const char *name,
                          size_t *len);

/*
 * Seconds since the epoch of an HTTP-date (Last-Modified, Retry-After),
 * or -1 when it is not one.  The IMF-fixdate form every current server
 * sends is parsed here, without libcurl's general date parser (which
 * costs some 11,000 instructions a call); the obsolete forms go to
 * curl_getdate.
 */
int64_t httphdr_date(const char *v, size_t len);

/*
 * Milliseconds a Retry-After value asks to wait, from now: delta-seconds
 * ("120") or an HTTP-date.  0 for an empty, malformed or past value.
 * Capped at one day: a longer wait is not worth honouring in a batch.
 */
uint64_t httphdr_retry_after_ms(const char *v, size_t len, time_t now);

/*
 * The first byte position of a Content-Range value "bytes A-B/T" (T may be
 * "*"), or -1 when it is not of that form or A > B.
 */
int64_t httphdr_range_start(const char *v, size_t len);

#endif
