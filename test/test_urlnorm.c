/*
 * Tests for urlnorm: a table of {input, expected key or NULL, reason} rows
 * in the style of git's u-urlmatch-normalization.c, each also checked for
 * idempotence; pairs that must and must not share a key; urlnorm_split()
 * and urlnorm_hostport() tables; and a seeded random walk over URLs built
 * from tricky pieces that checks idempotence and the key's invariants.
 */
#include "urlnorm.h"

#include <check.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct norm_row {
  const char *in;
  const char *want; /* NULL: urlnorm must fail */
  const char *why;  /* reason on failure */
};

static const struct norm_row norm_rows[] = {
    /* RFC 3986 6.2.2.1: case of scheme, host and %xx hex. */
    {"HTTP://www.Example.com/", "http://www.example.com/", NULL},
    {"hTtPs://EXAMPLE.COM/Path", "https://example.com/Path", NULL},
    /* RFC 3986 6.2.2: the example "eXAMPLE://a/./b/../b/%63/%7bfoo%7d". */
    {"http://a/./b/../b/%63/%7bfoo%7d", "http://a/b/c/%7Bfoo%7D", NULL},
    {"eXAMPLE://a/./b/../b/%63/%7bfoo%7d", NULL, "unsupported scheme"},
    /* RFC 3986 6.2.2.2 and 6.2.3: one resource, four spellings. */
    {"http://example.com", "http://example.com/", NULL},
    {"http://example.com/", "http://example.com/", NULL},
    {"http://example.com:/", "http://example.com/", NULL},
    {"http://example.com:80/", "http://example.com/", NULL},
    {"http://example.com/%7Esmith/home.html",
     "http://example.com/~smith/home.html", NULL},
    /* The SPEC's example. */
    {"HTTP://Example.COM:80/%7Euser/./a/../b#frag",
     "http://example.com/~user/b", NULL},
    /* Dot segments, also percent-encoded ones. */
    {"http://h/a/%2e%2e/b", "http://h/b", NULL},
    /* Found by fuzzing: curl must not remove dot segments before us. */
    {"http://h/a/b/%2e%2e/../c", "http://h/c", NULL},
    {"http://h/%40/%2e./..", "http://h/", NULL},
    {"http://h/%40/../..", "http://h/", NULL},
    {"http://h/a/%2E%2E/b", "http://h/b", NULL},
    {"http://h/a/.%2e/b", "http://h/b", NULL},
    {"http://h/a/%2e/b", "http://h/a/b", NULL},
    {"http://h/a/./b", "http://h/a/b", NULL},
    {"http://h/a/%2e%2e", "http://h/", NULL},
    {"http://h/a/%2e", "http://h/a/", NULL},
    {"http://h/a/b/../../../c", "http://h/c", NULL},
    {"http://h/a/b/%2e%2e/%2E%2e/%2e%2e/c", "http://h/c", NULL},
    {"http://h/..%2e/x", "http://h/.../x", NULL},
    {"http://h/a/..%2Fb", "http://h/a/..%2Fb", NULL},
    {"http://h/?q=/../x", "http://h/?q=/../x", NULL},
    /* Percent-encoding: unreserved decoded, the rest uppercased and kept. */
    {"http://h/%7e", "http://h/~", NULL},
    {"http://h/%41%5A%61%7a%30%39%2D%2e%5F%7E", "http://h/AZaz09-._~", NULL},
    {"http://h/a%2fb", "http://h/a%2Fb", NULL},
    {"http://h/%21%24%26%27%28%29%2a%2b%2c%3b%3d%3a%40%2f%3f%23%5b%5d%25",
     "http://h/%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%40%2F%3F%23%5B%5D%25",
     NULL},
    {"http://h/%c3%a4?%c3%a4", "http://h/%C3%A4?%C3%A4", NULL},
    {"http://h/?q=%41%2b%3d&r=%7e", "http://h/?q=A%2B%3D&r=~", NULL},
    {"http://h/?q=%2e%2e", "http://h/?q=..", NULL},
    {"http://h/?a=b+c%20d", "http://h/?a=b+c%20d", NULL},
    /* Invalid %: kept, and never merged into a new triplet. */
    {"http://h/%zz", "http://h/%zz", NULL},
    {"http://h/100%", "http://h/100%", NULL},
    {"http://h/%%34%31", "http://h/%%341", NULL},
    {"http://h/%4%31", "http://h/%4%31", NULL},
    {"http://h/%g%31", "http://h/%g1", NULL},
    /* Ports. */
    {"https://Example.com:443/", "https://example.com/", NULL},
    {"https://example.com:80/", "https://example.com:80/", NULL},
    {"http://example.com:443/", "http://example.com:443/", NULL},
    {"http://example.com:0080/", "http://example.com/", NULL},
    {"http://example.com:08080/x", "http://example.com:8080/x", NULL},
    /* Hosts: IDN, percent-encoded, numeric, IPv6, trailing dot. */
    {"http://bücher.Example/", "http://xn--bcher-kva.example/", NULL},
    {"http://BÜCHER.example/", "http://xn--bcher-kva.example/", NULL},
    {"http://b%C3%BCcher.example/", "http://xn--bcher-kva.example/", NULL},
    {"http://xn--BCHER-KVA.example/", "http://xn--bcher-kva.example/", NULL},
    {"http://ex%61mple.com/", "http://example.com/", NULL},
    {"http://0x7f.1/", "http://127.0.0.1/", NULL},
    {"http://[FE80::1]/", "http://[fe80::1]/", NULL},
    {"http://[FE80::1]:80/x", "http://[fe80::1]/x", NULL},
    {"https://[::1]:8443/", "https://[::1]:8443/", NULL},
    {"http://[fe80::1%25eth0]/", "http://[fe80::1%25eth0]/", NULL},
    {"http://example.com./", "http://example.com./", NULL},
    {"http://０ｘ７ｆ.１/", "http://127.0.0.1/", NULL},
    {"http://ｅｘａｍｐｌｅ．ｃｏｍ/", "http://example.com/", NULL},
    {"http://0x%41/", "http://0.0.0.10/", NULL},
    {"http://h%2541/", NULL, "bad host"},
    {"http://a／b.com/", NULL, "bad host"},
    {"http://a：8080/", NULL, "bad host"},
    {"http://a＠b.com/", NULL, "bad host"},
    /* Userinfo is kept as written. */
    {"http://User:PassWord@Example.com/", "http://User:PassWord@example.com/",
     NULL},
    {"http://u%40x:p%3a@h/", "http://u%40x:p%3a@h/", NULL},
    {"http://user:@h/", "http://user:@h/", NULL},
    /* Fragments go; an empty query goes too (see urlnorm.c). */
    {"http://h/a#", "http://h/a", NULL},
    {"http://h/a?b#c?d", "http://h/a?b", NULL},
    {"http://h/?", "http://h/", NULL},
    /* Nothing else changes. */
    {"http://h/A/B?X=Y", "http://h/A/B?X=Y", NULL},
    {"http://h/?b=2&a=1", "http://h/?b=2&a=1", NULL},
    {"http://h/a//b/", "http://h/a//b/", NULL},
    {"http://www.example.com/x/", "http://www.example.com/x/", NULL},
    /* Failures. */
    {"ftp://h/", NULL, "unsupported scheme"},
    {"foo://h/", NULL, "unsupported scheme"},
    {"mailto:x@y", NULL, "unsupported scheme"},
    {"example.com/x", NULL, "bad URL"},
    {"/x", NULL, "bad URL"},
    {"", NULL, "bad URL"},
    {"http:///", NULL, "empty host"},
    {"http://h:65536/", NULL, "bad port"},
    {"http://a@b@h/", NULL, "bad host"},
    {"http://⒈.com/", NULL, "bad IDN host"},
    {"http://h/a b", NULL, "space or control character"},
    {" http://h/", NULL, "space or control character"},
    {"http://h/#a b", NULL, "space or control character"},
    {"http://h/\tx", NULL, "space or control character"},
    {"http://h/\x7f", NULL, "space or control character"},
};

