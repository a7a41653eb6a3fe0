/*
 * Library tests of failures against the loopback test server: dropped
 * connections, short bodies, 503 with Retry-After, backoff, permanent and
 * transient statuses, stalls, size limits, refused connections, redirects,
 * disk errors (a file for a folder, EACCES, ENOSPC and EROFS on real
 * mounts) and .part files left by an earlier run.  Each test forks
 * (Check's default) and gets a fresh server from a checked fixture, a fresh
 * output dir and a fresh loop.  Timing is asserted only as lower bounds,
 * taken from the server's own request log.
 */
#define _GNU_SOURCE /* unshare(), CLONE_NEWNS */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "corral.h"
#include "harness.h"
#include "testsrv.h"

#define MAX_LINES 16
#define MAX_LOG 8

/* Child exit code meaning "could not set the test up" (not a failure). */
#define CHILD_SKIP 77

/* One request in the server's log. */
struct logent {
  double t;
  char range[64];     /* "" when the request had none */
  char if_range[128]; /* as JSON-escaped by the server, "" when none */
};

static struct testsrv srv;
static char dir[64];
static struct harness_lib lib;

static void setup(void)
{
  harness_setup(&srv, 3, dir, sizeof(dir), "faults");
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

/* Writes n bytes of buf to DIR/name. */
static void put_file(const char *name, const void *buf, size_t n)
{
  char path[512];

  harness_path(path, sizeof(path), dir, name);
  harness_write(path, buf, n);
}

/* Copies the JSON string or null at p into out (escapes kept as sent). */
static void json_str(const char *p, char *out, size_t len)
{
  size_t i = 0;

  out[0] = '\0';
  if (!p || *p != '"')
    return;
  for (p++; *p && *p != '"' && i + 1 < len; p++) {
    if (*p == '\\' && p[1])
      out[i++] = *p++;
    if (i + 1 < len)
      out[i++] = *p;
  }
  out[i] = '\0';
}

/*
 * Reads the server's log for target into e (at most max entries) and
 * returns how many requests it lists.  The server writes each entry's keys
 * in the order t, range, if_range, headers.
 */
static int read_log(const char *target, struct logent *e, int max)
{
  char *json = testsrv_log(&srv, target), *p, *q;
  int n = 0;

  ck_assert_ptr_nonnull(json);
  for (p = json; (p = strstr(p, "{\"t\": ")) && n < max; n++) {
    e[n].t = strtod(p + 6, &p);
    q = strstr(p, "\"range\": ");
    json_str(q ? q + 9 : NULL, e[n].range, sizeof(e[n].range));
    q = strstr(p, "\"if_range\": ");
    json_str(q ? q + 12 : NULL, e[n].if_range, sizeof(e[n].if_range));
  }
  free(json);
  return n;
}

static void ck_failed(unsigned line, int err)
{
  ck_assert_int_eq(lib.got[line].status, CORRAL_STATUS_FAILED);
  ck_assert_msg(lib.got[line].err == err,
                "line %u: err %d (%s), want %d (%s), msg: %s", line,
                lib.got[line].err, corral_strerror(lib.got[line].err), err,
                corral_strerror(err), lib.got[line].msg);
  ck_assert_msg(lib.got[line].msg[0], "line %u: empty msg", line);
}

static void ck_ok(unsigned line)
{
  ck_assert_msg(lib.got[line].status == CORRAL_STATUS_OK,
                "line %u: status %d, err %d (%s), msg: %s", line,
                (int)lib.got[line].status, lib.got[line].err,
                corral_strerror(lib.got[line].err), lib.got[line].msg);
}

/* 1: a body cut mid-way resumes with Range and If-Range. */
START_TEST(test_drop_resumes)
{
  const char *t = "/drop/30000/1/100000/d.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_uint_eq(lib.got[1].attempts, 2);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_str_eq(lg[0].range, "");
  ck_assert_str_eq(lg[1].range, "bytes=30000-");
  ck_assert_msg(lg[1].if_range[0], "no If-Range on the resumed request");
  ck_assert(harness_file_matches(dir, "d.bin", t, 100000));
  ck_assert(!harness_exists(dir, "d.bin.part"));
  harness_free_urls(urls, 1);
}
END_TEST

/* 2: without retries the cut body fails and its .part stays. */
START_TEST(test_drop_no_retries_keeps_part)
{
  const char *t = "/drop/30000/1/100000/d.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  struct corral_opts o;

  opts_for_test(&o);
  o.retries = 0;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_uint_eq(lib.got[1].attempts, 1);
  ck_assert_int_eq(testsrv_requests(&srv, t), 1);
  ck_assert(harness_exists(dir, "d.bin.part"));
  ck_assert(!harness_exists(dir, "d.bin"));
  harness_free_urls(urls, 1);
}
END_TEST

/* 2b: a later run resumes that .part, guarded by the kept validator. */
START_TEST(test_next_run_resumes_with_if_range)
{
  const char *t = "/drop/30000/1/100000/n.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  o.retries = 0;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_FAILED);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_str_eq(lg[1].range, "bytes=30000-");
  ck_assert_msg(lg[1].if_range[0], "no If-Range on the next run's request");
  ck_assert(harness_file_matches(dir, "n.bin", t, 100000));
  harness_free_urls(urls, 1);
}
END_TEST

/* 2c: a .part as long as the file gets 416; corral starts over. */
START_TEST(test_complete_part_gets_416_and_restarts)
{
  const char *t = "/bytes/5000/full.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  unsigned char body[5000];
  struct corral_opts o;

  testsrv_body(t, body, sizeof(body));
  put_file("full.bin.part", body, sizeof(body));
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_uint_eq(lib.got[1].attempts, 2);
  ck_assert_int_eq(testsrv_requests(&srv, t), 2);
  ck_assert(harness_file_matches(dir, "full.bin", t, 5000));
  ck_assert(!harness_exists(dir, "full.bin.part"));
  harness_free_urls(urls, 1);
}
END_TEST

/* 3: Content-Length larger than the body is transient, then fails. */
START_TEST(test_short_body_exhausts_retries)
{
  const char *t = "/short/1000/400/s.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  struct corral_opts o;

  opts_for_test(&o);
  o.retries = 2;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_msg(lib.got[1].err == CORRAL_ESHORT ||
                    lib.got[1].err == CORRAL_ECURL,
                "err %d (%s), msg: %s", lib.got[1].err,
                corral_strerror(lib.got[1].err), lib.got[1].msg);
  ck_assert(lib.got[1].msg[0]);
  ck_assert_uint_eq(lib.got[1].attempts, 3);
  ck_assert_int_eq(testsrv_requests(&srv, t), 3);
  ck_assert(!harness_exists(dir, "s.bin"));
  harness_free_urls(urls, 1);
}
END_TEST

/* 4: Retry-After in seconds replaces a shorter backoff. */
START_TEST(test_retry_after_seconds)
{
  const char *t = "/flaky/1/500/ra.bin?ra=1";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_msg(lg[1].t - lg[0].t >= 0.9, "gap %.3f s", lg[1].t - lg[0].t);
  ck_assert(harness_file_matches(dir, lib.got[1].path, t, 500));
  harness_free_urls(urls, 1);
}
END_TEST

/* 5: Retry-After as an HTTP-date (2-3 s ahead). */
START_TEST(test_retry_after_date)
{
  const char *t = "/flaky/1/500/rd.bin?ra=date";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_msg(lg[1].t - lg[0].t >= 1.0, "gap %.3f s", lg[1].t - lg[0].t);
  ck_assert(harness_file_matches(dir, lib.got[1].path, t, 500));
  harness_free_urls(urls, 1);
}
END_TEST

/* 6: the backoff doubles; jitter keeps each wait in [d/2, d]. */
START_TEST(test_backoff_doubles)
{
  const char *t = "/flaky/2/300/b.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  o.retry_delay = 0.4;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_uint_eq(lib.got[1].attempts, 3);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 3);
  ck_assert_msg(lg[1].t - lg[0].t >= 0.2, "gap1 %.3f s", lg[1].t - lg[0].t);
  ck_assert_msg(lg[2].t - lg[1].t >= 0.4, "gap2 %.3f s", lg[2].t - lg[1].t);
  ck_assert(harness_file_matches(dir, "b.bin", t, 300));
  harness_free_urls(urls, 1);
}
END_TEST

/* 7: permanent statuses are sent once; transient ones are retried. */
START_TEST(test_status_classes)
{
  static const struct {
    int code;
    int requests;
  } cases[] = {{404, 1}, {403, 1}, {410, 1}, {501, 1}, {408, 3},
               {429, 3}, {500, 3}, {502, 3}, {504, 3}};
  enum { N = sizeof(cases) / sizeof(cases[0]) };
  char *urls[N], target[N][64];
  struct corral_opts o;
  unsigned i;

  for (i = 0; i < N; i++) {
    snprintf(target[i], sizeof(target[i]), "/status/%d/st%d.bin",
             cases[i].code, cases[i].code);
    urls[i] = harness_url_dup(&srv, i % 3, target[i]);
  }
  opts_for_test(&o);
  o.retries = 2;
  harness_run_urls(&lib, &o, urls, NULL, N);
  for (i = 0; i < N; i++) {
    ck_failed(i + 1, CORRAL_EHTTP);
    ck_assert_int_eq(lib.got[i + 1].http_status, cases[i].code);
    ck_assert_msg(testsrv_requests(&srv, target[i]) == cases[i].requests,
                  "%d: %ld requests", cases[i].code,
                  testsrv_requests(&srv, target[i]));
    ck_assert_uint_eq(lib.got[i + 1].attempts, (unsigned)cases[i].requests);
    ck_assert(!harness_exists(dir, lib.got[i + 1].path));
  }
  harness_free_urls(urls, N);
}
END_TEST

/* 8: headers, some bytes, then silence: a stall, retried once. */
START_TEST(test_stall)
{
  const char *t = "/stall/1000/100/st.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  o.stall_timeout = 0.5;
  o.retries = 1;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_failed(1, CORRAL_ESTALL);
  ck_assert_uint_eq(lib.got[1].attempts, 2);
  ck_assert_msg(strstr(lib.got[1].msg, "stall") ||
                    strstr(lib.got[1].msg, "no data"),
                "msg: %s", lib.got[1].msg);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_msg(lg[1].t - lg[0].t >= 0.5, "gap %.3f s", lg[1].t - lg[0].t);
  ck_assert(!harness_exists(dir, "st.bin"));
  harness_free_urls(urls, 1);
}
END_TEST

/* 9: --max-filesize with and without Content-Length is permanent. */
START_TEST(test_max_filesize)
{
  const char *t[2] = {"/bytes/5000/big.bin", "/endless/e.bin"};
  char *urls[1];
  struct corral_opts o;

  urls[0] = harness_url_dup(&srv, 0, t[0]);
  opts_for_test(&o);
  o.max_filesize = 1000;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_failed(1, CORRAL_ETOOBIG);
  ck_assert_uint_eq(lib.got[1].attempts, 1);
  ck_assert_int_eq(testsrv_requests(&srv, t[0]), 1);
  ck_assert(!harness_exists(dir, "big.bin"));
  ck_assert(!harness_exists(dir, "big.bin.part"));
  free(urls[0]);

  urls[0] = harness_url_dup(&srv, 0, t[1]);
  o.max_filesize = 100000;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_failed(1, CORRAL_ETOOBIG);
  ck_assert_uint_eq(lib.got[1].attempts, 1);
  ck_assert_int_eq(testsrv_requests(&srv, t[1]), 1);
  ck_assert(!harness_exists(dir, "e.bin"));
  ck_assert(!harness_exists(dir, "e.bin.part"));
  free(urls[0]);
}
END_TEST

/* 10: a refused connection is transient, then fails as a transport error. */
START_TEST(test_connection_refused)
{
  char buf[128], *urls[1];
  struct corral_opts o;

  snprintf(buf, sizeof(buf), "http://127.0.0.1:%u/x.bin", harness_free_port());
  urls[0] = strdup(buf);
  opts_for_test(&o);
  o.retries = 1;
  o.connect_timeout = 5;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_failed(1, CORRAL_ECURL);
  ck_assert_uint_eq(lib.got[1].attempts, 2);
  ck_assert_int_eq(lib.got[1].http_status, 0);
  ck_assert(!harness_exists(dir, "x.bin"));
  harness_free_urls(urls, 1);
}
END_TEST

/* 11a: a relative Location resolves against the hop's URL. */
START_TEST(test_redirect_relative)
{
  char *urls[1] = {harness_url_dup(&srv, 0, "/rel/x")};
  struct corral_opts o;
  const char *end = "/bytes/32/rel.bin";
  size_t n;

  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  n = strlen(lib.got[1].final_url);
  ck_assert_msg(n >= strlen(end) &&
                    !strcmp(lib.got[1].final_url + n - strlen(end), end),
                "final_url %s", lib.got[1].final_url);
  ck_assert_int_eq(testsrv_requests(&srv, end), 1);
  ck_assert(harness_file_matches(dir, lib.got[1].path, end, 32));
  harness_free_urls(urls, 1);
}
END_TEST

/* 11b: a redirect loop fails with an error that says so. */
START_TEST(test_redirect_loop)
{
  char *urls[1] = {harness_url_dup(&srv, 0, "/loop/a")};
  struct corral_opts o;

  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_failed(1, CORRAL_ELOOP);
  ck_assert_ptr_nonnull(strstr(lib.got[1].msg, "loop"));
  ck_assert_int_le(testsrv_requests(&srv, "/loop/a"), 2);
  ck_assert_int_le(testsrv_requests(&srv, "/loop/b"), 2);
  harness_free_urls(urls, 1);
}
END_TEST

/* 11c: more hops than --max-redirs. */
START_TEST(test_too_many_redirects)
{
  char *urls[1] = {harness_url_dup(&srv, 0, "/redirect/5/m.bin")};
  struct corral_opts o;

  opts_for_test(&o);
  o.max_redirs = 2;
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_failed(1, CORRAL_EREDIRS);
  ck_assert_int_eq(testsrv_requests(&srv, "/redirect/5/m.bin"), 1);
  ck_assert_int_eq(testsrv_requests(&srv, "/redirect/2/m.bin"), 0);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/64/m.bin"), 0);
  harness_free_urls(urls, 1);
}
END_TEST

/* 11d: two URLs redirecting to one file fetch it once. */
START_TEST(test_redirects_merge)
{
  const char *t = "/bytes/4000/same.bin";
  char *urls[2], to[700], fin[512], *e;
  struct corral_opts o;
  CURL *curl = curl_easy_init();
  unsigned i;

  testsrv_url(&srv, 0, t, fin, sizeof(fin));
  e = curl_easy_escape(curl, fin, 0);
  for (i = 0; i < 2; i++) {
    snprintf(to, sizeof(to), "/to?u=%s", e);
    urls[i] = harness_url_dup(&srv, i + 1, to);
  }
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 2);
  ck_assert_int_eq(testsrv_requests(&srv, t), 1);
  ck_assert_int_eq((lib.got[1].status == CORRAL_STATUS_OK) +
                       (lib.got[2].status == CORRAL_STATUS_OK),
                   1);
  ck_assert_int_eq((lib.got[1].status == CORRAL_STATUS_DUPLICATE) +
                       (lib.got[2].status == CORRAL_STATUS_DUPLICATE),
                   1);
  ck_assert(harness_file_matches(dir, lib.got[1].path, t, 4000));
  ck_assert(harness_file_matches(dir, lib.got[2].path, t, 4000));
  curl_free(e);
  curl_easy_cleanup(curl);
  harness_free_urls(urls, 2);
}
END_TEST

