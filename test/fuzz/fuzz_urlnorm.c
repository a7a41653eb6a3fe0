/*
 * libFuzzer target for urlnorm (SPEC "Deduplication").
 *
 * The input is a URL (a NUL byte ends it; the first byte also picks which
 * equivalent spellings to try).  Properties checked:
 *
 *  - a key is idempotent: urlnorm(urlnorm(u)) == urlnorm(u);
 *  - a key splits (urlnorm_split) into spans that rebuild exactly
 *    "scheme://[userinfo@]host[:port]path[?query]", has no fragment, no
 *    space or control byte, a path starting with '/', and its hostport
 *    is "host:port" with the scheme's default port filled in;
 *  - spellings the SPEC calls the same resource (scheme and host case,
 *    the default port written out, an empty path, a fragment, an
 *    unreserved character percent-encoded in the path or query, "/./")
 *    get the same key, and so the same flat and mirror names;
 *  - urlnorm() reports why exactly when it returns NULL.
 *
 * Any broken property aborts, which libFuzzer reports as a crash.
 */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "names.h"
#include "urlnorm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Longest URL tried: longer ones only slow the fuzzer down. */
#define URL_MAX 4096

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                         \
      abort();                                                                \
    }                                                                         \
  } while (0)

/* Where the parts of a URL string are, as far as a rewrite needs. */
struct spots {
  size_t auth;     /* first byte after "://" */
  size_t auth_end; /* the '/', '?', '#' or NUL that ends the authority */
  size_t path_end; /* the '?', '#' or NUL that ends the path */
  size_t end;      /* the '#' or NUL that ends the query */
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return 0;
}

static int find_spots(const char *u, struct spots *s)
{
  const char *p = strstr(u, "://");

  /* Only plain spellings: curl's leniency ("http:///h") is its business. */
  if (!p || (p - u != 4 && p - u != 5) || strncasecmp(u, "http", 4))
    return -1;
  s->auth = (size_t)(p - u) + 3;
  s->auth_end = s->auth + strcspn(u + s->auth, "/?#\\");
  if (u[s->auth_end] == '\\' || s->auth_end == s->auth ||
      memchr(u + s->auth, '%', s->auth_end - s->auth))
    return -1;
  s->path_end = s->auth_end + strcspn(u + s->auth_end, "?#");
  s->end = s->path_end + strcspn(u + s->path_end, "#");
  return 0;
}

/* A copy of u with ins put in place of bytes [at, at + drop). */
static char *splice(const char *u, size_t at, size_t drop, const char *ins)
{
  size_t n = strlen(u), k = strlen(ins);
  char *r = malloc(n - drop + k + 1);

  if (!r)
    abort();
  memcpy(r, u, at);
  memcpy(r + at, ins, k);
  memcpy(r + at + k, u + at + drop, n - at - drop + 1);
  return r;
}

