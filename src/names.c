/*
 * names: turns keys, Content-Disposition values and out= values into safe
 * relative paths.  Everything is built in a small growable buffer (struct
 * nbuf) whose out-of-memory state is sticky, so builders append freely and
 * check once at the end.  A segment is assembled in place at the tail of the
 * buffer, then seg_finish() applies the dot rules and the length limit.
 */
#include "names.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An extension longer than this is not worth keeping when cutting a name. */
#define EXT_KEEP_MAX 32

struct nbuf {
  char *p;
  size_t len, cap;
  bool oom;
};

struct keyparts {
  const char *host, *port, *path, *query;
  size_t hostlen, portlen, pathlen, querylen;
  bool has_query;
};

static void nbuf_add(struct nbuf *b, const char *s, size_t n)
{
  size_t cap;
  char *p;

  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
      cap *= 2;
    p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (!b->p)
    return; /* not reached; tells gcc -O3 the buffer exists */
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void nbuf_adds(struct nbuf *b, const char *s)
{
  nbuf_add(b, s, strlen(s));
}

/* Hands the string to the caller, or frees it and returns NULL on OOM. */
static char *nbuf_detach(struct nbuf *b)
{
  if (b->oom || !b->p) {
    free(b->p);
    return NULL;
  }
  return b->p;
}

static int hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes "%XX" at s (n bytes available); -1 when it is not an escape. */
static int pct_at(const char *s, size_t n)
{
  int hi, lo;

  if (n < 3 || s[0] != '%')
    return -1;
  hi = hexval((unsigned char)s[1]);
  lo = hexval((unsigned char)s[2]);
  if (hi < 0 || lo < 0)
    return -1;
  return hi * 16 + lo;
}

/* Appends one byte of a segment: '/' and control bytes stay escaped. */
static void emit_byte(struct nbuf *b, unsigned char c)
{
  char esc[4];

  if (c == '/' || c < 0x20 || c == 0x7f) {
    snprintf(esc, sizeof(esc), "%%%02X", (unsigned)c);
    nbuf_add(b, esc, 3);
    return;
  }
  nbuf_add(b, (const char *)&c, 1);
}

static void emit_decoded(struct nbuf *b, const char *s, size_t n)
{
  size_t i;
  int c;

  for (i = 0; i < n; i++) {
    c = pct_at(s + i, n - i);
    if (c >= 0)
      i += 2;
    else
      c = (unsigned char)s[i];
    emit_byte(b, (unsigned char)c);
  }
}

static void emit_verbatim(struct nbuf *b, const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    emit_byte(b, (unsigned char)s[i]);
}

/*
 * Where to cut s so that at most p bytes stay: never inside a "%XX" we may
 * have produced, nor inside a UTF-8 sequence (at most 3 continuation bytes
 * are stepped over, so junk bytes cannot shrink the name to nothing).
 */
static size_t cut_point(const char *s, size_t p)
{
  int steps = 0;

  if (p >= 1 && s[p - 1] == '%')
    p -= 1;
  else if (p >= 2 && s[p - 2] == '%')
    p -= 2;
  while (p > 0 && steps < 3 && ((unsigned char)s[p] & 0xC0) == 0x80) {
    p--;
    steps++;
  }
  return p;
}

/* Shortens the n-byte segment s in place; returns its new length. */
static size_t seg_limit(char *s, size_t n)
{
  const char *dot = NULL;
  size_t i, ext = 0, keep;

  if (n <= NAMES_SEG_MAX)
    return n;
  for (i = 1; i < n; i++)
    if (s[i] == '.')
      dot = s + i;
  if (dot && (size_t)(s + n - dot) <= EXT_KEEP_MAX)
    ext = (size_t)(s + n - dot);
  keep = cut_point(s, NAMES_SEG_MAX - ext);
  memmove(s + keep, s + n - ext, ext);
  return keep + ext;
}

/* Applies the dot rules and the length limit to the segment at b[start..]. */
static void seg_finish(struct nbuf *b, size_t start)
{
  static const char *const reserved[] = {".", "..", ".corral"};
  size_t i, n;

  if (b->oom)
    return;
  n = b->len - start;
  for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
    if (n == strlen(reserved[i]) && !memcmp(b->p + start, reserved[i], n)) {
      b->len = start;
      nbuf_adds(b, "%2E");
      nbuf_adds(b, reserved[i] + 1);
      return;
    }
  }
  b->len = start + seg_limit(b->p + start, n);
  b->p[b->len] = '\0';
}