/* 12a: a path component that is a regular file: permanent, path named. */
START_TEST(test_disk_error_not_a_dir)
{
  const char *t = "/bytes/100/x.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)},
       *outs[1] = {"plainfile/x.bin"};
  struct corral_opts o;

  put_file("plainfile", "data", 4);
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, outs, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_msg(strstr(lib.got[1].msg, "plainfile/x.bin"), "msg: %s",
                lib.got[1].msg);
  ck_assert_int_le(lib.got[1].attempts, 1);
  ck_assert_int_le(testsrv_requests(&srv, t), 1);
  ck_assert(!harness_exists(dir, "x.bin"));
  harness_free_urls(urls, 1);
}
END_TEST

/* What a forked disk-error child runs. */
struct disk_case {
  char *url;
  unsigned long flags; /* tmpfs mount flags */
  const char *data;    /* tmpfs mount data */
  int want;            /* the errno whose text the message must hold */
};

/*
 * Runs check(dc) in a forked child and returns its verdict.  The child
 * sends it through a pipe rather than its exit status, which valgrind
 * replaces when it finds leaks inherited from the parent.
 */
static int child_verdict(int (*check)(const struct disk_case *),
                         const struct disk_case *dc)
{
  unsigned char verdict = 255;
  int fds[2], status = 0;
  pid_t pid;

  ck_assert_int_eq(pipe(fds), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    verdict = (unsigned char)check(dc);
    _exit(write(fds[1], &verdict, 1) == 1 ? 0 : 1);
  }
  close(fds[1]);
  ck_assert_int_eq(read(fds[0], &verdict, 1), 1);
  close(fds[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  return verdict;
}

/*
 * In a child without root: downloads into the read-only DIR/ro.  Returns
 * 0 when the entry failed with "Permission denied" in its msg.
 */
static int child_eacces(const struct disk_case *dc)
{
  const struct corral_entry e = {.url = dc->url, .out = "ro/f.bin", .line = 1};
  struct corral_opts o;

  if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
    return CHILD_SKIP;
  if (geteuid() == 0)
    return CHILD_SKIP;
  opts_for_test(&o);
  if (harness_run_plain(&lib, &o, &e, 1)) {
    fprintf(stderr, "child_eacces: library run: %s\n", lib.why);
    return 10;
  }
  if (lib.got[1].status != CORRAL_STATUS_FAILED)
    return 1;
  if (!strstr(lib.got[1].msg, "Permission denied")) {
    fprintf(stderr, "child_eacces: msg: %s\n", lib.got[1].msg);
    return 2;
  }
  if (lib.got[1].attempts > 1)
    return 3;
  return 0;
}

/* 12b: EACCES on the .part fails the entry with strerror text. */
START_TEST(test_disk_error_eacces)
{
  struct disk_case dc = {.url = harness_url_dup(&srv, 0, "/bytes/100/f.bin")};
  char sub[512];
  int verdict;

  ck_assert_int_eq(chmod(dir, 0755), 0);
  harness_path(sub, sizeof(sub), dir, "ro");
  ck_assert_int_eq(mkdir(sub, 0555), 0);
  ck_assert_int_eq(chmod(sub, 0555), 0);
  verdict = child_verdict(child_eacces, &dc);
  free(dc.url);
  if (verdict == CHILD_SKIP) {
    fprintf(stderr, "test_disk_error_eacces: SKIPPED, cannot drop root\n");
    return;
  }
  ck_assert_int_eq(verdict, 0);
  ck_assert(!harness_exists(dir, "ro/f.bin"));
  ck_assert(!harness_exists(dir, "ro/f.bin.part"));
}
END_TEST

/*
 * In a child with its own mount namespace: mounts a tmpfs with dc's flags
 * and data at DIR/mnt, downloads dc->url into mnt/f.bin and checks, while
 * the mount is still visible, that the entry failed once with the text of
 * dc->want and its path in msg, and left neither mnt/f.bin nor its .part.
 * Returns 0 when all of that held, CHILD_SKIP when the mount cannot be
 * made (no root, no CAP_SYS_ADMIN), else the number of the first check
 * that failed.
 */
static int child_disk_error(const struct disk_case *dc)
{
  const struct corral_entry e = {.url = dc->url, .out = "mnt/f.bin", .line = 1};
  struct corral_opts o;
  char mnt[512];

  harness_path(mnt, sizeof(mnt), dir, "mnt");
  if (unshare(CLONE_NEWNS) < 0 ||
      mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
      mount("tmpfs", mnt, "tmpfs", dc->flags, dc->data) < 0) {
    fprintf(stderr, "child_disk_error: mount: %s\n", strerror(errno));
    return CHILD_SKIP;
  }
  opts_for_test(&o);
  if (harness_run_plain(&lib, &o, &e, 1)) {
    fprintf(stderr, "child_disk_error: library run: %s\n", lib.why);
    return 10;
  }
  fprintf(stderr, "child_disk_error: msg: %s\n", lib.got[1].msg);
  if (lib.got[1].status != CORRAL_STATUS_FAILED)
    return 1;
  if (!strstr(lib.got[1].msg, strerror(dc->want)))
    return 2;
  if (!strstr(lib.got[1].msg, "mnt/f.bin"))
    return 3;
  if (lib.got[1].attempts != 1)
    return 4;
  if (harness_exists(dir, "mnt/f.bin"))
    return 5;
  if (harness_exists(dir, "mnt/f.bin.part"))
    return 6;
  return 0;
}

/* Runs child_disk_error in a child and asserts its verdict. */
static void check_disk_error(const char *target, unsigned long flags,
                             const char *data, int want)
{
  struct disk_case dc = {.url = harness_url_dup(&srv, 0, target),
                         .flags = flags,
                         .data = data,
                         .want = want};
  char mnt[512];
  int verdict;

  harness_path(mnt, sizeof(mnt), dir, "mnt");
  ck_assert_int_eq(mkdir(mnt, 0755), 0);
  verdict = child_verdict(child_disk_error, &dc);
  free(dc.url);
  if (verdict == CHILD_SKIP) {
    fprintf(stderr, "%s: SKIPPED, cannot mount a tmpfs\n", target);
    return;
  }
  ck_assert_msg(verdict == 0, "%s: check %d failed", target, verdict);
  /* Permanent: one request, no retry. */
  ck_assert_int_eq(testsrv_requests(&srv, target), 1);
}

/* 12c: ENOSPC mid-body (a 16 KiB tmpfs, a 200 KB body). */
START_TEST(test_disk_error_enospc)
{
  check_disk_error("/bytes/200000/full.bin", 0, "size=16k", ENOSPC);
}
END_TEST

/* 12d: EROFS on creating the .part (a read-only tmpfs). */
START_TEST(test_disk_error_erofs)
{
  check_disk_error("/bytes/1000/ro.bin", MS_RDONLY, "size=16k", EROFS);
}
END_TEST

/* 13a: a correct .part from an earlier run is resumed with Range. */
START_TEST(test_resume_earlier_part)
{
  enum { N = 50000, K = 12345 };
  const char *t = "/bytes/50000/p.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  unsigned char *body = malloc(N);
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  ck_assert_ptr_nonnull(body);
  testsrv_body(t, body, N);
  put_file("p.bin.part", body, K);
  free(body);
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 1);
  ck_assert_str_eq(lg[0].range, "bytes=12345-");
  ck_assert(harness_file_matches(dir, "p.bin", t, N));
  ck_assert(!harness_exists(dir, "p.bin.part"));
  harness_free_urls(urls, 1);
}
END_TEST

/* 13b: a .part the server will not resume (200 to Range) restarts clean. */
START_TEST(test_part_restart_on_200)
{
  enum { N = 8000 };
  const char *t = "/slow/8000/10/w.bin";
  char *urls[1] = {harness_url_dup(&srv, 0, t)};
  unsigned char junk[3000];
  struct corral_opts o;

  memset(junk, 0xAA, sizeof(junk));
  put_file("w.bin.part", junk, sizeof(junk));
  opts_for_test(&o);
  harness_run_urls(&lib, &o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(testsrv_requests(&srv, t), 1);
  ck_assert(harness_file_matches(dir, "w.bin", t, N));
  ck_assert(!harness_exists(dir, "w.bin.part"));
  harness_free_urls(urls, 1);
}
END_TEST

static Suite *faults_suite(void)
{
  Suite *s = suite_create("faults");
  TCase *tc = tcase_create("loopback");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_drop_resumes);
  tcase_add_test(tc, test_drop_no_retries_keeps_part);
  tcase_add_test(tc, test_next_run_resumes_with_if_range);
  tcase_add_test(tc, test_complete_part_gets_416_and_restarts);
  tcase_add_test(tc, test_short_body_exhausts_retries);
  tcase_add_test(tc, test_retry_after_seconds);
  tcase_add_test(tc, test_retry_after_date);
  tcase_add_test(tc, test_backoff_doubles);
  tcase_add_test(tc, test_status_classes);
  tcase_add_test(tc, test_stall);
  tcase_add_test(tc, test_max_filesize);
  tcase_add_test(tc, test_connection_refused);
  tcase_add_test(tc, test_redirect_relative);
  tcase_add_test(tc, test_redirect_loop);
  tcase_add_test(tc, test_too_many_redirects);
  tcase_add_test(tc, test_redirects_merge);
  tcase_add_test(tc, test_disk_error_not_a_dir);
  tcase_add_test(tc, test_disk_error_eacces);
  tcase_add_test(tc, test_disk_error_enospc);
  tcase_add_test(tc, test_disk_error_erofs);
  tcase_add_test(tc, test_resume_earlier_part);
  tcase_add_test(tc, test_part_restart_on_200);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(faults_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