START_TEST(test_normalize_table)
{
  const struct norm_row *r = &norm_rows[_i];
  const char *why = "unset";
  char *key = urlnorm(r->in, &why);
  char *again;

  if (!r->want) {
    ck_assert_msg(!key, "%s: got %s, want NULL", r->in, key);
    ck_assert_str_eq(why, r->why);
    return;
  }
  ck_assert_msg(key, "%s: NULL (%s), want %s", r->in, why, r->want);
  ck_assert_str_eq(key, r->want);
  ck_assert_ptr_null(why);
  again = urlnorm(key, NULL);
  ck_assert_msg(again, "%s: key %s does not normalize", r->in, key);
  ck_assert_str_eq(again, key);
  free(again);
  free(key);
}
END_TEST

/* Pairs whose keys must be equal (same) or different. */
struct pair_row {
  const char *a;
  const char *b;
  bool same;
};

static const struct pair_row pair_rows[] = {
    {"http://h/?", "http://h/", true},
    {"HTTP://H:80", "http://h/", true},
    {"http://h/a/%2e%2e/b", "http://h/b", true},
    {"http://h/%7e", "http://h/~", true},
    {"http://h/%c3%a4", "http://h/%C3%A4", true},
    {"http://bücher.example/", "http://xn--bcher-kva.example/", true},
    {"http://h:0080/", "http://h/", true},
    {"http://h/x#a", "http://h/x#b", true},
    {"http://h/?a=1&b=2", "http://h/?b=2&a=1", false},
    {"http://h/a", "http://h/A", false},
    {"http://h/?q=a", "http://h/?q=A", false},
    {"http://h/data", "http://h/data/", false},
    {"http://h/a//b", "http://h/a/b", false},
    {"http://h/", "https://h/", false},
    {"http://www.example.com/", "http://example.com/", false},
    {"http://h/a%2Fb", "http://h/a/b", false},
    {"http://h/a+b", "http://h/a%20b", false},
    {"http://example.com./", "http://example.com/", false},
    {"http://h:8080/", "http://h/", false},
    {"http://u@h/", "http://h/", false},
};

