/*
 * End-to-end tests of the corral command: the real binary ($CORRAL_BIN)
 * against the loopback test server, with real files, pipes and signals.
 * Each test forks and gets its own server and output dir.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "testsrv.h"

/* How long a test waits for the server to count a request. */
#define WAIT_MS 10000

static struct testsrv srv;
static char dir[64];
static char out[600];
static char err_text[1 << 20];

static void setup(void)
{
  harness_setup(&srv, 3, dir, sizeof(dir), "e2e");
  snprintf(out, sizeof(out), "%s/out", dir);
}

static void teardown(void)
{
  harness_teardown(&srv, dir);
}

/* Reads the child's stderr to EOF into err_text and returns its status. */
static int finish(struct harness_child *c)
{
  return harness_finish(c, err_text, sizeof(err_text));
}

static int run(char *const *args)
{
  return harness_run_bin(args, NULL, NULL, err_text, sizeof(err_text));
}

static char *url(unsigned port_index, const char *target)
{
  return harness_url(&srv, port_index, target);
}

static const char *last_line(void)
{
  return harness_last_line(err_text);
}

START_TEST(test_urls_as_arguments)
{
  char *args[] = {"-o",
                  out,
                  url(0, "/bytes/100/a.bin"),
                  url(0, "/bytes/100/./a.bin"),
                  url(1, "/bytes/200/b.bin"),
                  NULL};

  ck_assert_int_eq(run(args), 0);
  ck_assert_msg(
      harness_starts_with(last_line(),
                          "2 downloaded, 1 duplicate, 0 skipped, 0 failed, "
                          "300 bytes in "),
      "%s", last_line());
  ck_assert(harness_file_matches(out, "a.bin", "/bytes/100/a.bin", 100));
  ck_assert(harness_file_matches(out, "b.bin", "/bytes/200/b.bin", 200));
  ck_assert_int_eq(testsrv_total(&srv), 2);
}
END_TEST

START_TEST(test_bad_lines_are_reported_and_the_rest_runs)
{
  char list[600], *args[] = {"-o", out, "-i", list, NULL};
  char longline[70 * 1024];

  memset(longline, 'a', sizeof(longline) - 1);
  longline[sizeof(longline) - 1] = '\0';
  snprintf(list, sizeof(list), "%s/list.txt", dir);
  harness_writef(list,
                 "# a comment\r\n"
                 "\n"
                 "   %s   \r\n"
                 "not a url\n"
                 "ftp://example.com/file\n"
                 "%s out=../escape.bin\n"
                 "%s color=blue\n"
                 "http://\n"
                 "http://%s/x\n"
                 "%s sha256=abc\n"
                 "%s out=two.bin\n",
                 url(0, "/bytes/10/one.bin"), url(0, "/bytes/10/x.bin"),
                 url(0, "/bytes/10/y.bin"), longline,
                 url(0, "/bytes/10/z.bin"), url(1, "/bytes/20/two.bin"));
  ck_assert_int_eq(run(args), 1);
  ck_assert_ptr_nonnull(strstr(err_text, "list.txt:4: "));
  ck_assert_ptr_nonnull(strstr(err_text, "list.txt:5: unsupported scheme"));
  ck_assert_ptr_nonnull(strstr(err_text, "list.txt:6: out= climbs out"));
  ck_assert_ptr_nonnull(strstr(err_text, "list.txt:7: unknown key"));
  ck_assert_ptr_nonnull(strstr(err_text, "list.txt:8: "));
  ck_assert_ptr_nonnull(strstr(err_text, "list.txt:9: line longer"));
  ck_assert_ptr_nonnull(strstr(err_text, "list.txt:10: bad sha256"));
  ck_assert_msg(
      harness_starts_with(last_line(),
                          "2 downloaded, 0 duplicate, 0 skipped, 7 failed"),
      "%s", last_line());
  ck_assert(harness_file_matches(out, "one.bin", "/bytes/10/one.bin", 10));
  ck_assert(harness_file_matches(out, "two.bin", "/bytes/20/two.bin", 20));
  ck_assert_int_eq(testsrv_total(&srv), 2);
}
END_TEST

