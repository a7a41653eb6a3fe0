/*
 * Library tests against the loopback test server: real HTTP, real files.
 * Each test forks (Check's default) and gets a fresh server from a checked
 * fixture, a fresh output dir, and a fresh loop.  A run feeds entries to
 * corral, runs the loop to the end, and keeps every result by input line.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "corral.h"
#include "testsrv.h"

#define MAX_LINES 6000

struct got {
  int seen;
  enum corral_status status;
  int err;
  long http_status;
  unsigned attempts;
  char path[256];
  char msg[256];
  char final_url[256];
};

static struct testsrv srv;
static char dir[64];
static struct got got[MAX_LINES + 1];
static unsigned n_done;

static void setup(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ck_assert_int_eq(testsrv_start(&srv, 3), 0);
  strcpy(dir, "/tmp/corral-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  memset(got, 0, sizeof(got));
  n_done = 0;
}

static void teardown(void)
{
  char cmd[128];

  testsrv_stop(&srv);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
  curl_global_cleanup();
}

static void on_done(const struct corral_result *r, void *data)
{
  struct got *g;

  (void)data;
  ck_assert_uint_le(r->line, MAX_LINES);
  g = &got[r->line];
  ck_assert_int_eq(g->seen, 0); /* every entry ends exactly once */
  g->seen = 1;
  g->status = r->status;
  g->err = r->err;
  g->http_status = r->http_status;
  g->attempts = r->attempts;
  snprintf(g->path, sizeof(g->path), "%s", r->path ? r->path : "");
  snprintf(g->msg, sizeof(g->msg), "%s", r->msg ? r->msg : "");
  snprintf(g->final_url, sizeof(g->final_url), "%s",
           r->final_url ? r->final_url : "");
  n_done++;
}

static void opts_for_test(struct corral_opts *o)
{
  corral_opts_init(o);
  o->output_dir = dir;
  o->on_done = on_done;
  o->retry_delay = 0.05;
}

/* Runs urls[i] (line i + 1, with outs[i] when outs) to completion. */
static void run(const struct corral_opts *o, char **urls, char **outs,
                unsigned n)
{
  uv_loop_t loop;
  struct corral *c;
  struct corral_entry e;
  unsigned i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(corral_new(&c, &loop, o), 0);
  for (i = 0; i < n; i++) {
    memset(&e, 0, sizeof(e));
    e.url = urls[i];
    e.out = outs ? outs[i] : NULL;
    e.line = i + 1;
    ck_assert_int_eq(corral_add(c, &e, NULL), 0);
  }
  corral_input_end(c);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  corral_free(c);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  ck_assert_uint_eq(n_done, n);
}

static char *url_of(unsigned port_index, const char *target)
{
  char buf[512];

  testsrv_url(&srv, port_index, target, buf, sizeof(buf));
  return strdup(buf);
}

static void free_urls(char **urls, unsigned n)
{
  unsigned i;

  for (i = 0; i < n; i++)
    free(urls[i]);
}

static int file_matches(const char *name, const char *target, size_t n)
{
  char path[512];

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return testsrv_file_matches(path, target, n);
}

static int exists(const char *name)
{
  char path[512];
  struct stat st;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return lstat(path, &st) == 0;
}