START_TEST(test_pairs)
{
  const struct pair_row *r = &pair_rows[_i];
  char *a = urlnorm(r->a, NULL);
  char *b = urlnorm(r->b, NULL);

  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_msg((strcmp(a, b) == 0) == r->same, "%s -> %s, %s -> %s", r->a, a,
                r->b, b);
  free(a);
  free(b);
}
END_TEST

static bool span_is(const char *s, size_t n, const char *want)
{
  return n == strlen(want) && !memcmp(s, want, n);
}

struct split_row {
  const char *key; /* NULL scheme: urlnorm_split must fail */
  const char *scheme;
  const char *host;
  const char *port;
  const char *path;
  const char *query;
  bool has_query;
};

static const struct split_row split_rows[] = {
    {"http://h/", "http", "h", "", "/", "", false},
    {"https://example.com:8443/a/b?x=1&y", "https", "example.com", "8443",
     "/a/b", "x=1&y", true},
    {"http://u:p@h:81/x", "http", "h", "81", "/x", "", false},
    {"http://u%40x:p:q@h/", "http", "h", "", "/", "", false},
    {"https://[::1]:8443/?", "https", "[::1]", "8443", "/", "", true},
    {"http://[fe80::1%25eth0]/p?q/r?s", "http", "[fe80::1%25eth0]", "", "/p",
     "q/r?s", true},
    {"http://h/a@b:c", "http", "h", "", "/a@b:c", "", false},
    {"ftp://h/", NULL, NULL, NULL, NULL, NULL, false},
    {"HTTP://h/", NULL, NULL, NULL, NULL, NULL, false},
    {"http://h", NULL, NULL, NULL, NULL, NULL, false},
    {"http:///x", NULL, NULL, NULL, NULL, NULL, false},
    {"http://u@/x", NULL, NULL, NULL, NULL, NULL, false},
    {"http://h:/x", NULL, NULL, NULL, NULL, NULL, false},
    {"http://h:8a/x", NULL, NULL, NULL, NULL, NULL, false},
    {"http://[::1/x", NULL, NULL, NULL, NULL, NULL, false},
    {"http://[::1]x/", NULL, NULL, NULL, NULL, NULL, false},
    {"http://h?q/x", NULL, NULL, NULL, NULL, NULL, false},
};

