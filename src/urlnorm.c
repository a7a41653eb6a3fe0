/*
 * urlnorm: dedup keys for URLs.  libcurl's URL API (7.88) does the
 * parsing and the normalizations it knows: scheme case, percent-decoding
 * and numeric forms of the host, empty path, default and empty ports, and
 * it gives us the parts without the fragment.
 * What 7.88 does not do is done here, on the parts: host lowercase (ASCII,
 * or libidn2 UTS#46 for an IDN host, which does not need setlocale), "%xx"
 * hex uppercase, decoding of percent-encoded unreserved characters in path
 * and query, then the dot-segment removal, so that "%2e%2e" counts as
 * "..".  The key is then assembled from the parts.
 *
 * An empty query ("http://h/?") gives the same key as no query: 7.88
 * drops the empty "?" when it builds the request line too, so both URLs
 * send the very same request and merging them loses nothing.
 *
 * A '%' that does not start a valid "%XX" is kept as is (curl sends it as
 * is).  So that a key stays a fixed point of urlnorm(), an encoded hex
 * digit right after such a stray '%' is not decoded: "%%341" must not
 * become "%41", which the next pass would read as "A".
 */
#include "urlnorm.h"

#include <curl/curl.h>
#include <idn2.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The parts of a parsed URL; strings from curl_url_get() are curl_free'd. */
struct pieces {
  char *scheme;
  char *user;
  char *password;
  char *host;
  char *zone;
  char *port;
  char *path;
  char *query;
  char *ascii_host; /* malloc'd: lowercase ASCII or punycode host */
};