START_TEST(test_many_files_right_bytes)
{
  enum { N = 300 };
  char *urls[N], target[64], name[32];
  struct corral_opts o;
  unsigned i;

  for (i = 0; i < N; i++) {
    snprintf(target, sizeof(target), "/bytes/%u/f%u.bin", 1000 + i * 37, i);
    urls[i] = url_of(i % 3, target);
  }
  opts_for_test(&o);
  o.jobs = 8;
  run(&o, urls, NULL, N);
  for (i = 0; i < N; i++) {
    snprintf(target, sizeof(target), "/bytes/%u/f%u.bin", 1000 + i * 37, i);
    snprintf(name, sizeof(name), "f%u.bin", i);
    ck_assert_int_eq(got[i + 1].status, CORRAL_STATUS_OK);
    ck_assert_str_eq(got[i + 1].path, name);
    ck_assert_msg(file_matches(name, target, 1000 + i * 37), "%s", name);
    ck_assert_int_eq(testsrv_requests(&srv, target), 1);
  }
  ck_assert_int_eq(testsrv_total(&srv), N);
  free_urls(urls, N);
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
    urls[i] = url_of(0, targets[i]);
  /* And an upper-case scheme and host. */
  snprintf(buf, sizeof(buf), "HTTP://127.0.0.1:%u/bytes/500/~me/a.bin",
           srv.port[0]);
  urls[N] = strdup(buf);
  opts_for_test(&o);
  run(&o, urls, NULL, N + 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_OK);
  for (i = 2; i <= N + 1; i++) {
    ck_assert_int_eq(got[i].status, CORRAL_STATUS_DUPLICATE);
    ck_assert_str_eq(got[i].path, "a.bin");
  }
  ck_assert_int_eq(testsrv_total(&srv), 1);
  ck_assert(file_matches("a.bin", "/bytes/500/~me/a.bin", 500));
  free_urls(urls, N + 1);
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
    urls[i] = url_of(0, targets[i]);
  opts_for_test(&o);
  run(&o, urls, NULL, N);
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(got[i + 1].status, CORRAL_STATUS_OK);
    ck_assert_int_eq(testsrv_requests(&srv, targets[i]), 1);
  }
  free_urls(urls, N);
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
    urls[i] = url_of(0, target);
  }
  opts_for_test(&o);
  o.jobs = 4;
  run(&o, urls, NULL, N);
  for (i = 1; i <= N; i++)
    ck_assert_int_eq(got[i].status, CORRAL_STATUS_OK);
  max = testsrv_max_conns(&srv, -1);
  ck_assert_int_le(max, 4);
  ck_assert_int_ge(max, 3);
  free_urls(urls, N);
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
    urls[i] = url_of(i % 3, target);
  }
  opts_for_test(&o);
  o.jobs = 16;
  o.per_host = 2;
  run(&o, urls, NULL, N);
  for (i = 0; i < 3; i++) {
    ck_assert_int_le(testsrv_max_conns(&srv, (int)i), 2);
    ck_assert_int_ge(testsrv_max_conns(&srv, (int)i), 1);
  }
  /* The three hosts really ran side by side. */
  ck_assert_int_ge(testsrv_max_conns(&srv, -1), 4);
  ck_assert_int_le(testsrv_max_conns(&srv, -1), 6);
  free_urls(urls, N);
}
END_TEST

START_TEST(test_collision_names)
{
  char *urls[4];
  struct corral_opts o;

  urls[0] = url_of(0, "/bytes/10/a.tar.gz");
  urls[1] = url_of(1, "/bytes/20/a.tar.gz");
  urls[2] = url_of(2, "/bytes/30/a.tar.gz");
  urls[3] = url_of(0, "/bytes/40/dir/a.tar.gz?v=2");
  opts_for_test(&o);
  run(&o, urls, NULL, 4);
  ck_assert_str_eq(got[1].path, "a.tar.gz");
  ck_assert_str_eq(got[2].path, "a.tar.1.gz");
  ck_assert_str_eq(got[3].path, "a.tar.2.gz");
  ck_assert_str_eq(got[4].path, "a.tar.3.gz");
  ck_assert(file_matches("a.tar.gz", "/bytes/10/a.tar.gz", 10));
  ck_assert(file_matches("a.tar.1.gz", "/bytes/20/a.tar.gz", 20));
  ck_assert(file_matches("a.tar.2.gz", "/bytes/30/a.tar.gz", 30));
  ck_assert(file_matches("a.tar.3.gz", "/bytes/40/dir/a.tar.gz?v=2", 40));
  free_urls(urls, 4);
}
END_TEST

