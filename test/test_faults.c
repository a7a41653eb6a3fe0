/*
 * Library tests of failures against the loopback test server: dropped
 * connections, short bodies, 503 with Retry-After, backoff, permanent and
 * transient statuses, stalls, size limits, refused connections, redirects,
 * disk errors and .part files left by an earlier run.  Each test forks
 * (Check's default) and gets a fresh server from a checked fixture, a fresh
 * output dir and a fresh loop.  Timing is asserted only as lower bounds,
 * taken from the server's own request log.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "corral.h"
#include "testsrv.h"

#define MAX_LINES 16
#define MAX_LOG 8

/* Child exit code meaning "could not set the test up" (not a failure). */
#define CHILD_SKIP 77

struct got {
  int seen;
  enum corral_status status;
  int err;
  long http_status;
  unsigned attempts;
  char path[256];
  char msg[512];
  char final_url[512];
};

/* One request in the server's log. */
struct logent {
  double t;
  char range[64];     /* "" when the request had none */
  char if_range[128]; /* as JSON-escaped by the server, "" when none */
};

static struct testsrv srv;
static char dir[64];
static struct got got[MAX_LINES + 1];
static unsigned n_done;

static void setup(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ck_assert_int_eq(testsrv_start(&srv, 3), 0);
  strcpy(dir, "/tmp/corral-faults-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  memset(got, 0, sizeof(got));
  n_done = 0;
}

static void teardown(void)
{
  char cmd[256];

  testsrv_stop(&srv);
  snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", dir, dir);
  ck_assert_int_eq(system(cmd), 0);
  curl_global_cleanup();
}

/* Records r by line; an entry ending twice is counted in n_done only. */
static void on_done(const struct corral_result *r, void *data)
{
  struct got *g;

  (void)data;
  n_done++;
  if (r->line > MAX_LINES)
    return;
  g = &got[r->line];
  g->seen++;
  g->status = r->status;
  g->err = r->err;
  g->http_status = r->http_status;
  g->attempts = r->attempts;
  snprintf(g->path, sizeof(g->path), "%s", r->path ? r->path : "");
  snprintf(g->msg, sizeof(g->msg), "%s", r->msg ? r->msg : "");
  snprintf(g->final_url, sizeof(g->final_url), "%s",
           r->final_url ? r->final_url : "");
}

static void opts_for_test(struct corral_opts *o)
{
  corral_opts_init(o);
  o->output_dir = dir;
  o->on_done = on_done;
  o->retry_delay = 0.05;
}

/*
 * Runs urls[i] (line i + 1, with outs[i] when outs) to completion without
 * Check assertions, so that a forked child can use it.  Returns 0 when
 * every entry ended exactly once, else a small positive code.
 */
static int run_plain(const struct corral_opts *o, char **urls, char **outs,
                     unsigned n)
{
  uv_loop_t loop;
  struct corral *c;
  struct corral_entry e;
  unsigned i;

  if (uv_loop_init(&loop))
    return 10;
  if (corral_new(&c, &loop, o))
    return 11;
  for (i = 0; i < n; i++) {
    memset(&e, 0, sizeof(e));
    e.url = urls[i];
    e.out = outs ? outs[i] : NULL;
    e.line = i + 1;
    if (corral_add(c, &e, NULL))
      return 12;
  }
  corral_input_end(c);
  if (uv_run(&loop, UV_RUN_DEFAULT))
    return 13;
  corral_free(c);
  if (uv_loop_close(&loop))
    return 14;
  if (n_done != n)
    return 15;
  for (i = 1; i <= n && i <= MAX_LINES; i++)
    if (got[i].seen != 1)
      return 16;
  return 0;
}

static void run(const struct corral_opts *o, char **urls, char **outs,
                unsigned n)
{
  ck_assert_int_eq(run_plain(o, urls, outs, n), 0);
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

static void path_of(const char *name, char *buf, size_t len)
{
  snprintf(buf, len, "%s/%s", dir, name);
}

static int file_matches(const char *name, const char *target, size_t n)
{
  char path[512];

  path_of(name, path, sizeof(path));
  return testsrv_file_matches(path, target, n);
}

static int exists(const char *name)
{
  char path[512];
  struct stat st;

  path_of(name, path, sizeof(path));
  return lstat(path, &st) == 0;
}

/* Writes n bytes of buf to DIR/name. */
static void put_file(const char *name, const void *buf, size_t n)
{
  char path[512];
  FILE *f;

  path_of(name, path, sizeof(path));
  ck_assert_ptr_nonnull(f = fopen(path, "wb"));
  ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
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
  ck_assert_int_eq(got[line].status, CORRAL_STATUS_FAILED);
  ck_assert_msg(got[line].err == err,
                "line %u: err %d (%s), want %d (%s), msg: %s", line,
                got[line].err, corral_strerror(got[line].err), err,
                corral_strerror(err), got[line].msg);
  ck_assert_msg(got[line].msg[0], "line %u: empty msg", line);
}

static void ck_ok(unsigned line)
{
  ck_assert_msg(got[line].status == CORRAL_STATUS_OK,
                "line %u: status %d, err %d (%s), msg: %s", line,
                (int)got[line].status, got[line].err,
                corral_strerror(got[line].err), got[line].msg);
}

/* 1: a body cut mid-way resumes with Range and If-Range. */
START_TEST(test_drop_resumes)
{
  const char *t = "/drop/30000/1/100000/d.bin";
  char *urls[1] = {url_of(0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_uint_eq(got[1].attempts, 2);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_str_eq(lg[0].range, "");
  ck_assert_str_eq(lg[1].range, "bytes=30000-");
  ck_assert_msg(lg[1].if_range[0], "no If-Range on the resumed request");
  ck_assert(file_matches("d.bin", t, 100000));
  ck_assert(!exists("d.bin.part"));
  free_urls(urls, 1);
}
END_TEST

/* 2: without retries the cut body fails and its .part stays. */
START_TEST(test_drop_no_retries_keeps_part)
{
  const char *t = "/drop/30000/1/100000/d.bin";
  char *urls[1] = {url_of(0, t)};
  struct corral_opts o;

  opts_for_test(&o);
  o.retries = 0;
  run(&o, urls, NULL, 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_uint_eq(got[1].attempts, 1);
  ck_assert_int_eq(testsrv_requests(&srv, t), 1);
  ck_assert(exists("d.bin.part"));
  ck_assert(!exists("d.bin"));
  free_urls(urls, 1);
}
END_TEST

/* 2b: a later run resumes that .part, guarded by the kept validator. */
START_TEST(test_next_run_resumes_with_if_range)
{
  const char *t = "/drop/30000/1/100000/n.bin";
  char *urls[1] = {url_of(0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  o.retries = 0;
  run(&o, urls, NULL, 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_FAILED);
  memset(got, 0, sizeof(got));
  n_done = 0;
  run(&o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_str_eq(lg[1].range, "bytes=30000-");
  ck_assert_msg(lg[1].if_range[0], "no If-Range on the next run's request");
  ck_assert(file_matches("n.bin", t, 100000));
  free_urls(urls, 1);
}
END_TEST

/* 2c: a .part as long as the file gets 416; corral starts over. */
START_TEST(test_complete_part_gets_416_and_restarts)
{
  const char *t = "/bytes/5000/full.bin";
  char *urls[1] = {url_of(0, t)};
  unsigned char body[5000];
  struct corral_opts o;
  char path[600];
  FILE *f;

  testsrv_body(t, body, sizeof(body));
  snprintf(path, sizeof(path), "%s/full.bin.part", dir);
  ck_assert_ptr_nonnull(f = fopen(path, "w"));
  ck_assert_uint_eq(fwrite(body, 1, sizeof(body), f), sizeof(body));
  fclose(f);
  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_uint_eq(got[1].attempts, 2);
  ck_assert_int_eq(testsrv_requests(&srv, t), 2);
  ck_assert(file_matches("full.bin", t, 5000));
  ck_assert(!exists("full.bin.part"));
  free_urls(urls, 1);
}
END_TEST

/* 3: Content-Length larger than the body is transient, then fails. */
START_TEST(test_short_body_exhausts_retries)
{
  const char *t = "/short/1000/400/s.bin";
  char *urls[1] = {url_of(0, t)};
  struct corral_opts o;

  opts_for_test(&o);
  o.retries = 2;
  run(&o, urls, NULL, 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_msg(got[1].err == CORRAL_ESHORT || got[1].err == CORRAL_ECURL,
                "err %d (%s), msg: %s", got[1].err,
                corral_strerror(got[1].err), got[1].msg);
  ck_assert(got[1].msg[0]);
  ck_assert_uint_eq(got[1].attempts, 3);
  ck_assert_int_eq(testsrv_requests(&srv, t), 3);
  ck_assert(!exists("s.bin"));
  free_urls(urls, 1);
}
END_TEST

/* 4: Retry-After in seconds replaces a shorter backoff. */
START_TEST(test_retry_after_seconds)
{
  const char *t = "/flaky/1/500/ra.bin?ra=1";
  char *urls[1] = {url_of(0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_msg(lg[1].t - lg[0].t >= 0.9, "gap %.3f s", lg[1].t - lg[0].t);
  ck_assert(file_matches(got[1].path, t, 500));
  free_urls(urls, 1);
}
END_TEST

/* 5: Retry-After as an HTTP-date (2-3 s ahead). */
START_TEST(test_retry_after_date)
{
  const char *t = "/flaky/1/500/rd.bin?ra=date";
  char *urls[1] = {url_of(0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_msg(lg[1].t - lg[0].t >= 1.0, "gap %.3f s", lg[1].t - lg[0].t);
  ck_assert(file_matches(got[1].path, t, 500));
  free_urls(urls, 1);
}
END_TEST

/* 6: the backoff doubles; jitter keeps each wait in [d/2, d]. */
START_TEST(test_backoff_doubles)
{
  const char *t = "/flaky/2/300/b.bin";
  char *urls[1] = {url_of(0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  o.retry_delay = 0.4;
  run(&o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_uint_eq(got[1].attempts, 3);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 3);
  ck_assert_msg(lg[1].t - lg[0].t >= 0.2, "gap1 %.3f s", lg[1].t - lg[0].t);
  ck_assert_msg(lg[2].t - lg[1].t >= 0.4, "gap2 %.3f s", lg[2].t - lg[1].t);
  ck_assert(file_matches("b.bin", t, 300));
  free_urls(urls, 1);
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
    urls[i] = url_of(i % 3, target[i]);
  }
  opts_for_test(&o);
  o.retries = 2;
  run(&o, urls, NULL, N);
  for (i = 0; i < N; i++) {
    ck_failed(i + 1, CORRAL_EHTTP);
    ck_assert_int_eq(got[i + 1].http_status, cases[i].code);
    ck_assert_msg(testsrv_requests(&srv, target[i]) == cases[i].requests,
                  "%d: %ld requests", cases[i].code,
                  testsrv_requests(&srv, target[i]));
    ck_assert_uint_eq(got[i + 1].attempts, (unsigned)cases[i].requests);
    ck_assert(!exists(got[i + 1].path));
  }
  free_urls(urls, N);
}
END_TEST

/* 8: headers, some bytes, then silence: a stall, retried once. */
START_TEST(test_stall)
{
  const char *t = "/stall/1000/100/st.bin";
  char *urls[1] = {url_of(0, t)};
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  opts_for_test(&o);
  o.stall_timeout = 0.5;
  o.retries = 1;
  run(&o, urls, NULL, 1);
  ck_failed(1, CORRAL_ESTALL);
  ck_assert_uint_eq(got[1].attempts, 2);
  ck_assert_msg(strstr(got[1].msg, "stall") || strstr(got[1].msg, "no data"),
                "msg: %s", got[1].msg);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 2);
  ck_assert_msg(lg[1].t - lg[0].t >= 0.5, "gap %.3f s", lg[1].t - lg[0].t);
  ck_assert(!exists("st.bin"));
  free_urls(urls, 1);
}
END_TEST

/* 9: --max-filesize with and without Content-Length is permanent. */
START_TEST(test_max_filesize)
{
  const char *t[2] = {"/bytes/5000/big.bin", "/endless/e.bin"};
  char *urls[1];
  struct corral_opts o;

  urls[0] = url_of(0, t[0]);
  opts_for_test(&o);
  o.max_filesize = 1000;
  run(&o, urls, NULL, 1);
  ck_failed(1, CORRAL_ETOOBIG);
  ck_assert_uint_eq(got[1].attempts, 1);
  ck_assert_int_eq(testsrv_requests(&srv, t[0]), 1);
  ck_assert(!exists("big.bin"));
  ck_assert(!exists("big.bin.part"));
  free(urls[0]);

  memset(got, 0, sizeof(got));
  n_done = 0;
  urls[0] = url_of(0, t[1]);
  o.max_filesize = 100000;
  run(&o, urls, NULL, 1);
  ck_failed(1, CORRAL_ETOOBIG);
  ck_assert_uint_eq(got[1].attempts, 1);
  ck_assert_int_eq(testsrv_requests(&srv, t[1]), 1);
  ck_assert(!exists("e.bin"));
  ck_assert(!exists("e.bin.part"));
  free(urls[0]);
}
END_TEST

/* A port on 127.0.0.1 that was free a moment ago and has no listener. */
static unsigned closed_port(void)
{
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  ck_assert_int_ge(fd, 0);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* 10: a refused connection is transient, then fails as a transport error. */
START_TEST(test_connection_refused)
{
  char buf[128], *urls[1];
  struct corral_opts o;

  snprintf(buf, sizeof(buf), "http://127.0.0.1:%u/x.bin", closed_port());
  urls[0] = strdup(buf);
  opts_for_test(&o);
  o.retries = 1;
  o.connect_timeout = 5;
  run(&o, urls, NULL, 1);
  ck_failed(1, CORRAL_ECURL);
  ck_assert_uint_eq(got[1].attempts, 2);
  ck_assert_int_eq(got[1].http_status, 0);
  ck_assert(!exists("x.bin"));
  free_urls(urls, 1);
}
END_TEST

/* 11a: a relative Location resolves against the hop's URL. */
START_TEST(test_redirect_relative)
{
  char *urls[1] = {url_of(0, "/rel/x")};
  struct corral_opts o;
  const char *end = "/bytes/32/rel.bin";
  size_t n;

  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_ok(1);
  n = strlen(got[1].final_url);
  ck_assert_msg(n >= strlen(end) &&
                    !strcmp(got[1].final_url + n - strlen(end), end),
                "final_url %s", got[1].final_url);
  ck_assert_int_eq(testsrv_requests(&srv, end), 1);
  ck_assert(file_matches(got[1].path, end, 32));
  free_urls(urls, 1);
}
END_TEST

/* 11b: a redirect loop fails with an error that says so. */
START_TEST(test_redirect_loop)
{
  char *urls[1] = {url_of(0, "/loop/a")};
  struct corral_opts o;

  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_failed(1, CORRAL_ELOOP);
  ck_assert_ptr_nonnull(strstr(got[1].msg, "loop"));
  ck_assert_int_le(testsrv_requests(&srv, "/loop/a"), 2);
  ck_assert_int_le(testsrv_requests(&srv, "/loop/b"), 2);
  free_urls(urls, 1);
}
END_TEST

/* 11c: more hops than --max-redirs. */
START_TEST(test_too_many_redirects)
{
  char *urls[1] = {url_of(0, "/redirect/5/m.bin")};
  struct corral_opts o;

  opts_for_test(&o);
  o.max_redirs = 2;
  run(&o, urls, NULL, 1);
  ck_failed(1, CORRAL_EREDIRS);
  ck_assert_int_eq(testsrv_requests(&srv, "/redirect/5/m.bin"), 1);
  ck_assert_int_eq(testsrv_requests(&srv, "/redirect/2/m.bin"), 0);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/64/m.bin"), 0);
  free_urls(urls, 1);
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
    urls[i] = url_of(i + 1, to);
  }
  opts_for_test(&o);
  run(&o, urls, NULL, 2);
  ck_assert_int_eq(testsrv_requests(&srv, t), 1);
  ck_assert_int_eq((got[1].status == CORRAL_STATUS_OK) +
                       (got[2].status == CORRAL_STATUS_OK),
                   1);
  ck_assert_int_eq((got[1].status == CORRAL_STATUS_DUPLICATE) +
                       (got[2].status == CORRAL_STATUS_DUPLICATE),
                   1);
  ck_assert(file_matches(got[1].path, t, 4000));
  ck_assert(file_matches(got[2].path, t, 4000));
  curl_free(e);
  curl_easy_cleanup(curl);
  free_urls(urls, 2);
}
END_TEST

/* 12a: a path component that is a regular file: permanent, path named. */
START_TEST(test_disk_error_not_a_dir)
{
  const char *t = "/bytes/100/x.bin";
  char *urls[1] = {url_of(0, t)}, *outs[1] = {"plainfile/x.bin"};
  struct corral_opts o;

  put_file("plainfile", "data", 4);
  opts_for_test(&o);
  run(&o, urls, outs, 1);
  ck_assert_int_eq(got[1].status, CORRAL_STATUS_FAILED);
  ck_assert_msg(strstr(got[1].msg, "plainfile/x.bin"), "msg: %s", got[1].msg);
  ck_assert_int_le(got[1].attempts, 1);
  ck_assert_int_le(testsrv_requests(&srv, t), 1);
  ck_assert(!exists("x.bin"));
  free_urls(urls, 1);
}
END_TEST

/*
 * In a child without root: downloads into the read-only DIR/ro.  Returns
 * 0 when the entry failed with "Permission denied" in its msg.
 */
static int child_eacces(char *url)
{
  char *urls[1] = {url}, *outs[1] = {"ro/f.bin"};
  struct corral_opts o;
  int rc;

  if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
    return CHILD_SKIP;
  if (geteuid() == 0)
    return CHILD_SKIP;
  opts_for_test(&o);
  rc = run_plain(&o, urls, outs, 1);
  if (rc)
    return rc;
  if (got[1].status != CORRAL_STATUS_FAILED)
    return 1;
  if (!strstr(got[1].msg, "Permission denied")) {
    fprintf(stderr, "child_eacces: msg: %s\n", got[1].msg);
    return 2;
  }
  if (got[1].attempts > 1)
    return 3;
  return 0;
}

/*
 * 12b: EACCES on the .part fails the entry with strerror text.  The child
 * sends its verdict through a pipe rather than its exit status, which
 * valgrind replaces when it finds leaks inherited from the parent.
 */
START_TEST(test_disk_error_eacces)
{
  char sub[512], *url = url_of(0, "/bytes/100/f.bin");
  unsigned char verdict = 255;
  int fds[2], status = 0;
  pid_t pid;

  ck_assert_int_eq(chmod(dir, 0755), 0);
  path_of("ro", sub, sizeof(sub));
  ck_assert_int_eq(mkdir(sub, 0555), 0);
  ck_assert_int_eq(chmod(sub, 0555), 0);
  ck_assert_int_eq(pipe(fds), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    verdict = (unsigned char)child_eacces(url);
    _exit(write(fds[1], &verdict, 1) == 1 ? 0 : 1);
  }
  close(fds[1]);
  ck_assert_int_eq(read(fds[0], &verdict, 1), 1);
  close(fds[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  free(url);
  ck_assert(WIFEXITED(status));
  if (verdict == CHILD_SKIP) {
    fprintf(stderr, "test_disk_error_eacces: SKIPPED, cannot drop root\n");
    return;
  }
  ck_assert_int_eq(verdict, 0);
  ck_assert(!exists("ro/f.bin"));
  ck_assert(!exists("ro/f.bin.part"));
}
END_TEST

/* 13a: a correct .part from an earlier run is resumed with Range. */
START_TEST(test_resume_earlier_part)
{
  enum { N = 50000, K = 12345 };
  const char *t = "/bytes/50000/p.bin";
  char *urls[1] = {url_of(0, t)};
  unsigned char *body = malloc(N);
  struct corral_opts o;
  struct logent lg[MAX_LOG];

  ck_assert_ptr_nonnull(body);
  testsrv_body(t, body, N);
  put_file("p.bin.part", body, K);
  free(body);
  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(read_log(t, lg, MAX_LOG), 1);
  ck_assert_str_eq(lg[0].range, "bytes=12345-");
  ck_assert(file_matches("p.bin", t, N));
  ck_assert(!exists("p.bin.part"));
  free_urls(urls, 1);
}
END_TEST

/* 13b: a .part the server will not resume (200 to Range) restarts clean. */
START_TEST(test_part_restart_on_200)
{
  enum { N = 8000 };
  const char *t = "/slow/8000/10/w.bin";
  char *urls[1] = {url_of(0, t)};
  unsigned char junk[3000];
  struct corral_opts o;

  memset(junk, 0xAA, sizeof(junk));
  put_file("w.bin.part", junk, sizeof(junk));
  opts_for_test(&o);
  run(&o, urls, NULL, 1);
  ck_ok(1);
  ck_assert_int_eq(testsrv_requests(&srv, t), 1);
  ck_assert(file_matches("w.bin", t, N));
  ck_assert(!exists("w.bin.part"));
  free_urls(urls, 1);
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