START_TEST(test_split_table)
{
  const struct split_row *r = &split_rows[_i];
  struct urlnorm_parts p;

  if (!r->scheme) {
    ck_assert_int_eq(urlnorm_split(r->key, &p), -1);
    return;
  }
  ck_assert_int_eq(urlnorm_split(r->key, &p), 0);
  ck_assert(span_is(p.scheme, p.scheme_len, r->scheme));
  ck_assert(span_is(p.host, p.host_len, r->host));
  ck_assert(span_is(p.port, p.port_len, r->port));
  ck_assert(span_is(p.path, p.path_len, r->path));
  ck_assert(span_is(p.query, p.query_len, r->query));
  ck_assert_int_eq(p.has_query, r->has_query);
}
END_TEST

/* Every key from the normalization table splits, and its spans rebuild it. */
START_TEST(test_split_keys)
{
  const struct norm_row *r = &norm_rows[_i];
  struct urlnorm_parts p;
  char *key = urlnorm(r->in, NULL);
  char buf[512];

  if (!key)
    return;
  ck_assert_int_eq(urlnorm_split(key, &p), 0);
  ck_assert_int_eq(p.path[0], '/');
  ck_assert_int_eq(p.has_query, strchr(key, '?') != NULL);
  /* The key ends with path and query, in that order. */
  snprintf(buf, sizeof(buf), "%.*s%s%.*s", (int)p.path_len, p.path,
           p.has_query ? "?" : "", (int)p.query_len, p.query);
  ck_assert_str_eq(key + strlen(key) - strlen(buf), buf);
  free(key);
}
END_TEST

struct hostport_row {
  const char *key;
  size_t len;
  int ret;
  const char *want;
};

static const struct hostport_row hostport_rows[] = {
    {"http://h/", 64, 4, "h:80"},
    {"https://h/", 64, 5, "h:443"},
    {"http://u:p@example.com:8080/x?y", 64, 16, "example.com:8080"},
    {"https://[::1]/", 64, 9, "[::1]:443"},
    {"http://[::1]:81/", 64, 8, "[::1]:81"},
    {"http://h/", 5, 4, "h:80"},
    {"http://h/", 4, -1, NULL},
    {"http://h/", 0, -1, NULL},
    {"http://h:/", 64, -1, NULL},
    {"gopher://h/", 64, -1, NULL},
};

START_TEST(test_hostport_table)
{
  const struct hostport_row *r = &hostport_rows[_i];
  char buf[64];

  ck_assert_uint_le(r->len, sizeof(buf));
  ck_assert_int_eq(urlnorm_hostport(r->key, buf, r->len), r->ret);
  if (r->want)
    ck_assert_str_eq(buf, r->want);
}
END_TEST

/* The two keys of one host:port with different spellings are one host. */
START_TEST(test_hostport_normalized)
{
  char *a = urlnorm("HTTP://Bücher.Example:0080/x", NULL);
  char *b = urlnorm("http://xn--bcher-kva.example/y", NULL);
  char ha[64];
  char hb[64];

  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_int_gt(urlnorm_hostport(a, ha, sizeof(ha)), 0);
  ck_assert_int_gt(urlnorm_hostport(b, hb, sizeof(hb)), 0);
  ck_assert_str_eq(ha, "xn--bcher-kva.example:80");
  ck_assert_str_eq(ha, hb);
  free(a);
  free(b);
}
END_TEST

START_TEST(test_why_may_be_null)
{
  ck_assert_ptr_null(urlnorm("ftp://h/", NULL));
}
END_TEST

/* A small fixed-seed generator, so that failures reproduce. */
static uint32_t next_random(uint32_t *state)
{
  *state = *state * 1103515245u + 12345u;
  return (*state >> 16) & 0x7fff;
}