START_TEST(test_duplicate_with_own_out_is_linked)
{
  char *urls[3], *outs[3] = {NULL, "copy/b.bin", NULL};
  struct corral_opts o;
  struct stat a, b;
  char pa[512], pb[512];

  urls[0] = url_of(0, "/bytes/777/a.bin");
  urls[1] = url_of(0, "/bytes/777/./a.bin");
  urls[2] = url_of(0, "/bytes/777/a.bin");
  opts_for_test(&o);
  run(&o, urls, outs, 3);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_OK);
  ck_assert_int_eq(got[2].status, CORRAL_STATUS_DUPLICATE);
  ck_assert_str_eq(got[2].path, "copy/b.bin");
  ck_assert_int_eq(got[3].status, CORRAL_STATUS_DUPLICATE);
  ck_assert_str_eq(got[3].path, "a.bin");
  ck_assert_int_eq(testsrv_total(&srv), 1);
  snprintf(pa, sizeof(pa), "%s/a.bin", dir);
  snprintf(pb, sizeof(pb), "%s/copy/b.bin", dir);
  ck_assert_int_eq(stat(pa, &a), 0);
  ck_assert_int_eq(stat(pb, &b), 0);
  ck_assert(a.st_ino == b.st_ino); /* a hard link, not a second fetch */
  ck_assert(file_matches("copy/b.bin", "/bytes/777/a.bin", 777));
  free_urls(urls, 3);
}
END_TEST

START_TEST(test_failures_leave_no_file)
{
  char *urls[2];
  struct corral_opts o;

  urls[0] = url_of(0, "/status/404/missing.bin");
  urls[1] = url_of(0, "/short/1000/400/short.bin");
  opts_for_test(&o);
  o.retries = 1;
  run(&o, urls, NULL, 2);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_int_eq(got[1].http_status, 404);
  ck_assert_int_eq(got[1].attempts, 1); /* 404 is permanent */
  ck_assert_int_eq(got[2].status, CORRAL_STATUS_FAILED);
  ck_assert_int_eq(got[2].attempts, 2); /* a short body is transient */
  ck_assert(!exists("missing.bin"));
  ck_assert(!exists("short.bin"));
  ck_assert_int_eq(testsrv_requests(&srv, "/status/404/missing.bin"), 1);
  free_urls(urls, 2);
}
END_TEST

START_TEST(test_present_file_is_skipped)
{
  char *urls[1], path[512];
  struct corral_opts o;
  FILE *f;

  snprintf(path, sizeof(path), "%s/here.bin", dir);
  ck_assert_ptr_nonnull(f = fopen(path, "w"));
  fputs("mine", f);
  fclose(f);
  urls[0] = url_of(0, "/bytes/100/here.bin");
  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_SKIPPED);
  ck_assert_int_eq(testsrv_total(&srv), 0);
  free_urls(urls, 1);
}
END_TEST

START_TEST(test_transient_status_is_retried)
{
  char *urls[1];
  struct corral_opts o;

  urls[0] = url_of(0, "/flaky/2/300/f.bin");
  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_OK);
  ck_assert_int_eq(got[1].attempts, 3);
  ck_assert_int_eq(testsrv_requests(&srv, "/flaky/2/300/f.bin"), 3);
  ck_assert(file_matches("f.bin", "/flaky/2/300/f.bin", 300));
  free_urls(urls, 1);
}
END_TEST

START_TEST(test_redirects_to_one_file_fetch_once)
{
  char *urls[3];
  char to[600], enc[512], *e;
  struct corral_opts o;
  CURL *curl = curl_easy_init();

  urls[0] = url_of(0, "/redirect/2/r.bin");
  urls[1] = url_of(0, "/redirect/1/r.bin"); /* a hop of the first */
  /* A redirect from another port to the same final file. */
  testsrv_url(&srv, 0, "/bytes/64/r.bin", enc, sizeof(enc));
  e = curl_easy_escape(curl, enc, 0);
  snprintf(to, sizeof(to), "/to?u=%s", e);
  urls[2] = url_of(1, to);
  opts_for_test(&o);
  o.jobs = 1;
  run(&o, urls, NULL, 3);
  /*
   * Which line ends up owning the download depends on the order hops are
   * met; exactly one does, and the others join it.
   */
  ck_assert_int_eq((got[1].status == CORRAL_STATUS_OK) +
                       (got[2].status == CORRAL_STATUS_OK) +
                       (got[3].status == CORRAL_STATUS_OK),
                   1);
  ck_assert_int_eq((got[1].status == CORRAL_STATUS_DUPLICATE) +
                       (got[2].status == CORRAL_STATUS_DUPLICATE) +
                       (got[3].status == CORRAL_STATUS_DUPLICATE),
                   2);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/64/r.bin"), 1);
  ck_assert_int_eq(testsrv_requests(&srv, "/redirect/1/r.bin"), 1);
  ck_assert(file_matches("r.bin", "/bytes/64/r.bin", 64));
  ck_assert(file_matches(got[1].path, "/bytes/64/r.bin", 64));
  ck_assert(file_matches(got[2].path, "/bytes/64/r.bin", 64));
  ck_assert(file_matches(got[3].path, "/bytes/64/r.bin", 64));
  curl_free(e);
  curl_easy_cleanup(curl);
  free_urls(urls, 3);
}
END_TEST

