/*
 * Library tests against the loopback test server: real HTTP, real files.
 * Each test forks (Check's default) and gets a fresh server from a checked
 * fixture, a fresh output dir, and a fresh loop.  A run feeds entries to
 * corral, runs the loop to the end, and keeps every result by input line.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <curl/curl.h>

#include "corral.h"
#include "harness.h"
#include "testsrv.h"

#define MAX_LINES 6000

static struct testsrv srv;
static char dir[64];
static struct harness_lib lib;

static void setup(void)
{
  harness_setup(&srv, 3, dir, sizeof(dir), "engine");
  harness_lib_init(&lib, MAX_LINES);
}

static void teardown(void)
{
  harness_lib_release(&lib);
  harness_teardown(&srv, dir);
}

static void opts_for_test(struct corral_opts *o)
{
  harness_opts(&lib, o, dir);
  o->retry_delay = 0.05;
}

START_TEST(test_many_files_right_bytes)
{
  enum { N = 300 };
  char *urls[N], target[64], name[32];
  struct corral_opts o;
  unsigned i;

  for (i = 0; i < N; i++) {
    snprintf(target, sizeof(target), "/bytes/%u/f%u.bin", 1000 + i * 37, i);
    urls[i] = harness_url_dup(&srv, i % 3, target);
  }
  opts_for_test(&o);
  o.jobs = 8;
  harness_run_urls(&lib, &o, urls, NULL, N);
  for (i = 0; i < N; i++) {
    snprintf(target, sizeof(target), "/bytes/%u/f%u.bin", 1000 + i * 37, i);
    snprintf(name, sizeof(name), "f%u.bin", i);
    ck_assert_int_eq(lib.got[i + 1].status, CORRAL_STATUS_OK);
    ck_assert_str_eq(lib.got[i + 1].path, name);
    ck_assert_msg(harness_file_matches(dir, name, target, 1000 + i * 37), "%s",
                  name);
    ck_assert_int_eq(testsrv_requests(&srv, target), 1);
  }
  ck_assert_int_eq(testsrv_total(&srv), N);
  harness_free_urls(urls, N);
}
END_TEST

/*
 * The server closes each connection after its answer without saying so,
 * as servers do with idle keep-alive connections.  The closed connection
 * sits in libcurl's cache, still watched by the engine, until the next
 * transfer finds it dead and opens another: every file still arrives
 * whole, one request each, and a last ordinary file follows.
 */
START_TEST(test_server_closing_idle_connections)
{
  enum { N = 12 };
  char *urls[N + 1], target[64], name[32];
  struct corral_opts o;
  unsigned i;

  for (i = 0; i < N; i++) {
    snprintf(target, sizeof(target), "/oneshot/%u/o%u.bin", 700 + i, i);
    urls[i] = harness_url_dup(&srv, 0, target);
  }
  urls[N] = harness_url_dup(&srv, 0, "/bytes/900/last.bin");
  opts_for_test(&o);
  o.jobs = 1;
  harness_run_urls(&lib, &o, urls, NULL, N + 1);
  for (i = 0; i < N; i++) {
    snprintf(target, sizeof(target), "/oneshot/%u/o%u.bin", 700 + i, i);
    snprintf(name, sizeof(name), "o%u.bin", i);
    ck_assert_int_eq(lib.got[i + 1].status, CORRAL_STATUS_OK);
    ck_assert_msg(harness_file_matches(dir, name, target, 700 + i), "%s",
                  name);
    ck_assert_int_eq(testsrv_requests(&srv, target), 1);
  }
  ck_assert_int_eq(lib.got[N + 1].status, CORRAL_STATUS_OK);
  ck_assert(harness_file_matches(dir, "last.bin", "/bytes/900/last.bin", 900));
  ck_assert_int_eq(testsrv_total(&srv), N + 1);
  harness_free_urls(urls, N + 1);
}
END_TEST