static void random_url(uint32_t *state, char *buf, size_t len)
{
  static const char *const heads[] = {
      "http://h",     "HTTPS://Ex.com:443", "http://[::1]:0080",
      "http://bü.de", "http://u:p@h:80",    "https://h:8080",
      "ftp://h",
  };
  static const char *const bits[] = {
      "/", ".", "..", "%2e", "%2E", "%", "%2", "%25", "%41", "%4", "%3", "1",
      "a", "F", "~",  "%7e", "%2f", "?", "#",  "%zz", "%%",  "//", "&",  "=",
  };
  const char *head;
  const char *slash;
  size_t n;
  int k;
  int count = (int)(next_random(state) % 12);

  /* Mostly path and query; one URL in four puts the bits in the host. */
  head = heads[next_random(state) % (sizeof(heads) / sizeof(heads[0]))];
  slash = next_random(state) % 4 ? "/" : "";
  n = (size_t)snprintf(buf, len, "%s%s", head, slash);
  for (k = 0; k < count && n < len; k++)
    n += (size_t)snprintf(
        buf + n, len - n, "%s",
        bits[next_random(state) % (sizeof(bits) / sizeof(bits[0]))]);
}

/*
 * Checks the invariants of a key: its path has no "." or ".." segment and no
 * %XX triplet with lowercase hex.
 */
static void check_key_invariants(const char *key)
{
  struct urlnorm_parts p;
  const char *seg;
  const char *end;
  size_t i;

  ck_assert_int_eq(urlnorm_split(key, &p), 0);
  for (seg = p.path + 1; seg <= p.path + p.path_len; seg = end + 1) {
    end = memchr(seg, '/', (size_t)(p.path + p.path_len - seg));
    if (!end)
      end = p.path + p.path_len;
    ck_assert_msg(!span_is(seg, (size_t)(end - seg), ".") &&
                      !span_is(seg, (size_t)(end - seg), ".."),
                  "dot segment in %s", key);
  }
  for (i = 0; i + 2 < p.path_len; i++) {
    if (p.path[i] == '%' && isxdigit((unsigned char)p.path[i + 1]) &&
        isxdigit((unsigned char)p.path[i + 2]))
      ck_assert_msg(!islower((unsigned char)p.path[i + 1]) &&
                        !islower((unsigned char)p.path[i + 2]),
                    "lowercase hex in %s", key);
  }
}

START_TEST(test_random_idempotent)
{
  uint32_t state = 20240601u;
  char url[256];
  char *key;
  char *again;
  int i;
  int accepted = 0;

  for (i = 0; i < 3000; i++) {
    random_url(&state, url, sizeof(url));
    key = urlnorm(url, NULL);
    if (!key)
      continue;
    accepted++;
    again = urlnorm(key, NULL);
    ck_assert_msg(again && !strcmp(again, key), "%s -> %s -> %s", url, key,
                  again ? again : "NULL");
    check_key_invariants(key);
    free(again);
    free(key);
  }
  /* Most URLs must have been accepted, or the walk tests little. */
  ck_assert_int_gt(accepted, 1500);
}
END_TEST

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *urlnorm_suite(void)
{
  Suite *s = suite_create("urlnorm");
  TCase *tc = tcase_create("core");

  tcase_add_loop_test(tc, test_normalize_table, 0, N_ROWS(norm_rows));
  tcase_add_loop_test(tc, test_pairs, 0, N_ROWS(pair_rows));
  tcase_add_loop_test(tc, test_split_table, 0, N_ROWS(split_rows));
  tcase_add_loop_test(tc, test_split_keys, 0, N_ROWS(norm_rows));
  tcase_add_loop_test(tc, test_hostport_table, 0, N_ROWS(hostport_rows));
  tcase_add_test(tc, test_hostport_normalized);
  tcase_add_test(tc, test_why_may_be_null);
  tcase_add_test(tc, test_random_idempotent);
  tcase_set_timeout(tc, 30);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr;
  int failed;

  if (curl_global_init(CURL_GLOBAL_DEFAULT))
    return EXIT_FAILURE;
  sr = srunner_create(urlnorm_suite());
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