static bool is_hex(int c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static int hex_value(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return c - 'A' + 10;
}

static int to_upper(int c)
{
  return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static int to_lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool is_unreserved(int c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

static bool has_space_or_control(const char *s)
{
  const unsigned char *p;

  for (p = (const unsigned char *)s; *p; p++) {
    if (*p <= 0x20 || *p == 0x7f)
      return true;
  }
  return false;
}

/*
 * Whether a hex digit written at out would complete a "%XX" that begins
 * with the stray '%' at stray (or would start its hex part).
 */
static bool forms_triplet(const char *stray, const char *out)
{
  if (!stray)
    return false;
  return out - stray == 1 || (out - stray == 2 && is_hex(out[-1]));
}

/*
 * Uppercases the hex of every "%xx" in s and decodes those that encode an
 * unreserved character, in place (the string only shrinks).
 */
static void percent_normalize(char *s)
{
  char *in = s;
  char *out = s;
  char *stray = NULL; /* last '%' written that starts no valid "%XX" */
  int c;

  while (*in) {
    if (in[0] != '%' || !is_hex(in[1]) || !is_hex(in[2])) {
      if (in[0] == '%')
        stray = out;
      *out++ = *in++;
      continue;
    }
    c = hex_value(in[1]) * 16 + hex_value(in[2]);
    if (is_unreserved(c) && !(is_hex(c) && forms_triplet(stray, out))) {
      *out++ = (char)c;
    }
    else {
      out[0] = '%';
      out[1] = (char)to_upper(in[1]);
      out[2] = (char)to_upper(in[2]);
      out += 3;
    }
    in += 3;
  }
  *out = '\0';
}

/* Drops the last segment and its '/' from the output path [start, *out). */
static void pop_segment(const char *start, char **out)
{
  while (*out > start && (*out)[-1] != '/')
    (*out)--;
  if (*out > start)
    (*out)--;
}

/*
 * RFC 3986 5.2.4 remove_dot_segments, in place.  The output never grows
 * past the input read so far, so both can share the buffer.  Paths from
 * curl start with '/', so rules A and D (relative paths) cannot apply,
 * but they are kept for the sake of a complete algorithm.
 */
static void remove_dot_segments(char *path)
{
  char *in = path;
  char *out = path;

  while (*in) {
    if (!strncmp(in, "../", 3))
      in += 3;
    else if (!strncmp(in, "./", 2) || !strncmp(in, "/./", 3))
      in += 2;
    else if (!strcmp(in, "/.")) {
      in[1] = '/';
      in += 1;
    }
    else if (!strncmp(in, "/../", 4)) {
      in += 3;
      pop_segment(path, &out);
    }
    else if (!strcmp(in, "/..")) {
      in[2] = '/';
      in += 2;
      pop_segment(path, &out);
    }
    else if (!strcmp(in, ".") || !strcmp(in, ".."))
      break;
    else {
      do {
        *out++ = *in++;
      } while (*in && *in != '/');
    }
  }
  *out = '\0';
}

/* Sets p->ascii_host to the lowercase or punycode form of p->host. */
static const char *host_to_ascii(struct pieces *p)
{
  const unsigned char *h = (const unsigned char *)p->host;
  char *idn = NULL;
  size_t i;
  int rc;

  for (i = 0; h[i] && h[i] < 0x80; i++)
    ;
  if (!h[i]) {
    p->ascii_host = strdup(p->host);
    if (!p->ascii_host)
      return "out of memory";
    for (i = 0; p->ascii_host[i]; i++)
      p->ascii_host[i] = (char)to_lower(p->ascii_host[i]);
    return NULL;
  }
  /* UTS#46 mapping: also lowercases, and ignores the process locale. */
  rc = idn2_to_ascii_8z(p->host, &idn, IDN2_NONTRANSITIONAL);
  if (rc == IDN2_MALLOC)
    return "out of memory";
  if (rc != IDN2_OK)
    return "bad IDN host";
  p->ascii_host = strdup(idn);
  idn2_free(idn);
  return p->ascii_host ? NULL : "out of memory";
}

/* Returns 1 if u has the part, 0 if not, -1 when out of memory. */
static int has_part(CURLU *u, CURLUPart what)
{
  char *s = NULL;
  CURLUcode rc = curl_url_get(u, what, &s, 0);

  curl_free(s);
  if (rc == CURLUE_OUT_OF_MEMORY)
    return -1;
  return rc ? 0 : 1;
}

/*
 * Returns NULL if curl parses "http://HOST/" into nothing but that host
 * and path "/", "out of memory", or "bad host" for any other outcome.
 */
static const char *host_parses_alone(CURLU *u, const char *url)
{
  static const CURLUPart absent[] = {CURLUPART_USER, CURLUPART_PASSWORD,
                                     CURLUPART_PORT, CURLUPART_QUERY,
                                     CURLUPART_FRAGMENT};
  char *path = NULL;
  CURLUcode rc;
  size_t i;
  int has;

  rc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (rc)
    return rc == CURLUE_OUT_OF_MEMORY ? "out of memory" : "bad host";
  for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
    has = has_part(u, absent[i]);
    if (has)
      return has < 0 ? "out of memory" : "bad host";
  }
  rc = curl_url_get(u, CURLUPART_PATH, &path, 0);
  if (rc == CURLUE_OUT_OF_MEMORY)
    return "out of memory";
  has = !rc && !strcmp(path, "/");
  curl_free(path);
  return has ? NULL : "bad host";
}

/*
 * The host in p->ascii_host may be new to curl: it was percent-decoded
 * ("0x%41" is "0xA") or mapped by IDNA (fullwidth "0x7f.1" is ASCII
 * "0x7f.1", a fullwidth solidus is "/").  Parse it once more on its own,
 * so that numeric IPv4 forms become a dotted quad and a host that does
 * not come back alone (it holds '/', '?', '#', '@' or ':') is refused.
 */
static const char *host_reparse(struct pieces *p)
{
  const char *why = "out of memory";
  size_t len = strlen(p->ascii_host) + sizeof("http:///");
  CURLU *u = curl_url();
  char *url = malloc(len);
  char *host = NULL;
  size_t i;

  if (!u || !url)
    goto out;
  snprintf(url, len, "http://%s/", p->ascii_host);
  why = host_parses_alone(u, url);
  if (why)
    goto out;
  if (curl_url_get(u, CURLUPART_HOST, &host, 0)) {
    why = "out of memory";
    goto out;
  }
  for (i = 0; host[i]; i++)
    host[i] = (char)to_lower(host[i]);
  free(p->ascii_host);
  p->ascii_host = strdup(host);
  if (!p->ascii_host)
    why = "out of memory";
out:
  curl_free(host);
  free(url);
  curl_url_cleanup(u);
  return why;
}

/*
 * Sets p->ascii_host: lowercase, punycode for IDN, dotted quad for IPv4.
 * An IPv6 literal comes from curl in its final form but for the case.
 */
static const char *host_normalize(struct pieces *p)
{
  const char *why;

  /*
   * curl has decoded the host already and lets a '%' through; as a key
   * "h%41" would be decoded again on the next parse, so refuse it.
   */
  if (strchr(p->host, '%'))
    return "bad host";
  why = host_to_ascii(p);
  if (why || p->ascii_host[0] == '[')
    return why;
  return host_reparse(p);
}

static const char *curl_reason(CURLUcode rc)
{
  switch (rc) {
  case CURLUE_OUT_OF_MEMORY:
    return "out of memory";
  case CURLUE_UNSUPPORTED_SCHEME:
    return "unsupported scheme";
  case CURLUE_NO_HOST:
    return "empty host";
  case CURLUE_BAD_HOSTNAME:
  case CURLUE_BAD_IPV6:
    return "bad host";
  case CURLUE_BAD_PORT_NUMBER:
    return "bad port";
  default:
    return "bad URL";
  }
}

static const char *get_pieces(CURLU *u, struct pieces *p)
{
  const struct {
    CURLUPart part;
    char **dst;
  } parts[] = {
      {CURLUPART_SCHEME, &p->scheme},     {CURLUPART_USER, &p->user},
      {CURLUPART_PASSWORD, &p->password}, {CURLUPART_HOST, &p->host},
      {CURLUPART_ZONEID, &p->zone},       {CURLUPART_PORT, &p->port},
      {CURLUPART_PATH, &p->path},         {CURLUPART_QUERY, &p->query},
  };
  size_t i;
  CURLUcode rc;

  for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
    /* A missing optional part is no error; its pointer stays NULL. */
    rc = curl_url_get(u, parts[i].part, parts[i].dst, CURLU_NO_DEFAULT_PORT);
    if (rc == CURLUE_OUT_OF_MEMORY)
      return "out of memory";
    if (rc)
      *parts[i].dst = NULL;
  }
  if (!p->scheme || !p->host || !p->path || p->path[0] != '/')
    return "bad URL";
  if (!p->host[0])
    return "empty host";
  return NULL;
}

static void pieces_release(struct pieces *p)
{
  curl_free(p->scheme);
  curl_free(p->user);
  curl_free(p->password);
  curl_free(p->host);
  curl_free(p->zone);
  curl_free(p->port);
  curl_free(p->path);
  curl_free(p->query);
  free(p->ascii_host);
}

/* Appends s (may be NULL) at *dst; with dst NULL, only counts. */
static size_t put(char **dst, const char *s)
{
  size_t n = s ? strlen(s) : 0;

  if (dst) {
    memcpy(*dst, s ? s : "", n);
    *dst += n;
  }
  return n;
}

/*
 * Writes scheme://[user[:password]@]host[%25zone][:port]path[?query] at
 * *dst and returns its length; with dst NULL, only returns the length.
 */
static size_t assemble(const struct pieces *p, char **dst)
{
  size_t n = 0;
  bool has_query = p->query && p->query[0];

  n += put(dst, p->scheme) + put(dst, "://");
  if (p->user || p->password) {
    n += put(dst, p->user);
    if (p->password)
      n += put(dst, ":") + put(dst, p->password);
    n += put(dst, "@");
  }
  if (p->zone) {
    /* The host is "[addr]": the zone goes inside the brackets. */
    size_t len = strlen(p->ascii_host) - 1;

    if (dst) {
      memcpy(*dst, p->ascii_host, len);
      *dst += len;
    }
    n += len + put(dst, "%25") + put(dst, p->zone) + put(dst, "]");
  }
  else
    n += put(dst, p->ascii_host);
  if (p->port)
    n += put(dst, ":") + put(dst, p->port);
  n += put(dst, p->path);
  if (has_query)
    n += put(dst, "?") + put(dst, p->query);
  return n;
}

static const char *normalize_pieces(struct pieces *p)
{
  const char *why;

  if (strcmp(p->scheme, "http") && strcmp(p->scheme, "https"))
    return "unsupported scheme";
  why = host_normalize(p);
  if (why)
    return why;
  percent_normalize(p->path);
  remove_dot_segments(p->path);
  if (p->query)
    percent_normalize(p->query);
  return NULL;
}

char *urlnorm(const char *url, const char **why)
{
  struct pieces p = {0};
  const char *reason = NULL;
  CURLU *u = NULL;
  CURLUcode rc;
  char *key = NULL;
  char *end;

  if (has_space_or_control(url)) {
    reason = "space or control character";
    goto out;
  }
  u = curl_url();
  if (!u) {
    reason = "out of memory";
    goto out;
  }
  /*
   * PATH_AS_IS: dot segments are removed here, once, after "%2e" is
   * decoded; a first pass by curl before the decoding would resolve
   * "/a/b/%2e%2e/../c" against the wrong segments.
   */
  rc = curl_url_set(u, CURLUPART_URL, url, CURLU_PATH_AS_IS);
  if (rc) {
    reason = curl_reason(rc);
    goto out;
  }
  reason = get_pieces(u, &p);
  if (!reason)
    reason = normalize_pieces(&p);
  if (reason)
    goto out;
  key = malloc(assemble(&p, NULL) + 1);
  if (!key) {
    reason = "out of memory";
    goto out;
  }
  end = key;
  assemble(&p, &end);
  *end = '\0';
out:
  pieces_release(&p);
  curl_url_cleanup(u);
  if (why)
    *why = reason;
  return key;
}

static bool is_digits(const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
  }
  return n > 0;
}