static int is_unreserved(int c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

/*
 * Percent-encodes the pick-th unreserved byte of u[from, to) (lowercase
 * hex, which the key must uppercase or decode).  A byte within two of a
 * '%' is left alone: it may belong to an escape, and encoding it would
 * change what the '%' means.
 */
static char *encode_one(const char *u, size_t from, size_t to, unsigned pick)
{
  size_t i, seen = 0, cand = 0;
  char esc[4];

  for (i = from; i < to; i++)
    if (is_unreserved((unsigned char)u[i]) && u[i - 1] != '%' &&
        u[i - 2] != '%')
      cand++;
  if (!cand)
    return NULL;
  pick %= (unsigned)cand;
  for (i = from; i < to; i++) {
    if (!is_unreserved((unsigned char)u[i]) || u[i - 1] == '%' ||
        u[i - 2] == '%')
      continue;
    if (seen++ == pick)
      break;
  }
  snprintf(esc, sizeof(esc), "%%%02x", (unsigned char)u[i]);
  return splice(u, i, 1, esc);
}

/* Upper-cases bytes [from, to) of a copy of u. */
static char *upper(const char *u, size_t from, size_t to)
{
  char *r = splice(u, 0, 0, "");
  size_t i;

  for (i = from; i < to; i++)
    if (r[i] >= 'a' && r[i] <= 'z')
      r[i] = (char)(r[i] - 'a' + 'A');
  return r;
}

/* An equivalent spelling of u (rewrite number how), or NULL if none. */
static char *variant(const char *u, const char *key, unsigned how)
{
  struct spots s;
  const char *at;

  if (find_spots(u, &s))
    return NULL;
  at = memchr(u + s.auth, '@', s.auth_end - s.auth);
  switch (how % 7) {
  case 0:
    return upper(u, 0, s.auth - 3);
  case 1: /* host only: userinfo keeps its case */
    return upper(u, at ? (size_t)(at - u) + 1 : s.auth, s.auth_end);
  case 2:
    if (memchr(u + s.auth, ':', s.auth_end - s.auth) ||
        memchr(u + s.auth, '[', s.auth_end - s.auth) || s.auth_end == s.auth)
      return NULL;
    return splice(u, s.auth_end, 0,
                  strncmp(key, "https:", 6) ? ":80" : ":443");
  case 3:
    return u[s.auth_end] == '/' ? NULL : splice(u, s.auth_end, 0, "/");
  case 4:
    return splice(u, strlen(u), 0, u[s.end] ? "x" : "#frag");
  case 5:
    if (u[s.auth_end] != '/')
      return NULL;
    return splice(u, s.auth_end, 0, "/.");
  default:
    return encode_one(u, s.auth_end + 1,
                      (how & 8) && u[s.path_end] == '?' ? s.end : s.path_end,
                      how >> 4);
  }
}

/* The spans of a key rebuild it, and hostport agrees with them. */
static void check_split(const char *key)
{
  struct urlnorm_parts p;
  char hp[600], want[600];
  int n;

  CHECK(urlnorm_split(key, &p) == 0);
  CHECK(p.scheme == key && (p.scheme_len == 4 || p.scheme_len == 5));
  CHECK(p.path_len >= 1 && p.path[0] == '/');
  CHECK(p.host_len >= 1);
  CHECK(p.host + p.host_len + (p.port_len ? 1 + p.port_len : 0) == p.path);
  CHECK(p.path + p.path_len + p.has_query + p.query_len == key + strlen(key));
  CHECK(p.has_query || !p.query_len);
  CHECK(!memchr(key, '#', strlen(key)));
  n = urlnorm_hostport(key, hp, sizeof(hp));
  if (p.host_len > 500)
    return;
  snprintf(want, sizeof(want), "%.*s:%.*s", (int)p.host_len, p.host,
           p.port_len          ? (int)p.port_len
           : p.scheme_len == 5 ? 3
                               : 2,
           p.port_len          ? p.port
           : p.scheme_len == 5 ? "443"
                               : "80");
  CHECK(n >= 0 && (size_t)n == strlen(want) && !strcmp(hp, want));
}

static void check_key(const char *key)
{
  const char *why = "unset";
  char *again = urlnorm(key, &why);
  size_t i;

  CHECK(again && !why);
  CHECK(!strcmp(again, key));
  free(again);
  for (i = 0; key[i]; i++)
    CHECK((unsigned char)key[i] > 0x20 && key[i] != 0x7f);
  check_split(key);
}

/* Both spellings are one resource: same key, same names. */
static void check_same(const char *key, const char *u2)
{
  const char *why = "unset";
  char *k2 = urlnorm(u2, &why);
  char *a, *b;

  if (!k2)
    fprintf(stderr, "variant %s refused (%s), key %s\n", u2, why, key);
  CHECK(k2 != NULL);
  if (strcmp(key, k2))
    fprintf(stderr, "variant %s: key %s, not %s\n", u2, k2, key);
  CHECK(!strcmp(key, k2));
  a = names_flat(key);
  b = names_flat(k2);
  CHECK(a && b && !strcmp(a, b));
  free(a);
  free(b);
  a = names_mirror(key);
  b = names_mirror(k2);
  CHECK(a && b && !strcmp(a, b));
  free(a);
  free(b);
  free(k2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *why = "unset";
  char *url = NULL, *key = NULL, *u2 = NULL;
  unsigned how;

  if (size < 1 || size > URL_MAX)
    return 0;
  how = data[0];
  url = malloc(size);
  if (!url)
    abort();
  memcpy(url, data + 1, size - 1);
  url[size - 1] = '\0';
  key = urlnorm(url, &why);
  CHECK(key ? !why : why && *why);
  if (!key)
    goto out;
  check_key(key);
  u2 = variant(url, key, how);
  if (u2)
    check_same(key, u2);
out:
  free(u2);
  free(key);
  free(url);
  return 0;
}