START_TEST(test_equivalent_spellings_fetch_once)
{
  const char *targets[] = {
      "/bytes/500/~me/a.bin",      "/bytes/500/%7Eme/a.bin",
      "/bytes/500/%7eme/./a.bin",  "/bytes/500/x/../~me/a.bin",
      "/bytes/500/~me/a.bin#frag",
  };
  enum { N = sizeof(targets) / sizeof(targets[0]) };
  char *urls[N + 1];
  struct corral_opts o;
  char buf[512];
  unsigned i;

  for (i = 0; i < N; i++)
    urls[i] = harness_url_dup(&srv, 0, targets[i]);
  /* And an upper-case scheme and host. */
  snprintf(buf, sizeof(buf), "HTTP://127.0.0.1:%u/bytes/500/~me/a.bin",
           srv.port[0]);
  urls[N] = strdup(buf);
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, N + 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  for (i = 2; i <= N + 1; i++) {
    ck_assert_int_eq(lib.got[i].status, CORRAL_STATUS_DUPLICATE);
    ck_assert_str_eq(lib.got[i].path, "a.bin");
  }
  ck_assert_int_eq(testsrv_total(&srv), 1);
  ck_assert(harness_file_matches(dir, "a.bin", "/bytes/500/~me/a.bin", 500));
  harness_free_urls(urls, N + 1);
}
END_TEST

START_TEST(test_not_merged)
{
  const char *targets[] = {"/bytes/10/q?a=1&b=2", "/bytes/10/q?b=2&a=1",
                           "/bytes/10/Q", "/bytes/10/q/", "/bytes/10/%2Fq"};
  enum { N = sizeof(targets) / sizeof(targets[0]) };
  char *urls[N];
  struct corral_opts o;
  unsigned i;

  for (i = 0; i < N; i++)
    urls[i] = harness_url_dup(&srv, 0, targets[i]);
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, N);
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(lib.got[i + 1].status, CORRAL_STATUS_OK);
    ck_assert_int_eq(testsrv_requests(&srv, targets[i]), 1);
  }
  harness_free_urls(urls, N);
}
END_TEST

START_TEST(test_jobs_limit)
{
  enum { N = 24 };
  char *urls[N], target[64];
  struct corral_opts o;
  unsigned i;
  long max;

  for (i = 0; i < N; i++) {
    snprintf(target, sizeof(target), "/slow/4000/300/s%u", i);
    urls[i] = harness_url_dup(&srv, 0, target);
  }
  opts_for_test(&o);
  o.jobs = 4;
  harness_run_urls(&lib, &o, urls, NULL, N);
  for (i = 1; i <= N; i++)
    ck_assert_int_eq(lib.got[i].status, CORRAL_STATUS_OK);
  max = testsrv_max_conns(&srv, -1);
  ck_assert_int_le(max, 4);
  ck_assert_int_ge(max, 3);
  harness_free_urls(urls, N);
}
END_TEST

START_TEST(test_per_host_limit)
{
  enum { N = 30 };
  char *urls[N], target[64];
  struct corral_opts o;
  unsigned i;

  for (i = 0; i < N; i++) {
    snprintf(target, sizeof(target), "/slow/2000/200/h%u", i);
    urls[i] = harness_url_dup(&srv, i % 3, target);
  }
  opts_for_test(&o);
  o.jobs = 16;
  o.per_host = 2;
  harness_run_urls(&lib, &o, urls, NULL, N);
  for (i = 0; i < 3; i++) {
    ck_assert_int_le(testsrv_max_conns(&srv, (int)i), 2);
    ck_assert_int_ge(testsrv_max_conns(&srv, (int)i), 1);
  }
  /* The three hosts really ran side by side. */
  ck_assert_int_ge(testsrv_max_conns(&srv, -1), 4);
  ck_assert_int_le(testsrv_max_conns(&srv, -1), 6);
  harness_free_urls(urls, N);
}
END_TEST