static void key_parse(const char *key, struct keyparts *k)
{
  const char *auth, *at, *end, *colon;
  size_t alen, i;

  memset(k, 0, sizeof(*k));
  auth = strstr(key, "://");
  auth = auth ? auth + 3 : key;
  alen = strcspn(auth, "/?#");
  at = NULL;
  for (i = 0; i < alen; i++)
    if (auth[i] == '@')
      at = auth + i;
  k->host = at ? at + 1 : auth;
  end = auth + alen;
  colon = k->host;
  if (*colon == '[')
    while (colon < end && *colon != ']')
      colon++;
  while (colon < end && *colon != ':')
    colon++;
  k->hostlen = (size_t)(colon - k->host);
  if (colon < end) {
    k->port = colon + 1;
    k->portlen = (size_t)(end - k->port);
  }
  k->path = end;
  k->pathlen = strcspn(end, "?#");
  if (end[k->pathlen] == '?') {
    k->has_query = true;
    k->query = end + k->pathlen + 1;
    k->querylen = strcspn(k->query, "#");
  }
}

/* Appends the made-safe last path segment, "index.html" when empty. */
static void emit_last(struct nbuf *b, const char *seg, size_t n)
{
  if (n)
    emit_decoded(b, seg, n);
  else
    nbuf_adds(b, "index.html");
}

char *names_flat(const char *key)
{
  struct nbuf b = {0};
  struct keyparts k;
  size_t i, last = 0;

  key_parse(key, &k);
  for (i = 0; i < k.pathlen; i++)
    if (k.path[i] == '/')
      last = i + 1;
  emit_last(&b, k.path + last, k.pathlen - last);
  seg_finish(&b, 0);
  return nbuf_detach(&b);
}

static void emit_host(struct nbuf *b, const struct keyparts *k)
{
  if (k->hostlen)
    emit_verbatim(b, k->host, k->hostlen);
  else
    nbuf_adds(b, "_");
  if (k->port) {
    nbuf_adds(b, "_");
    emit_verbatim(b, k->port, k->portlen);
  }
  seg_finish(b, 0);
}

char *names_mirror(const char *key)
{
  struct nbuf b = {0};
  struct keyparts k;
  size_t i = 0, j, start;

  key_parse(key, &k);
  emit_host(&b, &k);
  for (;;) {
    while (i < k.pathlen && k.path[i] == '/')
      i++;
    j = i;
    while (j < k.pathlen && k.path[j] != '/')
      j++;
    if (j == k.pathlen)
      break;
    nbuf_adds(&b, "/");
    start = b.len;
    emit_decoded(&b, k.path + i, j - i);
    seg_finish(&b, start);
    i = j;
  }
  nbuf_adds(&b, "/");
  start = b.len;
  emit_last(&b, k.path + i, j - i);
  if (k.has_query) {
    nbuf_adds(&b, "?");
    emit_verbatim(&b, k.query, k.querylen);
  }
  seg_finish(&b, start);
  return nbuf_detach(&b);
}

char *names_numbered(const char *relpath, unsigned n)
{
  struct nbuf b = {0};
  const char *seg, *dot;
  char num[16];
  size_t numlen, extlen = 0, namelen;

  seg = strrchr(relpath, '/');
  seg = seg ? seg + 1 : relpath;
  dot = strrchr(seg, '.');
  if (dot && dot != seg)
    extlen = strlen(dot);
  numlen = (size_t)snprintf(num, sizeof(num), ".%u", n);
  if (numlen + extlen >= NAMES_SEG_MAX)
    extlen = 0;
  namelen = strlen(seg) - extlen;
  if (namelen + numlen + extlen > NAMES_SEG_MAX)
    namelen = cut_point(seg, NAMES_SEG_MAX - numlen - extlen);
  nbuf_add(&b, relpath, (size_t)(seg - relpath) + namelen);
  nbuf_add(&b, num, numlen);
  nbuf_add(&b, seg + strlen(seg) - extlen, extlen);
  return nbuf_detach(&b);
}

static const char *skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* Reads a quoted-string or a token at p into b; returns the end. */
static const char *param_value(const char *p, struct nbuf *b)
{
  const char *end;

  if (*p != '"') {
    end = p + strcspn(p, ";");
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
      end--;
    nbuf_add(b, p, (size_t)(end - p));
    return p + strcspn(p, ";");
  }
  for (p++; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1])
      p++;
    nbuf_add(b, p, 1);
  }
  return *p ? p + 1 : p;
}

/*
 * Decodes an RFC 5987 ext-value ("UTF-8'lang'%E2%82%AC") into b.  Returns
 * false for a malformed value or an unknown charset.
 */
