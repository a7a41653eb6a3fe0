/*
 * urlnorm: turn an absolute http/https URL into the key used for
 * deduplication (SPEC "Deduplication"), and take such keys apart.
 *
 * A key is the URL in a normal form: scheme and host lowercased, an IDN
 * host in punycode, no default port, an empty path as "/", "%xx" hex in
 * upper case, percent-encoded unreserved characters (A-Z a-z 0-9 - . _ ~)
 * decoded, dot-segments removed (also those spelled "%2e"), no fragment.
 * Nothing else changes: reserved characters stay encoded ("%2F" is not
 * "/"), the query keeps its order, path and query keep their case, "//"
 * and trailing slashes stay, userinfo is kept as written.  Two URLs are
 * the same resource for corral exactly when their keys are equal (strcmp).
 * A key is itself a valid URL, and urlnorm(key) returns the same key.
 *
 * Calling sequence:
 *
 *   const char *why;
 *   char *key = urlnorm(url, &why);     NULL: why says what is wrong
 *   struct urlnorm_parts p;
 *   urlnorm_split(key, &p);             spans point into key
 *   char hp[300];
 *   urlnorm_hostport(key, hp, sizeof(hp));   "host:port" scheduling key
 *   free(key);
 *
 * urlnorm() uses libcurl's URL API, so curl_global_init() must have been
 * called.  It never calls setlocale(); IDN conversion does not depend on
 * the process locale.
 *
 * Thread safety: all functions are reentrant; they keep no state.
 */
#ifndef URLNORM_H
#define URLNORM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Returns a malloc'd normalized key for an absolute http/https URL, or
 * NULL with *why set to a static short reason: "unsupported scheme",
 * "bad URL", "empty host", "bad host", "bad port", "bad IDN host",
 * "space or control character" or "out of memory".  On success *why is
 * set to NULL.  why may be NULL.  The caller owns the key and frees it
 * with free().
 */
char *urlnorm(const char *url, const char **why);

/* Spans of a key from urlnorm (pointers into key, not NUL-terminated). */
struct urlnorm_parts {
  const char *scheme;
  size_t scheme_len;
  const char *host; /* without userinfo, with [] for IPv6 */
  size_t host_len;
  const char *port; /* 0 length when default/absent */
  size_t port_len;
  const char *path; /* starts with '/' */
  size_t path_len;
  const char *query; /* without the '?', 0 length if none */
  size_t query_len;
  bool has_query; /* a '?' is present */
};

/*
 * Splits a key from urlnorm() into *p.  The spans borrow key and are
 * valid as long as key is.  Returns 0, or -1 (and *p unspecified) if key
 * is not a urlnorm key.
 */
int urlnorm_split(const char *key, struct urlnorm_parts *p);

/*
 * Writes "host:port" of a key into buf, NUL-terminated, with the port
 * always present (80 or 443 filled in for the scheme); IPv6 hosts keep
 * their [].  This is the per-host scheduling key.  Returns the length
 * written (without the NUL), or -1 if key is not a urlnorm key or the
 * result does not fit in len bytes.
 */
int urlnorm_hostport(const char *key, char *buf, size_t len);

#endif /* URLNORM_H */
