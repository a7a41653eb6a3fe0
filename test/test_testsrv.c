/*
 * Tests of the test bed itself: the C helpers' body formula and file
 * check, then a live three-port testsrv.py in a checked fixture, talked to
 * with libcurl easy handles, checking bodies, ranges, validators, retries,
 * redirects, counters, connection maxima and that the child goes away.
 */
#include "testsrv.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct resp {
  long code;
  CURLcode rc;
  unsigned char *body;
  size_t len;
  char hdrs[4096];
  size_t hlen;
};

static struct testsrv srv;

static void setup(void)
{
  ck_assert_int_eq(testsrv_start(&srv, 3), 0);
}

static void teardown(void)
{
  testsrv_stop(&srv);
}

static size_t cb_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
  struct resp *r = userp;
  size_t n = size * nmemb;
  unsigned char *p = realloc(r->body, r->len + n + 1);

  if (!p)
    return 0;
  memcpy(p + r->len, ptr, n);
  r->body = p;
  r->len += n;
  return n;
}

static size_t cb_header(char *ptr, size_t size, size_t nmemb, void *userp)
{
  struct resp *r = userp;
  size_t n = size * nmemb;

  if (n < sizeof(r->hdrs) - r->hlen) {
    memcpy(r->hdrs + r->hlen, ptr, n);
    r->hlen += n;
    r->hdrs[r->hlen] = '\0';
  }
  return n;
}

static void resp_release(struct resp *r)
{
  free(r->body);
  memset(r, 0, sizeof(*r));
}

/*
 * GETs target on port index port with handle h (kept, so connections can
 * be reused) and an optional extra header; fills r (release it after).
 */
static void get_with(CURL *h, unsigned port, const char *target,
                     const char *hdr, struct resp *r)
{
  struct curl_slist *list = hdr ? curl_slist_append(NULL, hdr) : NULL;
  char url[512];

  memset(r, 0, sizeof(*r));
  testsrv_url(&srv, port, target, url, sizeof(url));
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
  r->rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(list);
}

static void get(unsigned port, const char *target, const char *hdr,
                struct resp *r)
{
  CURL *h = curl_easy_init();

  ck_assert_ptr_nonnull(h);
  get_with(h, port, target, hdr, r);
  curl_easy_cleanup(h);
}

/* Asserts that r's body is bytes [from, from + len) of target's body. */
static void assert_body(const struct resp *r, const char *target, size_t from,
                        size_t len)
{
  unsigned char *want = malloc(from + len + 1);

  ck_assert_ptr_nonnull(want);
  testsrv_body(target, want, from + len);
  ck_assert_uint_eq(r->len, len);
  ck_assert_int_eq(memcmp(r->body, want + from, len), 0);
  free(want);
}

static const struct {
  const char *target;
  size_t index;
  unsigned char want;
} body_cases[] = {
    {"", 0, 0},
    {"", 1, 7},
    {"", 37, 3},
    {"/", 0, 47},
    {"/", 100, 235},
    {"/bytes/1", 0, 182},
    {"/bytes/1", 300, 234},
    {"/a?b", 255, 42},
    {"/a?b", 256, 49},
};

START_TEST(test_body_formula)
{
  unsigned char buf[512];

  testsrv_body(body_cases[_i].target, buf, sizeof(buf));
  ck_assert_uint_eq(buf[body_cases[_i].index], body_cases[_i].want);
}
END_TEST

START_TEST(test_file_matches)
{
  char path[] = "/tmp/testsrv_XXXXXX";
  unsigned char buf[70000];
  int fd = mkstemp(path);

  ck_assert_int_ge(fd, 0);
  testsrv_body("/bytes/70000/x", buf, sizeof(buf));
  ck_assert_int_eq(write(fd, buf, sizeof(buf)), (int)sizeof(buf));
  ck_assert_int_eq(testsrv_file_matches(path, "/bytes/70000/x", 70000), 1);
  ck_assert_int_eq(testsrv_file_matches(path, "/bytes/70000/x", 69999), 0);
  ck_assert_int_eq(testsrv_file_matches(path, "/bytes/70000/x", 70001), 0);
  ck_assert_int_eq(testsrv_file_matches(path, "/bytes/70000/y", 70000), 0);
  buf[0] = 0;
  ck_assert_int_eq(pwrite(fd, buf, 1, 66000), 1);
  ck_assert_int_eq(testsrv_file_matches(path, "/bytes/70000/x", 70000), 0);
  close(fd);
  unlink(path);
  ck_assert_int_eq(testsrv_file_matches(path, "/bytes/70000/x", 70000), 0);
}
END_TEST