START_TEST(test_usage_errors_exit_2_without_requests)
{
  char missing[600];
  char *args1[] = {"-o", out, "-i", missing, url(0, "/bytes/1/a"), NULL};
  char *args2[] = {"--no-such-option", url(0, "/bytes/1/a"), NULL};
  char *args3[] = {"-j", "zero", url(0, "/bytes/1/a"), NULL};

  snprintf(missing, sizeof(missing), "%s/missing.txt", dir);
  ck_assert_int_eq(run(args1), 2);
  ck_assert_ptr_nonnull(strstr(err_text, "missing.txt"));
  ck_assert_int_eq(run(args2), 2);
  ck_assert_int_eq(run(args3), 2);
  ck_assert_int_eq(testsrv_total(&srv), 0);
}
END_TEST

START_TEST(test_unusable_output_dir_exits_2)
{
  char file[600], under[700];
  char *args[] = {"-o", under, url(0, "/bytes/1/a"), NULL};

  snprintf(file, sizeof(file), "%s/plainfile", dir);
  harness_writef(file, "x");
  snprintf(under, sizeof(under), "%s/sub", file);
  ck_assert_int_eq(run(args), 2);
  ck_assert_int_eq(testsrv_total(&srv), 0);
}
END_TEST

START_TEST(test_stdin_is_streamed)
{
  char *args[] = {"-o", out, "-i", "-", NULL};
  struct harness_child c = harness_spawn(args, true, NULL);
  char line[600];

  snprintf(line, sizeof(line), "%s\n", url(0, "/bytes/50/first.bin"));
  ck_assert_int_eq(write(c.in, line, strlen(line)), (ssize_t)strlen(line));
  /* The first download happens while stdin is still open. */
  ck_assert(harness_wait_requests(&srv, "/bytes/50/first.bin", 1, WAIT_MS));
  snprintf(line, sizeof(line), "%s\n", url(0, "/bytes/60/second.bin"));
  ck_assert_int_eq(write(c.in, line, strlen(line)), (ssize_t)strlen(line));
  ck_assert_int_eq(finish(&c), 0);
  ck_assert(harness_file_matches(out, "first.bin", "/bytes/50/first.bin", 50));
  ck_assert(
      harness_file_matches(out, "second.bin", "/bytes/60/second.bin", 60));
}
END_TEST

START_TEST(test_failures_exit_1_and_leave_no_file)
{
  char *args[] = {"-o",
                  out,
                  "--retries",
                  "1",
                  "--retry-delay",
                  "0.01",
                  url(0, "/status/404/gone.bin"),
                  url(0, "/short/500/100/cut.bin"),
                  NULL};

  ck_assert_int_eq(run(args), 1);
  ck_assert(!harness_exists(out, "gone.bin"));
  ck_assert(!harness_exists(out, "cut.bin"));
  ck_assert_ptr_nonnull(strstr(err_text, "/status/404/gone.bin"));
  ck_assert_ptr_nonnull(strstr(err_text, "404"));
  ck_assert_msg(
      harness_starts_with(last_line(),
                          "0 downloaded, 0 duplicate, 0 skipped, 2 failed"),
      "%s", last_line());
}
END_TEST

START_TEST(test_dry_run_touches_nothing)
{
  char *args[] = {"--dry-run",
                  "-o",
                  out,
                  url(0, "/bytes/10/a.bin"),
                  url(0, "/bytes/10/%61.bin"),
                  url(1, "/bytes/10/a.bin"),
                  NULL};

  ck_assert_int_eq(run(args), 0);
  ck_assert_int_eq(testsrv_total(&srv), 0);
  ck_assert(access(out, F_OK) != 0);
}
END_TEST