static bool ext_value(const char *v, size_t n, struct nbuf *b)
{
  const char *q1, *q2, *end = v + n;
  bool latin1;
  unsigned char u[2];
  int c;

  q1 = memchr(v, '\'', n);
  q2 = q1 ? memchr(q1 + 1, '\'', (size_t)(end - q1 - 1)) : NULL;
  if (!q2)
    return false;
  latin1 = (size_t)(q1 - v) == 10 && !strncasecmp(v, "ISO-8859-1", 10);
  if (!latin1 && !((size_t)(q1 - v) == 5 && !strncasecmp(v, "UTF-8", 5)))
    return false;
  for (v = q2 + 1; v < end; v++) {
    c = pct_at(v, (size_t)(end - v));
    if (c >= 0)
      v += 2;
    else
      c = (unsigned char)*v;
    u[0] = (unsigned char)c;
    if (latin1 && c >= 0x80) {
      u[0] = (unsigned char)(0xC0 | (c >> 6));
      u[1] = (unsigned char)(0x80 | (c & 0x3F));
      nbuf_add(b, (const char *)u, 2);
    }
    else
      nbuf_add(b, (const char *)u, 1);
  }
  return true;
}

/* Collects the filename and filename* parameters of a header value. */
static void disposition_params(const char *p, struct nbuf *plain,
                               struct nbuf *star)
{
  struct nbuf skip = {.oom = true}; /* swallows values we do not want */
  struct nbuf *dst;
  size_t n;

  p += strcspn(p, ";");
  while (*p) {
    p = skip_ws(p + 1);
    n = strcspn(p, "=; \t");
    dst = &skip;
    if (n == 8 && !strncasecmp(p, "filename", 8))
      dst = plain;
    else if (n == 9 && !strncasecmp(p, "filename*", 9))
      dst = star;
    p = skip_ws(p + n);
    if (*p != '=') {
      p += strcspn(p, ";");
      continue;
    }
    p = skip_ws(p + 1);
    /* The first occurrence of a parameter wins. */
    p = param_value(p, dst->len ? &skip : dst);
    p += strcspn(p, ";");
  }
}

/* Makes the basename of name[0..n) safe into a new string, or NULL. */
static char *disposition_name(const char *name, size_t n)
{
  struct nbuf b = {0};
  size_t i, base = 0;

  for (i = 0; i < n; i++)
    if (name[i] == '/' || name[i] == '\\')
      base = i + 1;
  name += base;
  n -= base;
  if (!n || (n == 1 && name[0] == '.') || (n == 2 && !memcmp(name, "..", 2)))
    return NULL;
  emit_verbatim(&b, name, n);
  seg_finish(&b, 0);
  return nbuf_detach(&b);
}

char *names_from_disposition(const char *value)
{
  struct nbuf plain = {0}, star = {0}, dec = {0};
  char *ret = NULL;

  disposition_params(value, &plain, &star);
  if (star.len && ext_value(star.p, star.len, &dec) && dec.len && !dec.oom)
    ret = disposition_name(dec.p, dec.len);
  if (!ret && plain.len && !plain.oom)
    ret = disposition_name(plain.p, plain.len);
  free(plain.p);
  free(star.p);
  free(dec.p);
  return ret;
}

/* Checks one out= component [s, s+n); first: no real component before. */
static const char *check_component(const char *s, size_t n, bool first)
{
  if (n == 2 && !memcmp(s, "..", 2))
    return "climbs out with a '..' component";
  if (n > NAMES_SEG_MAX)
    return "has a component that is too long";
  if (first && n == 7 && !memcmp(s, ".corral", 7))
    return "uses the reserved .corral directory";
  return NULL;
}

static bool is_skipped(const char *s, size_t n)
{
  return n == 0 || (n == 1 && s[0] == '.');
}

int names_check_out(const char *out, const char **why)
{
  const char *reason = NULL, *s = out;
  bool first = true;
  size_t i, n = 0;

  if (!*out)
    reason = "is empty";
  else if (strlen(out) > NAMES_PATH_MAX)
    reason = "is too long";
  else if (*out == '/')
    reason = "is an absolute path";
  for (i = 0; !reason && out[i]; i++)
    if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
      reason = "contains a control byte";
  while (!reason) {
    n = strcspn(s, "/");
    reason = check_component(s, n, first);
    first = first && is_skipped(s, n);
    if (!s[n])
      break;
    s += n + 1;
  }
  if (!reason && is_skipped(s, n))
    reason = "does not end in a file name";
  if (reason && why)
    *why = reason;
  return reason ? -1 : 0;
}

char *names_clean(const char *out)
{
  struct nbuf b = {0};
  size_t n;

  for (;;) {
    n = strcspn(out, "/");
    if (!is_skipped(out, n)) {
      if (b.len)
        nbuf_adds(&b, "/");
      nbuf_add(&b, out, n);
    }
    if (!out[n])
      break;
    out += n + 1;
  }
  if (!b.p)
    nbuf_adds(&b, "");
  return nbuf_detach(&b);
}