START_TEST(test_collision_names)
{
  char *urls[4];
  struct corral_opts o;

  urls[0] = harness_url_dup(&srv, 0, "/bytes/10/a.tar.gz");
  urls[1] = harness_url_dup(&srv, 1, "/bytes/20/a.tar.gz");
  urls[2] = harness_url_dup(&srv, 2, "/bytes/30/a.tar.gz");
  urls[3] = harness_url_dup(&srv, 0, "/bytes/40/dir/a.tar.gz?v=2");
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 4);
  ck_assert_str_eq(lib.got[1].path, "a.tar.gz");
  ck_assert_str_eq(lib.got[2].path, "a.tar.1.gz");
  ck_assert_str_eq(lib.got[3].path, "a.tar.2.gz");
  ck_assert_str_eq(lib.got[4].path, "a.tar.3.gz");
  ck_assert(harness_file_matches(dir, "a.tar.gz", "/bytes/10/a.tar.gz", 10));
  ck_assert(harness_file_matches(dir, "a.tar.1.gz", "/bytes/20/a.tar.gz", 20));
  ck_assert(harness_file_matches(dir, "a.tar.2.gz", "/bytes/30/a.tar.gz", 30));
  ck_assert(harness_file_matches(dir, "a.tar.3.gz",
                                 "/bytes/40/dir/a.tar.gz?v=2", 40));
  harness_free_urls(urls, 4);
}
END_TEST

START_TEST(test_duplicate_with_own_out_is_linked)
{
  char *urls[3], *outs[3] = {NULL, "copy/b.bin", NULL};
  struct corral_opts o;
  struct stat a, b;
  char pa[512], pb[512];

  urls[0] = harness_url_dup(&srv, 0, "/bytes/777/a.bin");
  urls[1] = harness_url_dup(&srv, 0, "/bytes/777/./a.bin");
  urls[2] = harness_url_dup(&srv, 0, "/bytes/777/a.bin");
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, outs, 3);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  ck_assert_int_eq(lib.got[2].status, CORRAL_STATUS_DUPLICATE);
  ck_assert_str_eq(lib.got[2].path, "copy/b.bin");
  ck_assert_int_eq(lib.got[3].status, CORRAL_STATUS_DUPLICATE);
  ck_assert_str_eq(lib.got[3].path, "a.bin");
  ck_assert_int_eq(testsrv_total(&srv), 1);
  harness_path(pa, sizeof(pa), dir, "a.bin");
  harness_path(pb, sizeof(pb), dir, "copy/b.bin");
  ck_assert_int_eq(stat(pa, &a), 0);
  ck_assert_int_eq(stat(pb, &b), 0);
  ck_assert(a.st_ino == b.st_ino); /* a hard link, not a second fetch */
  ck_assert(harness_file_matches(dir, "copy/b.bin", "/bytes/777/a.bin", 777));
  harness_free_urls(urls, 3);
}
END_TEST

START_TEST(test_failures_leave_no_file)
{
  char *urls[2];
  struct corral_opts o;

  urls[0] = harness_url_dup(&srv, 0, "/status/404/missing.bin");
  urls[1] = harness_url_dup(&srv, 0, "/short/1000/400/short.bin");
  opts_for_test(&o);
  o.retries = 1;
  harness_run_urls(&lib, &o, urls, NULL, 2);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_int_eq(lib.got[1].http_status, 404);
  ck_assert_int_eq(lib.got[1].attempts, 1); /* 404 is permanent */
  ck_assert_int_eq(lib.got[2].status, CORRAL_STATUS_FAILED);
  ck_assert_int_eq(lib.got[2].attempts, 2); /* a short body is transient */
  ck_assert(!harness_exists(dir, "missing.bin"));
  ck_assert(!harness_exists(dir, "short.bin"));
  ck_assert_int_eq(testsrv_requests(&srv, "/status/404/missing.bin"), 1);
  harness_free_urls(urls, 2);
}
END_TEST