START_TEST(test_five_thousand_urls_one_request_per_key)
{
  enum { KEYS = 2500 };
  char list[600], target[64];
  char *args[] = {"-q", "-j", "16", "-o", out, "-i", list, NULL};
  FILE *f;
  unsigned i;

  snprintf(list, sizeof(list), "%s/list.txt", dir);
  ck_assert_ptr_nonnull(f = fopen(list, "w"));
  for (i = 0; i < KEYS; i++) {
    snprintf(target, sizeof(target), "/bytes/%u/k%u.bin", 512 + i % 7, i);
    fprintf(f, "%s\n", url(i % 3, target));
    /* The same key, spelled another way. */
    snprintf(target, sizeof(target), "/bytes/%u/./k%u.bin#x", 512 + i % 7, i);
    fprintf(f, "%s\n", url(i % 3, target));
  }
  fclose(f);
  ck_assert_int_eq(run(args), 0);
  ck_assert_int_eq(testsrv_total(&srv), KEYS);
  for (i = 0; i < KEYS; i += 97) {
    char name[32];

    snprintf(target, sizeof(target), "/bytes/%u/k%u.bin", 512 + i % 7, i);
    snprintf(name, sizeof(name), "k%u.bin", i);
    ck_assert_int_eq(testsrv_requests(&srv, target), 1);
    ck_assert(harness_file_matches(out, name, target, 512 + i % 7));
  }
}
END_TEST

/*
 * -j 200 under an open-file limit of 64: corral runs fewer transfers at
 * once and says how many, never more than that many connections are open,
 * and every file arrives.  The limit is set by a shell wrapper, as a user
 * would (`ulimit -n 64; corral ...`): setrlimit() in this process would
 * not reach the child under valgrind, which only pretends to lower it.
 */
START_TEST(test_low_fd_limit_runs_fewer_transfers)
{
  enum { URLS = 120 };
  char list[600], wrapper[600], real[4096], target[64], name[32];
  char *args[] = {"-j", "200", "--per-host", "200", "-o", out, "-i", list,
                  NULL};
  char *saved = NULL;
  const char *warning;
  unsigned i, ran = 0;
  FILE *f;

  snprintf(list, sizeof(list), "%s/list.txt", dir);
  ck_assert_ptr_nonnull(f = fopen(list, "w"));
  for (i = 0; i < URLS; i++) {
    /* Slow enough that many would run at once without the limit. */
    snprintf(target, sizeof(target), "/slow/1000/100/fd%u.bin", i);
    fprintf(f, "%s\n", url(0, target));
  }
  fclose(f);
  snprintf(real, sizeof(real), "%s", harness_bin());
  snprintf(wrapper, sizeof(wrapper), "%s/corral-ulimit", dir);
  harness_writef(wrapper,
                 "#!/bin/sh\nulimit -n 64 || exit 125\nexec %s \"$@\"\n", real);
  ck_assert_int_eq(chmod(wrapper, 0755), 0);
  if (getenv("CORRAL_BIN"))
    ck_assert_ptr_nonnull(saved = strdup(getenv("CORRAL_BIN")));
  ck_assert_int_eq(setenv("CORRAL_BIN", wrapper, 1), 0);
  ck_assert_int_eq(run(args), 0);
  if (saved)
    ck_assert_int_eq(setenv("CORRAL_BIN", saved, 1), 0);
  else
    ck_assert_int_eq(unsetenv("CORRAL_BIN"), 0);
  free(saved);
  warning = strstr(err_text, "transfers at once instead of 200");
  ck_assert_msg(warning, "no warning from corral under ulimit -n 64");
  while (warning > err_text && warning[-1] == ' ')
    warning--;
  while (warning > err_text && warning[-1] >= '0' && warning[-1] <= '9')
    warning--;
  ck_assert_int_eq(sscanf(warning, "%u", &ran), 1);
  ck_assert_uint_ge(ran, 1);
  ck_assert_uint_lt(ran, 64);
  ck_assert_int_le(testsrv_max_conns(&srv, -1), ran);
  ck_assert_int_eq(testsrv_total(&srv), URLS);
  for (i = 0; i < URLS; i++) {
    snprintf(target, sizeof(target), "/slow/1000/100/fd%u.bin", i);
    snprintf(name, sizeof(name), "fd%u.bin", i);
    ck_assert_msg(harness_file_matches(out, name, target, 1000), "%s", name);
  }
}
END_TEST