START_TEST(test_bytes)
{
  struct resp r;

  get(0, "/bytes/5000/f1.bin", NULL, &r);
  ck_assert_int_eq(r.rc, CURLE_OK);
  ck_assert_int_eq(r.code, 200);
  ck_assert_ptr_nonnull(strstr(r.hdrs, "Accept-Ranges: bytes"));
  assert_body(&r, "/bytes/5000/f1.bin", 0, 5000);
  resp_release(&r);
  get(2, "/bytes/5000/f1.bin", NULL, &r);
  assert_body(&r, "/bytes/5000/f1.bin", 0, 5000);
  resp_release(&r);
  get(1, "/bytes/7?q=1", NULL, &r);
  assert_body(&r, "/bytes/7?q=1", 0, 7);
  resp_release(&r);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/5000/f1.bin"), 2);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/7?q=1"), 1);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/7"), 0);
  ck_assert_int_eq(testsrv_total(&srv), 3);
}
END_TEST

START_TEST(test_range)
{
  const char *t = "/bytes/4096/r.bin";
  struct resp r;
  char *log;

  get(1, t, "Range: bytes=1000-", &r);
  ck_assert_int_eq(r.code, 206);
  ck_assert_ptr_nonnull(strstr(r.hdrs, "Content-Range: bytes 1000-4095/4096"));
  assert_body(&r, t, 1000, 3096);
  resp_release(&r);
  get(1, t, "If-Range: \"stale\"", &r);
  ck_assert_int_eq(r.code, 200);
  resp_release(&r);
  get(0, "/bytes/10/x", "Range: bytes=10-", &r);
  ck_assert_int_eq(r.code, 416);
  resp_release(&r);
  log = testsrv_log(&srv, t);
  ck_assert_ptr_nonnull(log);
  ck_assert_ptr_nonnull(strstr(log, "\"range\": \"bytes=1000-\""));
  ck_assert_ptr_nonnull(strstr(log, "\"if_range\": \"\\\"stale\\\"\""));
  free(log);
}
END_TEST

START_TEST(test_conditional)
{
  const char *t = "/lm/100/c.bin";
  struct resp r;
  char inm[128], *etag;

  get(0, t, NULL, &r);
  ck_assert_ptr_nonnull(strstr(r.hdrs, "Last-Modified: Tue, 15 Nov 1994"));
  etag = strstr(r.hdrs, "ETag: ");
  ck_assert_ptr_nonnull(etag);
  snprintf(inm, sizeof(inm), "If-None-Match: %.10s", etag + 6);
  resp_release(&r);
  get(0, t, inm, &r);
  ck_assert_int_eq(r.code, 304);
  ck_assert_uint_eq(r.len, 0);
  resp_release(&r);
  get(0, t, "If-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT", &r);
  ck_assert_int_eq(r.code, 304);
  resp_release(&r);
  get(0, "/bytes/1/c.bin", "If-Modified-Since: Tue, 15 Nov 1994 08:12:31 GMT",
      &r);
  ck_assert_int_eq(r.code, 200);
  resp_release(&r);
}
END_TEST

START_TEST(test_flaky)
{
  const char *t = "/flaky/2/100/a.bin";
  struct resp r;
  unsigned i;

  for (i = 0; i < 2; i++) {
    get(i, t, NULL, &r);
    ck_assert_int_eq(r.code, 503);
    ck_assert_ptr_nonnull(strstr(r.hdrs, "Retry-After: 0\r\n"));
    resp_release(&r);
  }
  get(2, t, NULL, &r);
  ck_assert_int_eq(r.code, 200);
  assert_body(&r, t, 0, 100);
  resp_release(&r);
  get(0, "/flaky/1/1/b?ra=7", NULL, &r);
  ck_assert_ptr_nonnull(strstr(r.hdrs, "Retry-After: 7\r\n"));
  resp_release(&r);
  ck_assert_int_eq(testsrv_requests(&srv, t), 3);
}
END_TEST

START_TEST(test_redirect)
{
  static const char *const hops[] = {"/redirect/3/z.bin", "/redirect/2/z.bin",
                                     "/redirect/1/z.bin", "/redirect/0/z.bin",
                                     "/bytes/64/z.bin"};
  CURL *h = curl_easy_init();
  struct resp r;
  size_t i;

  ck_assert_ptr_nonnull(h);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  get_with(h, 1, hops[0], NULL, &r);
  curl_easy_cleanup(h);
  ck_assert_int_eq(r.code, 200);
  assert_body(&r, "/bytes/64/z.bin", 0, 64);
  resp_release(&r);
  for (i = 0; i < sizeof(hops) / sizeof(hops[0]); i++)
    ck_assert_int_eq(testsrv_requests(&srv, hops[i]), 1);
  ck_assert_int_eq(testsrv_total(&srv), 5);
}
END_TEST

static const long status_cases[] = {404, 418, 500, 503};

START_TEST(test_status)
{
  char target[32];
  struct resp r;

  snprintf(target, sizeof(target), "/status/%ld/x", status_cases[_i]);
  get(_i % 3, target, NULL, &r);
  ck_assert_int_eq(r.rc, CURLE_OK);
  ck_assert_int_eq(r.code, status_cases[_i]);
  resp_release(&r);
}
END_TEST