START_TEST(test_present_file_is_skipped)
{
  char *urls[1], path[512];
  struct corral_opts o;

  harness_path(path, sizeof(path), dir, "here.bin");
  harness_writef(path, "mine");
  urls[0] = harness_url_dup(&srv, 0, "/bytes/100/here.bin");
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_SKIPPED);
  ck_assert_int_eq(testsrv_total(&srv), 0);
  harness_free_urls(urls, 1);
}
END_TEST

START_TEST(test_transient_status_is_retried)
{
  char *urls[1];
  struct corral_opts o;

  urls[0] = harness_url_dup(&srv, 0, "/flaky/2/300/f.bin");
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  ck_assert_int_eq(lib.got[1].attempts, 3);
  ck_assert_int_eq(testsrv_requests(&srv, "/flaky/2/300/f.bin"), 3);
  ck_assert(harness_file_matches(dir, "f.bin", "/flaky/2/300/f.bin", 300));
  harness_free_urls(urls, 1);
}
END_TEST

START_TEST(test_redirects_to_one_file_fetch_once)
{
  char *urls[3];
  char to[600], enc[512], *e;
  struct corral_opts o;
  CURL *curl = curl_easy_init();

  urls[0] = harness_url_dup(&srv, 0, "/redirect/2/r.bin");
  /* A hop of the first. */
  urls[1] = harness_url_dup(&srv, 0, "/redirect/1/r.bin");
  /* A redirect from another port to the same final file. */
  testsrv_url(&srv, 0, "/bytes/64/r.bin", enc, sizeof(enc));
  e = curl_easy_escape(curl, enc, 0);
  snprintf(to, sizeof(to), "/to?u=%s", e);
  urls[2] = harness_url_dup(&srv, 1, to);
  opts_for_test(&o);
  o.jobs = 1;
  harness_run_urls(&lib, &o, urls, NULL, 3);
  /*
   * Which line ends up owning the download depends on the order hops are
   * met; exactly one does, and the others join it.
   */
  ck_assert_int_eq((lib.got[1].status == CORRAL_STATUS_OK) +
                       (lib.got[2].status == CORRAL_STATUS_OK) +
                       (lib.got[3].status == CORRAL_STATUS_OK),
                   1);
  ck_assert_int_eq((lib.got[1].status == CORRAL_STATUS_DUPLICATE) +
                       (lib.got[2].status == CORRAL_STATUS_DUPLICATE) +
                       (lib.got[3].status == CORRAL_STATUS_DUPLICATE),
                   2);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/64/r.bin"), 1);
  ck_assert_int_eq(testsrv_requests(&srv, "/redirect/1/r.bin"), 1);
  ck_assert(harness_file_matches(dir, "r.bin", "/bytes/64/r.bin", 64));
  ck_assert(harness_file_matches(dir, lib.got[1].path, "/bytes/64/r.bin", 64));
  ck_assert(harness_file_matches(dir, lib.got[2].path, "/bytes/64/r.bin", 64));
  ck_assert(harness_file_matches(dir, lib.got[3].path, "/bytes/64/r.bin", 64));
  curl_free(e);
  curl_easy_cleanup(curl);
  harness_free_urls(urls, 3);
}
END_TEST

START_TEST(test_redirect_loop_fails)
{
  char *urls[1];
  struct corral_opts o;

  urls[0] = harness_url_dup(&srv, 0, "/loop/a");
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_int_eq(lib.got[1].err, CORRAL_ELOOP);
  ck_assert_ptr_nonnull(strstr(lib.got[1].msg, "loop"));
  harness_free_urls(urls, 1);
}
END_TEST