START_TEST(test_sigint_keeps_parts_and_rerun_finishes)
{
  char *args[] = {"-o",
                  out,
                  "-j",
                  "2",
                  url(0, "/bytes/300/done.bin"),
                  url(0, "/stall/1000/400/slow.bin"),
                  NULL};
  struct harness_child c;

  c = harness_spawn(args, false, NULL);
  ck_assert(
      harness_wait_requests(&srv, "/stall/1000/400/slow.bin", 1, WAIT_MS));
  ck_assert(harness_wait_requests(&srv, "/bytes/300/done.bin", 1, WAIT_MS));
  kill(c.pid, SIGINT);
  ck_assert_int_eq(finish(&c), 130);
  ck_assert(harness_file_matches(out, "done.bin", "/bytes/300/done.bin", 300));
  ck_assert(!harness_exists(out, "slow.bin"));
  /* The rerun skips the complete file: no second request for it. */
  {
    char *again[] = {"-o",
                     out,
                     "--stall-timeout",
                     "0.5",
                     "--retries",
                     "0",
                     url(0, "/bytes/300/done.bin"),
                     NULL};

    ck_assert_int_eq(run(again), 0);
    ck_assert_int_eq(testsrv_requests(&srv, "/bytes/300/done.bin"), 1);
    ck_assert_ptr_nonnull(strstr(last_line(), "1 skipped"));
  }
}
END_TEST

START_TEST(test_sigterm_exits_143)
{
  char *args[] = {"-o", out, url(0, "/stall/1000/10/t.bin"), NULL};
  struct harness_child c = harness_spawn(args, false, NULL);

  ck_assert(harness_wait_requests(&srv, "/stall/1000/10/t.bin", 1, WAIT_MS));
  kill(c.pid, SIGTERM);
  ck_assert_int_eq(finish(&c), 143);
  ck_assert(!harness_exists(out, "t.bin"));
}
END_TEST

START_TEST(test_report_has_one_object_per_entry)
{
  char report[600], list[600], line[4096];
  char *args[] = {"-q", "-o", out, "--report", report, "-i", list, NULL};
  int lines = 0, ok = 0, dup = 0, failed = 0;
  FILE *f;

  snprintf(report, sizeof(report), "%s/report.jsonl", dir);
  snprintf(list, sizeof(list), "%s/list.txt", dir);
  harness_writef(list, "%s\n%s\nnot-a-url\n%s\n", url(0, "/bytes/10/a\"q.bin"),
                 url(0, "/bytes/10/./a\"q.bin"), url(0, "/status/500/e"));
  ck_assert_int_eq(run(args), 1);
  ck_assert_ptr_nonnull(f = fopen(report, "r"));
  while (fgets(line, sizeof(line), f)) {
    lines++;
    ck_assert_ptr_nonnull(strstr(line, "\"attempts\":"));
    ok += !!strstr(line, "\"status\":\"ok\"");
    dup += !!strstr(line, "\"status\":\"duplicate\"");
    failed += !!strstr(line, "\"status\":\"failed\"");
  }
  fclose(f);
  ck_assert_int_eq(lines, 4);
  ck_assert_int_eq(ok, 1);
  ck_assert_int_eq(dup, 1);
  ck_assert_int_eq(failed, 2);
}
END_TEST

static Suite *e2e_suite(void)
{
  Suite *s = suite_create("e2e");
  TCase *tc = tcase_create("binary");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_urls_as_arguments);
  tcase_add_test(tc, test_bad_lines_are_reported_and_the_rest_runs);
  tcase_add_test(tc, test_usage_errors_exit_2_without_requests);
  tcase_add_test(tc, test_unusable_output_dir_exits_2);
  tcase_add_test(tc, test_stdin_is_streamed);
  tcase_add_test(tc, test_failures_exit_1_and_leave_no_file);
  tcase_add_test(tc, test_dry_run_touches_nothing);
  tcase_add_test(tc, test_five_thousand_urls_one_request_per_key);
  tcase_add_test(tc, test_low_fd_limit_runs_fewer_transfers);
  tcase_add_test(tc, test_sigint_keeps_parts_and_rerun_finishes);
  tcase_add_test(tc, test_sigterm_exits_143);
  tcase_add_test(tc, test_report_has_one_object_per_entry);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(e2e_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