START_TEST(test_max_conns)
{
  CURL *h[3];
  struct resp r;
  long connects;
  unsigned i, round;

  for (i = 0; i < 3; i++) {
    h[i] = curl_easy_init();
    ck_assert_ptr_nonnull(h[i]);
  }
  for (round = 0; round < 2; round++) {
    for (i = 0; i < 3; i++) {
      get_with(h[i], 1, "/bytes/10/k", NULL, &r);
      ck_assert_int_eq(r.code, 200);
      curl_easy_getinfo(h[i], CURLINFO_NUM_CONNECTS, &connects);
      ck_assert_int_eq(connects, round ? 0 : 1);
      resp_release(&r);
    }
  }
  for (i = 0; i < 3; i++)
    curl_easy_cleanup(h[i]);
  ck_assert_int_eq(testsrv_max_conns(&srv, -1), 3);
  ck_assert_int_eq(testsrv_max_conns(&srv, 1), 3);
  ck_assert_int_eq(testsrv_max_conns(&srv, 0), 0);
  ck_assert_int_eq(testsrv_max_conns(&srv, 2), 0);
  ck_assert_int_eq(testsrv_max_conns(&srv, 3), -1);
  ck_assert_int_eq(testsrv_total(&srv), 6);
}
END_TEST

START_TEST(test_reset)
{
  struct resp r;

  get(0, "/bytes/1", NULL, &r);
  resp_release(&r);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/1"), 1);
  ck_assert_int_eq(testsrv_reset(&srv), 0);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/1"), 0);
  ck_assert_int_eq(testsrv_total(&srv), 0);
}
END_TEST

START_TEST(test_short)
{
  struct resp r;

  get(2, "/short/100/10", NULL, &r);
  ck_assert_int_eq(r.rc, CURLE_PARTIAL_FILE);
  assert_body(&r, "/short/100/10", 0, 10);
  resp_release(&r);
  get(2, "/drop/10/1/100", NULL, &r);
  ck_assert_int_eq(r.rc, CURLE_PARTIAL_FILE);
  resp_release(&r);
  get(2, "/drop/10/1/100", NULL, &r);
  ck_assert_int_eq(r.rc, CURLE_OK);
  assert_body(&r, "/drop/10/1/100", 0, 100);
  resp_release(&r);
}
END_TEST

START_TEST(test_stdin_eof_exits)
{
  struct testsrv other;
  int status = -1;

  ck_assert_int_eq(testsrv_start(&other, 1), 0);
  close(other.to_child);
  other.to_child = -1;
  ck_assert_int_eq(waitpid(other.pid, &status, 0), other.pid);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 0);
  other.pid = -1;
  testsrv_stop(&other);
}
END_TEST

START_TEST(test_stop_reaps)
{
  struct testsrv other;
  pid_t pid;

  ck_assert_int_eq(testsrv_start(&other, 8), 0);
  pid = other.pid;
  testsrv_stop(&other);
  testsrv_stop(&other);
  ck_assert_int_eq(other.pid, -1);
  ck_assert_int_eq(kill(pid, 0), -1);
  ck_assert_int_eq(errno, ESRCH);
  ck_assert_int_eq(testsrv_start(&other, 0), -1);
  ck_assert_int_eq(testsrv_start(&other, 9), -1);
  ck_assert_int_eq(testsrv_total(&other), -1);
}
END_TEST

static Suite *testsrv_suite(void)
{
  Suite *s = suite_create("testsrv");
  TCase *pure = tcase_create("pure");
  TCase *live = tcase_create("live");

  tcase_add_loop_test(pure, test_body_formula, 0,
                      sizeof(body_cases) / sizeof(body_cases[0]));
  tcase_add_test(pure, test_file_matches);
  suite_add_tcase(s, pure);
  tcase_add_checked_fixture(live, setup, teardown);
  tcase_set_timeout(live, 30);
  tcase_add_test(live, test_bytes);
  tcase_add_test(live, test_range);
  tcase_add_test(live, test_conditional);
  tcase_add_test(live, test_flaky);
  tcase_add_test(live, test_redirect);
  tcase_add_loop_test(live, test_status, 0,
                      sizeof(status_cases) / sizeof(status_cases[0]));
  tcase_add_test(live, test_max_conns);
  tcase_add_test(live, test_reset);
  tcase_add_test(live, test_short);
  tcase_add_test(live, test_stdin_eof_exits);
  tcase_add_test(live, test_stop_reaps);
  suite_add_tcase(s, live);
  return s;
}

int main(void)
{
  SRunner *sr;
  int failed;

  if (curl_global_init(CURL_GLOBAL_DEFAULT))
    return EXIT_FAILURE;
  sr = srunner_create(testsrv_suite());
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