START_TEST(test_refresh_304_and_200)
{
  char *urls[2], path[512];
  struct corral_opts o;
  struct timeval old[2] = {{946684800, 0}, {946684800, 0}}; /* 2000-01-01 */

  urls[0] = harness_url_dup(&srv, 0, "/bytes/100/same.bin");
  urls[1] = harness_url_dup(&srv, 0, "/bytes/200/changed.bin");
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  /* changed.bin: an old copy, older than the server's Last-Modified. */
  harness_path(path, sizeof(path), dir, "changed.bin");
  harness_writef(path, "old");
  ck_assert_int_eq(utimes(path, old), 0);
  o.refresh = true;
  harness_run_urls(&lib, &o, urls, NULL, 2);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_SKIPPED);
  ck_assert_int_eq(lib.got[1].http_status, 304);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/100/same.bin"), 2);
  ck_assert_int_eq(lib.got[2].status, CORRAL_STATUS_OK);
  ck_assert(
      harness_file_matches(dir, "changed.bin", "/bytes/200/changed.bin", 200));
  ck_assert(harness_file_matches(dir, "same.bin", "/bytes/100/same.bin", 100));
  harness_free_urls(urls, 2);
}
END_TEST

START_TEST(test_mtime_from_last_modified)
{
  char *urls[1], path[512];
  struct corral_opts o;
  struct stat st;

  urls[0] = harness_url_dup(&srv, 0, "/lm/10/old.bin");
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  harness_path(path, sizeof(path), dir, "old.bin");
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq((long)st.st_mtime, 784887151L); /* 15 Nov 1994 08:12:31 */
  harness_free_urls(urls, 1);
}
END_TEST

START_TEST(test_content_disposition)
{
  char *urls[4];
  struct corral_opts o;

  urls[0] = harness_url_dup(&srv, 0, "/cd/report%202024.pdf/x");
  urls[1] = harness_url_dup(&srv, 0, "/cd/..%2F..%2Fevil.sh/y");
  urls[2] = harness_url_dup(&srv, 0, "/bytes/10/plain.bin");
  /* The same name, another key. */
  urls[3] = harness_url_dup(&srv, 1, "/cd/report%202024.pdf/z");
  opts_for_test(&o);
  o.content_disposition = true;
  o.jobs = 1;
  harness_run_urls(&lib, &o, urls, NULL, 4);
  ck_assert_str_eq(lib.got[1].path, "report 2024.pdf");
  ck_assert(harness_file_matches(dir, "report 2024.pdf",
                                 "/cd/report%202024.pdf/x", 64));
  ck_assert_str_eq(lib.got[2].path, "evil.sh");
  ck_assert(
      harness_file_matches(dir, "evil.sh", "/cd/..%2F..%2Fevil.sh/y", 64));
  ck_assert_str_eq(lib.got[3].path, "plain.bin");
  ck_assert_str_eq(lib.got[4].path, "report 2024.1.pdf");
  harness_free_urls(urls, 4);
}
END_TEST

static Suite *engine_suite(void)
{
  Suite *s = suite_create("engine");
  TCase *tc = tcase_create("loopback");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_many_files_right_bytes);
  tcase_add_test(tc, test_server_closing_idle_connections);
  tcase_add_test(tc, test_equivalent_spellings_fetch_once);
  tcase_add_test(tc, test_not_merged);
  tcase_add_test(tc, test_jobs_limit);
  tcase_add_test(tc, test_per_host_limit);
  tcase_add_test(tc, test_collision_names);
  tcase_add_test(tc, test_duplicate_with_own_out_is_linked);
  tcase_add_test(tc, test_failures_leave_no_file);
  tcase_add_test(tc, test_present_file_is_skipped);
  tcase_add_test(tc, test_transient_status_is_retried);
  tcase_add_test(tc, test_redirects_to_one_file_fetch_once);
  tcase_add_test(tc, test_redirect_loop_fails);
  tcase_add_test(tc, test_refresh_304_and_200);
  tcase_add_test(tc, test_mtime_from_last_modified);
  tcase_add_test(tc, test_content_disposition);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(engine_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