START_TEST(test_redirect_loop_fails)
{
  char *urls[1];
  struct corral_opts o;

  urls[0] = url_of(0, "/loop/a");
  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_int_eq(got[1].err, CORRAL_ELOOP);
  ck_assert_ptr_nonnull(strstr(got[1].msg, "loop"));
  free_urls(urls, 1);
}
END_TEST

START_TEST(test_refresh_304_and_200)
{
  char *urls[2], path[512];
  struct corral_opts o;
  struct timeval old[2] = {{946684800, 0}, {946684800, 0}}; /* 2000-01-01 */
  FILE *f;

  urls[0] = url_of(0, "/bytes/100/same.bin");
  urls[1] = url_of(0, "/bytes/200/changed.bin");
  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_OK);
  /* changed.bin: an old copy, older than the server's Last-Modified. */
  snprintf(path, sizeof(path), "%s/changed.bin", dir);
  ck_assert_ptr_nonnull(f = fopen(path, "w"));
  fputs("old", f);
  fclose(f);
  ck_assert_int_eq(utimes(path, old), 0);
  memset(got, 0, sizeof(got));
  n_done = 0;
  o.refresh = true;
  run(&o, urls, NULL, 2);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_SKIPPED);
  ck_assert_int_eq(got[1].http_status, 304);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/100/same.bin"), 2);
  ck_assert_int_eq(got[2].status, CORRAL_STATUS_OK);
  ck_assert(file_matches("changed.bin", "/bytes/200/changed.bin", 200));
  ck_assert(file_matches("same.bin", "/bytes/100/same.bin", 100));
  free_urls(urls, 2);
}
END_TEST

START_TEST(test_mtime_from_last_modified)
{
  char *urls[1], path[512];
  struct corral_opts o;
  struct stat st;

  urls[0] = url_of(0, "/lm/10/old.bin");
  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  snprintf(path, sizeof(path), "%s/old.bin", dir);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq((long)st.st_mtime, 784887151L); /* 15 Nov 1994 08:12:31 */
  free_urls(urls, 1);
}
END_TEST

START_TEST(test_content_disposition)
{
  char *urls[4];
  struct corral_opts o;

  urls[0] = url_of(0, "/cd/report%202024.pdf/x");
  urls[1] = url_of(0, "/cd/..%2F..%2Fevil.sh/y");
  urls[2] = url_of(0, "/bytes/10/plain.bin");
  urls[3] = url_of(1, "/cd/report%202024.pdf/z"); /* same name, other key */
  opts_for_test(&o);
  o.content_disposition = true;
  o.jobs = 1;
  run(&o, urls, NULL, 4);
  ck_assert_str_eq(got[1].path, "report 2024.pdf");
  ck_assert(file_matches("report 2024.pdf", "/cd/report%202024.pdf/x", 64));
  ck_assert_str_eq(got[2].path, "evil.sh");
  ck_assert(file_matches("evil.sh", "/cd/..%2F..%2Fevil.sh/y", 64));
  ck_assert_str_eq(got[3].path, "plain.bin");
  ck_assert_str_eq(got[4].path, "report 2024.1.pdf");
  free_urls(urls, 4);
}
END_TEST

static Suite *engine_suite(void)
{
  Suite *s = suite_create("engine");
  TCase *tc = tcase_create("loopback");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_many_files_right_bytes);
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