/* Splits the authority [s, end) into host and port. */
static int split_authority(const char *s, const char *end,
                           struct urlnorm_parts *p)
{
  const char *at = memchr(s, '@', (size_t)(end - s));
  const char *colon;

  if (at)
    s = at + 1;
  if (s < end && *s == '[') {
    colon = memchr(s, ']', (size_t)(end - s));
    if (!colon)
      return -1;
    colon++;
    if (colon < end && *colon != ':')
      return -1;
  }
  else {
    colon = memchr(s, ':', (size_t)(end - s));
    if (!colon)
      colon = end;
  }
  p->host = s;
  p->host_len = (size_t)(colon - s);
  p->port = colon < end ? colon + 1 : end;
  p->port_len = (size_t)(end - p->port);
  if (!p->host_len || (colon < end && !is_digits(p->port, p->port_len)))
    return -1;
  return 0;
}

int urlnorm_split(const char *key, struct urlnorm_parts *p)
{
  const char *s;
  const char *q;

  if (!strncmp(key, "http://", 7))
    p->scheme_len = 4;
  else if (!strncmp(key, "https://", 8))
    p->scheme_len = 5;
  else
    return -1;
  p->scheme = key;
  s = key + p->scheme_len + 3;
  p->path = strchr(s, '/');
  if (!p->path || memchr(s, '?', (size_t)(p->path - s)) ||
      split_authority(s, p->path, p))
    return -1;
  q = strchr(p->path, '?');
  p->has_query = q != NULL;
  p->path_len = q ? (size_t)(q - p->path) : strlen(p->path);
  p->query = q ? q + 1 : p->path + p->path_len;
  p->query_len = strlen(p->query);
  return 0;
}

int urlnorm_hostport(const char *key, char *buf, size_t len)
{
  struct urlnorm_parts p;
  const char *port;
  size_t port_len;
  size_t n;

  if (urlnorm_split(key, &p))
    return -1;
  port = p.port;
  port_len = p.port_len;
  if (!port_len) {
    port = p.scheme_len == 5 ? "443" : "80";
    port_len = strlen(port);
  }
  n = p.host_len + 1 + port_len;
  if (n >= len || n > INT_MAX)
    return -1;
  memcpy(buf, p.host, p.host_len);
  buf[p.host_len] = ':';
  memcpy(buf + p.host_len + 1, port, port_len);
  buf[n] = '\0';
  return (int)n;
}
