/*
 * Tests for the tool side: cli (argv parsing, messages, --help, the number
 * helpers) and report (the JSON string escaper and whole report lines,
 * checked by python3's json module).  cli_parse runs with stdout and
 * stderr redirected to temporary files so its output can be checked.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

#define MAX_ARGS 48

struct run {
  int ret;
  char out[8192];
  char err[2048];
};

static void slurp(FILE *f, char *buf, size_t len)
{
  size_t n;

  rewind(f);
  n = fread(buf, 1, len - 1, f);
  buf[n] = '\0';
}

/* cli_parse of {"corral", args...}; args ends with NULL. */
static void run_cli(struct cli *c, const char *const *args, struct run *r)
{
  char *argv[MAX_ARGS + 2];
  int argc = 1, save_out, save_err;
  FILE *out = tmpfile(), *err = tmpfile();

  ck_assert(out && err);
  argv[0] = "corral";
  for (; args[argc - 1]; argc++) {
    ck_assert_int_le(argc, MAX_ARGS);
    argv[argc] = (char *)args[argc - 1];
  }
  argv[argc] = NULL;
  fflush(stdout);
  fflush(stderr);
  save_out = dup(1);
  save_err = dup(2);
  ck_assert(save_out >= 0 && save_err >= 0);
  ck_assert_int_ge(dup2(fileno(out), 1), 0);
  ck_assert_int_ge(dup2(fileno(err), 2), 0);
  r->ret = cli_parse(c, argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(save_out, 1);
  dup2(save_err, 2);
  close(save_out);
  close(save_err);
  slurp(out, r->out, sizeof(r->out));
  slurp(err, r->err, sizeof(r->err));
  fclose(out);
  fclose(err);
}

START_TEST(test_defaults)
{
  static const char *const args[] = {"http://a/", NULL};
  struct corral_opts d;
  struct cli c;
  struct run r;

  corral_opts_init(&d);
  run_cli(&c, args, &r);
  ck_assert_int_eq(r.ret, 0);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  ck_assert_uint_eq(c.n_urls, 1);
  ck_assert_str_eq(c.urls[0], "http://a/");
  ck_assert_uint_eq(c.n_inputs, 0);
  ck_assert_uint_eq(c.n_headers, 0);
  ck_assert_ptr_null(c.report_path);
  ck_assert(!c.quiet && !c.verbose);
  ck_assert_str_eq(c.opts.output_dir, d.output_dir);
  ck_assert_str_eq(c.opts.user_agent, d.user_agent);
  ck_assert_uint_eq(c.opts.jobs, d.jobs);
  ck_assert_uint_eq(c.opts.per_host, d.per_host);
  ck_assert_uint_eq(c.opts.retries, d.retries);
  ck_assert_uint_eq(c.opts.max_redirs, d.max_redirs);
  ck_assert(c.opts.retry_delay == d.retry_delay);
  ck_assert(c.opts.layout == CORRAL_LAYOUT_FLAT);
  ck_assert(!c.opts.dry_run && !c.opts.insecure && !c.opts.refresh);
  cli_release(&c);
  cli_release(&c);
}
END_TEST

START_TEST(test_all_options)
{
  static const char *const args[] = {"-i",
                                     "l1",
                                     "--input=l2",
                                     "-o",
                                     "outdir",
                                     "-j",
                                     "4",
                                     "--per-host",
                                     "2",
                                     "--layout",
                                     "mirror",
                                     "--retries",
                                     "0",
                                     "--retry-delay",
                                     "0.25",
                                     "--connect-timeout",
                                     "2.5",
                                     "--stall-timeout",
                                     "7",
                                     "--max-redirs",
                                     "0",
                                     "--max-filesize",
                                     "2M",
                                     "--limit-rate",
                                     "64k",
                                     "-H",
                                     "X-A: 1",
                                     "--header=X-B:2",
                                     "-A",
                                     "bot/1",
                                     "--cacert",
                                     "ca.pem",
                                     "-k",
                                     "--report",
                                     "r.jsonl",
                                     "--dry-run",
                                     "--content-disposition",
                                     "--overwrite",
                                     "-v",
                                     "http://u/1",
                                     "http://u/2",
                                     NULL};
  struct cli c;
  struct run r;

  run_cli(&c, args, &r);
  ck_assert_msg(r.ret == 0, "ret %d: %s", r.ret, r.err);
  ck_assert_uint_eq(c.n_inputs, 2);
  ck_assert_str_eq(c.inputs[0], "l1");
  ck_assert_str_eq(c.inputs[1], "l2");
  ck_assert_str_eq(c.opts.output_dir, "outdir");
  ck_assert_uint_eq(c.opts.jobs, 4);
  ck_assert_uint_eq(c.opts.per_host, 2);
  ck_assert(c.opts.layout == CORRAL_LAYOUT_MIRROR);
  ck_assert_uint_eq(c.opts.retries, 0);
  ck_assert(c.opts.retry_delay == 0.25);
  ck_assert(c.opts.connect_timeout == 2.5);
  ck_assert(c.opts.stall_timeout == 7);
  ck_assert_uint_eq(c.opts.max_redirs, 0);
  ck_assert_uint_eq(c.opts.max_filesize, 2u << 20);
  ck_assert_uint_eq(c.opts.limit_rate, 64u << 10);
  ck_assert_uint_eq(c.n_headers, 2);
  ck_assert_uint_eq(c.opts.n_headers, 2);
  ck_assert_ptr_eq(c.opts.headers, c.headers);
  ck_assert_str_eq(c.opts.headers[0], "X-A: 1");
  ck_assert_str_eq(c.opts.headers[1], "X-B:2");
  ck_assert_str_eq(c.opts.user_agent, "bot/1");
  ck_assert_str_eq(c.opts.cacert, "ca.pem");
  ck_assert(c.opts.insecure && c.opts.dry_run && c.opts.overwrite);
  ck_assert(c.opts.content_disposition && !c.opts.refresh);
  ck_assert_str_eq(c.report_path, "r.jsonl");
  ck_assert(c.verbose && !c.quiet);
  ck_assert_uint_eq(c.n_urls, 2);
  ck_assert_str_eq(c.urls[0], "http://u/1");
  ck_assert_str_eq(c.urls[1], "http://u/2");
  cli_release(&c);
}
END_TEST

START_TEST(test_argv_forms)
{
  static const char *const permute[] = {
      "u1", "-j", "3", "u2", "--", "-x", "--jobs", "--refresh", NULL};
  static const char *const cluster[] = {
      "-qkj5", "-ofoo", "--refresh", "--per=3", "--dry", "u", NULL};
  static const char *const last[] = {"-j", "2", "-j", "9", "-o", "a",
                                     "-o", "b", "-i", "-", NULL};
  struct cli c;
  struct run r;

  run_cli(&c, permute, &r);
  ck_assert_int_eq(r.ret, 0);
  ck_assert_uint_eq(c.opts.jobs, 3);
  ck_assert(!c.opts.refresh);
  ck_assert_uint_eq(c.n_urls, 5);
  ck_assert_str_eq(c.urls[0], "u1");
  ck_assert_str_eq(c.urls[1], "u2");
  ck_assert_str_eq(c.urls[2], "-x");
  ck_assert_str_eq(c.urls[4], "--refresh");
  cli_release(&c);

  run_cli(&c, cluster, &r);
  ck_assert_msg(r.ret == 0, "%s", r.err);
  ck_assert(c.quiet && c.opts.insecure && c.opts.refresh && c.opts.dry_run);
  ck_assert_uint_eq(c.opts.jobs, 5);
  ck_assert_uint_eq(c.opts.per_host, 3);
  ck_assert_str_eq(c.opts.output_dir, "foo");
  cli_release(&c);

  run_cli(&c, last, &r);
  ck_assert_int_eq(r.ret, 0);
  ck_assert_uint_eq(c.opts.jobs, 9);
  ck_assert_str_eq(c.opts.output_dir, "b");
  ck_assert_uint_eq(c.n_urls, 0);
  ck_assert_uint_eq(c.n_inputs, 1);
  ck_assert_str_eq(c.inputs[0], "-");
  cli_release(&c);
}
END_TEST

struct bad_case {
  const char *args[6];
  const char *msg; /* the first line on stderr, after "corral: " */
};

static const struct bad_case bad_cases[] = {
    {{NULL}, "no URLs: give them as arguments or with -i FILE"},
    {{"-q", NULL}, "no URLs: give them as arguments or with -i FILE"},
    {{"-j", "0", "u", NULL},
     "bad value '0' for -j/--jobs (want a number from 1 to 10000)"},
    {{"--jobs=abc", "u", NULL},
     "bad value 'abc' for -j/--jobs (want a number from 1 to 10000)"},
    {{"-j", "-1", "u", NULL},
     "bad value '-1' for -j/--jobs (want a number from 1 to 10000)"},
    {{"-j", "10001", "u", NULL},
     "bad value '10001' for -j/--jobs (want a number from 1 to 10000)"},
    {{"--per-host", "0", "u", NULL},
     "bad value '0' for --per-host (want a number from 1 to 10000)"},
    {{"--retries", "x", "u", NULL},
     "bad value 'x' for --retries (want a number from 0 to 1000)"},
    {{"--layout", "tree", "u", NULL},
     "bad --layout 'tree' (want flat or mirror)"},
    {{"-H", "NoColon", "u", NULL},
     "bad header 'NoColon' (want 'Name: value')"},
    {{"-H", ": v", "u", NULL}, "bad header ': v' (want 'Name: value')"},
    {{"-H", "Bad Name: v", "u", NULL},
     "bad header 'Bad Name: v' (want 'Name: value')"},
    {{"-H", "X: a\r\nEvil: 1", "u", NULL},
     "header 'X' holds a control character"},
    {{"-A", "bot\n", "u", NULL}, "-A/--user-agent holds a control character"},
    {{"--bogus", "u", NULL}, "unknown option '--bogus'"},
    {{"--bogus=1", "u", NULL}, "unknown option '--bogus'"},
    {{"--=x", "u", NULL}, "unknown option '--=x'"},
    {{"--re", "u", NULL}, "ambiguous option '--re'"},
    {{"-z", "u", NULL}, "unknown option '-z'"},
    {{"-qz", "u", NULL}, "unknown option '-z'"},
    {{"--quiet=1", "u", NULL}, "option '--quiet' takes no value"},
    {{"--dry-run=yes", "u", NULL}, "option '--dry-run' takes no value"},
    {{"u", "-i", NULL}, "-i/--input needs a value"},
    {{"u", "--report", NULL}, "--report needs a value"},
    {{"--retry-delay", "-1", "u", NULL},
     "bad value '-1' for --retry-delay (want seconds, such as 0.5)"},
    {{"--retry-delay", "nan", "u", NULL},
     "bad value 'nan' for --retry-delay (want seconds, such as 0.5)"},
    {{"--connect-timeout", "0", "u", NULL},
     "bad value '0' for --connect-timeout (want seconds above 0, such as "
     "0.5)"},
    {{"--stall-timeout", "0.0", "u", NULL},
     "bad value '0.0' for --stall-timeout (want seconds above 0, such as "
     "0.5)"},
    {{"--max-filesize", "1X", "u", NULL},
     "bad value '1X' for --max-filesize (want bytes, with k, M or G)"},
    {{"--limit-rate", "", "u", NULL},
     "bad value '' for --limit-rate (want bytes, with k, M or G)"},
    {{"-q", "-v", "u", NULL}, "--quiet and --verbose cannot be combined"},
    {{"--refresh", "--overwrite", "u", NULL},
     "--refresh and --overwrite cannot be combined"},
    {{"-i", "-", "-i", "-", NULL}, "standard input (-i -) given twice"},
    {{"-i", "", NULL}, "-i/--input needs a file name"},
    {{"-o", "", "u", NULL}, "-o/--output-dir needs a non-empty value"},
    {{"--report=", "u", NULL}, "--report needs a non-empty value"},
};

START_TEST(test_bad_usage)
{
  const struct bad_case *bc = &bad_cases[_i];
  char want[512];
  struct cli c;
  struct run r;

  snprintf(want, sizeof(want), "corral: %s\nTry 'corral --help'.\n", bc->msg);
  run_cli(&c, bc->args, &r);
  ck_assert_int_eq(r.ret, 2);
  ck_assert_str_eq(r.err, want);
  ck_assert_str_eq(r.out, "");
  ck_assert_ptr_null(c.urls);
  ck_assert_ptr_null(c.inputs);
  ck_assert_ptr_null(c.headers);
  cli_release(&c);
}
END_TEST

/* Parses run one after another in one process: getopt state is reset. */
START_TEST(test_reparse)
{
  static const char *const bad[] = {"-zq", "u", NULL};
  static const char *const good[] = {"-j", "7", "u", NULL};
  struct cli c;
  struct run r;

  run_cli(&c, bad, &r);
  ck_assert_int_eq(r.ret, 2);
  run_cli(&c, good, &r);
  ck_assert_int_eq(r.ret, 0);
  ck_assert_uint_eq(c.opts.jobs, 7);
  ck_assert_uint_eq(c.n_urls, 1);
  ck_assert(!c.quiet);
  cli_release(&c);
  run_cli(&c, good, &r);
  ck_assert_int_eq(r.ret, 0);
  ck_assert_uint_eq(c.opts.jobs, 7);
  cli_release(&c);
}
END_TEST

/* The options of the SPEC table, written out here independently. */
static const char *const spec_options[] = {
    "-i, --input FILE", "-o, --output-dir DIR",  "-j, --jobs N",
    "--per-host N",     "--layout flat|mirror",  "--retries N",
    "--retry-delay S",  "--connect-timeout S",   "--stall-timeout S",
    "--max-redirs N",   "--max-filesize BYTES",  "--refresh",
    "--overwrite",      "--content-disposition", "--limit-rate BYTES",
    "-H, --header",     "-A, --user-agent STR",  "--cacert FILE",
    "-k, --insecure",   "--report FILE",         "--dry-run",
    "-q, --quiet",      "-v, --verbose",         "-h, --help",
    "-V, --version"};

/* The help line that mentions opt followed by a blank, or NULL. */
static const char *help_line(const char *help, const char *opt, size_t *len)
{
  const char *p = help, *hit = NULL, *bol;
  size_t n = strlen(opt), count = 0;

  for (p = strstr(p, opt); p; p = strstr(p + 1, opt)) {
    if (p[n] == ' ' && p[-1] == ' ') {
      count++;
      hit = p;
    }
  }
  ck_assert_msg(count == 1, "'%s' appears %zu times in --help", opt, count);
  for (bol = hit; bol > help && bol[-1] != '\n'; bol--)
    ;
  *len = strcspn(bol, "\n");
  return bol;
}

static void check_default(const char *help, const char *opt, const char *def)
{
  char want[64];
  size_t len, wlen;
  const char *line = help_line(help, opt, &len);

  wlen = (size_t)snprintf(want, sizeof(want), " [%s]", def);
  ck_assert_msg(len >= wlen && !memcmp(line + len - wlen, want, wlen),
                "help for %s: '%.*s' does not end in '%s'", opt, (int)len,
                line, want);
}

static void check_default_num(const char *help, const char *opt, double v)
{
  char def[32];

  snprintf(def, sizeof(def), "%g", v);
  check_default(help, opt, def);
}

START_TEST(test_help)
{
  static const char *const args[] = {"--help", "--bogus", NULL};
  struct corral_opts d;
  struct cli c;
  struct run r;
  size_t i, len;
  const char *p;

  corral_opts_init(&d);
  run_cli(&c, args, &r);
  ck_assert_int_eq(r.ret, 1);
  ck_assert_str_eq(r.err, "");
  ck_assert(!strncmp(r.out, "Usage: corral [OPTIONS] [URL ...]\n", 34));
  for (i = 0; i < sizeof(spec_options) / sizeof(spec_options[0]); i++)
    help_line(r.out, spec_options[i], &len);
  for (p = r.out; *p; p += len + 1) {
    len = strcspn(p, "\n");
    ck_assert_msg(len <= 79, "help line too long: %.*s", (int)len, p);
  }
  check_default_num(r.out, "--jobs N", d.jobs);
  check_default_num(r.out, "--per-host N", d.per_host);
  check_default_num(r.out, "--retries N", d.retries);
  check_default_num(r.out, "--retry-delay S", d.retry_delay);
  check_default_num(r.out, "--connect-timeout S", d.connect_timeout);
  check_default_num(r.out, "--stall-timeout S", d.stall_timeout);
  check_default_num(r.out, "--max-redirs N", d.max_redirs);
  check_default(r.out, "--output-dir DIR", d.output_dir);
  check_default(r.out, "--user-agent STR", d.user_agent);
  check_default(r.out, "--layout flat|mirror", "flat");
  cli_release(&c);
}
END_TEST

START_TEST(test_version)
{
  static const char *const args[] = {"-V", NULL};
  struct cli c;
  struct run r;

  run_cli(&c, args, &r);
  ck_assert_int_eq(r.ret, 1);
  ck_assert_str_eq(r.err, "");
  ck_assert(!strncmp(r.out, "corral " CORRAL_VERSION "\n",
                     strlen("corral " CORRAL_VERSION "\n")));
  ck_assert_ptr_nonnull(strstr(r.out, "\nlibcurl/"));
  ck_assert_ptr_nonnull(strstr(r.out, "\nlibuv/"));
  cli_release(&c);
}
END_TEST

struct duration_case {
  const char *in;
  int ret;
  double want;
};

static const struct duration_case duration_cases[] = {
    {"0", 0, 0},
    {"5", 0, 5},
    {"0.2", 0, 0.2},
    {".5", 0, 0.5},
    {"5.", 0, 5},
    {"0.000001", 0, 1e-6},
    {"1000000000", 0, 1e9},
    {"007", 0, 7},
    {"1000000001", -1, 0},
    {"1000000000.5", -1, 0},
    {"99999999999999999999999", -1, 0},
    {"1e3", -1, 0},
    {"-1", -1, 0},
    {"+1", -1, 0},
    {" 1", -1, 0},
    {"1 ", -1, 0},
    {"", -1, 0},
    {".", -1, 0},
    {"nan", -1, 0},
    {"inf", -1, 0},
    {"0x10", -1, 0},
    {"1,5", -1, 0},
    {"1.2.3", -1, 0},
    {"5s", -1, 0},
};

START_TEST(test_parse_duration)
{
  const struct duration_case *dc = &duration_cases[_i];
  double got = -42, diff;
  int ret = cli_parse_duration(dc->in, &got);

  ck_assert_msg(ret == dc->ret, "'%s': returned %d", dc->in, ret);
  if (ret < 0) {
    ck_assert(got == -42);
    return;
  }
  diff = got - dc->want;
  ck_assert_msg(diff < 1e-12 && diff > -1e-12, "'%s': got %.17g", dc->in, got);
}
END_TEST

struct size_case {
  const char *in;
  int ret;
  uint64_t want;
};

static const struct size_case size_cases[] = {
    {"0", 0, 0},
    {"1024", 0, 1024},
    {"64k", 0, 65536},
    {"64K", 0, 65536},
    {"1M", 0, 1048576},
    {"1m", 0, 1048576},
    {"2G", 0, 2147483648u},
    {"3g", 0, 3221225472u},
    {"1t", 0, (uint64_t)1 << 40},
    {"18446744073709551615", 0, UINT64_MAX},
    {"16777215T", 0, UINT64_MAX - ((uint64_t)1 << 40) + 1},
    {"18446744073709551616", -1, 0},
    {"99999999999999999999999", -1, 0},
    {"16777216T", -1, 0},
    {"17179869184G", -1, 0},
    {"k", -1, 0},
    {"", -1, 0},
    {"1kb", -1, 0},
    {"1B", -1, 0},
    {"1KiB", -1, 0},
    {"-1", -1, 0},
    {"1.5M", -1, 0},
    {" 1", -1, 0},
    {"1 k", -1, 0},
    {"1x", -1, 0},
};

START_TEST(test_parse_size)
{
  const struct size_case sc = size_cases[_i];
  uint64_t got = 42;
  int ret = cli_parse_size(sc.in, &got);

  ck_assert_msg(ret == sc.ret, "'%s': returned %d", sc.in, ret);
  ck_assert_uint_eq(got, ret < 0 ? 42 : sc.want);
}
END_TEST

struct count_case {
  const char *in;
  unsigned min, max;
  int ret;
  unsigned want;
};

static const struct count_case count_cases[] = {
    {"1", 1, 10, 0, 1},
    {"10", 1, 10, 0, 10},
    {"01", 1, 10, 0, 1},
    {"0", 0, 10, 0, 0},
    {"0", 1, 10, -1, 0},
    {"11", 1, 10, -1, 0},
    {"", 0, 10, -1, 0},
    {"-1", 0, 10, -1, 0},
    {"+1", 0, 10, -1, 0},
    {"1x", 0, 10, -1, 0},
    {" 1", 0, 10, -1, 0},
    {"4294967295", 0, UINT_MAX, 0, UINT_MAX},
    {"4294967296", 0, UINT_MAX, -1, 0},
    {"99999999999999999999999", 0, UINT_MAX, -1, 0},
};

START_TEST(test_parse_count)
{
  const struct count_case cc = count_cases[_i];
  unsigned got = 42;
  int ret = cli_parse_count(cc.in, cc.min, cc.max, &got);

  ck_assert_msg(ret == cc.ret, "'%s': returned %d", cc.in, ret);
  ck_assert_uint_eq(got, ret < 0 ? 42 : cc.want);
}
END_TEST

struct escape_case {
  const char *in;
  const char *want;
};

static const struct escape_case escape_cases[] = {
    {NULL, "null"},
    {"", "\"\""},
    {"abc /?#[]", "\"abc /?#[]\""},
    {"a\"b", "\"a\\\"b\""},
    {"\\", "\"\\\\\""},
    {"\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\""},
    {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
    {"\xc3\xa9", "\"\xc3\xa9\""},
    {"\xc2\x80", "\"\xc2\x80\""},
    {"\xe0\xa0\x80", "\"\xe0\xa0\x80\""},
    {"\xe2\x80\xa8", "\"\xe2\x80\xa8\""},
    {"\xef\xbf\xbf", "\"\xef\xbf\xbf\""},
    {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
    {"\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""},
    {"\xff", "\"\\u00ff\""},
    {"\x80", "\"\\u0080\""},
    {"a\xc3", "\"a\\u00c3\""},
    {"\xc3(", "\"\\u00c3(\""},
    {"\xc0\xaf", "\"\\u00c0\\u00af\""},
    {"\xc1\xbf", "\"\\u00c1\\u00bf\""},
    {"\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\""},
    {"\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""},
    {"\xf0\x8f\xbf\xbf", "\"\\u00f0\\u008f\\u00bf\\u00bf\""},
    {"\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""},
    {"\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\""},
    {"\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\""},
    {"\xf0\x9f\x98\x80\xff\xc3\xa9", "\"\xf0\x9f\x98\x80\\u00ff\xc3\xa9\""},
};

START_TEST(test_escape)
{
  const struct escape_case *ec = &escape_cases[_i];
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);

  ck_assert_ptr_nonnull(f);
  report_put_string(f, ec->in);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_str_eq(buf, ec->want);
  free(buf);
}
END_TEST

static const char check_py[] =
    "import json, sys\n"
    "def show(v):\n"
    "    if v is None: return 'null'\n"
    "    if isinstance(v, str):\n"
    "        if all(32 <= ord(c) < 127 for c in v): return 's:' + v\n"
    "        return 'x:' + ','.join('%x' % ord(c) for c in v)\n"
    "    return str(v)\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    for raw in f:\n"
    "        assert raw.endswith(b'\\n')\n"
    "        o = json.loads(raw)\n"
    "        print(' '.join(k + '=' + show(v) for k, v in o.items()))\n";

struct tmpdir {
  char dir[64];
  char report[96];
  char script[96];
};

static void tmpdir_make(struct tmpdir *t)
{
  FILE *f;

  snprintf(t->dir, sizeof(t->dir), "/tmp/test_cli.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(t->dir));
  snprintf(t->report, sizeof(t->report), "%s/report.jsonl", t->dir);
  snprintf(t->script, sizeof(t->script), "%s/check.py", t->dir);
  f = fopen(t->script, "w");
  ck_assert_ptr_nonnull(f);
  fputs(check_py, f);
  ck_assert_int_eq(fclose(f), 0);
}

static void tmpdir_remove(struct tmpdir *t)
{
  unlink(t->report);
  unlink(t->script);
  rmdir(t->dir);
}

static const struct corral_result results[] = {
    {.url = "h\"\\\n\t\x01\x7f/",
     .final_url = "\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8",
     .path = "a\xff"
             "b\xc3(\xed\xa0\x80",
     .source = "\xf0\x9f\x98",
     .line = 7,
     .status = CORRAL_STATUS_FAILED,
     .err = CORRAL_EHTTP,
     .http_status = 503,
     .bytes = 12345678901234u,
     .attempts = 4,
     .ms = 1500,
     .msg = "\xc0\xafx"},
    {.url = "https://x/a?b=c",
     .key = "https://x/a?b=c",
     .path = "a",
     .status = CORRAL_STATUS_OK,
     .http_status = 200,
     .attempts = 1},
    {.url = "http://s/",
     .key = "http://s/",
     .path = "index.html",
     .source = "list.txt",
     .line = 3,
     .status = CORRAL_STATUS_FAILED,
     .err = CORRAL_ESHA256,
     .http_status = 200,
     .bytes = 5,
     .attempts = 1},
    {.url = "http://S/",
     .key = "http://s/",
     .final_url = "http://s/",
     .path = "index.1.html",
     .status = CORRAL_STATUS_DUPLICATE,
     .http_status = 200,
     .bytes = 5,
     .attempts = 1},
    {.url = "http://k/",
     .key = "http://k/",
     .path = "k",
     .status = CORRAL_STATUS_SKIPPED},
};

START_TEST(test_report_python)
{
  static const char *const want[] = {
      "url=x:68,22,5c,a,9,1,7f,2f key=null final_url=x:e9,1f600,2028 "
      "path=x:61,ff,62,c3,28,ed,a0,80 status=s:failed http_status=503 "
      "bytes=12345678901234 attempts=4 error=x:c0,af,78 ms=1500 line=7 "
      "source=x:f0,9f,98\n",
      "url=s:https://x/a?b=c key=s:https://x/a?b=c final_url=null path=s:a "
      "status=s:ok http_status=200 bytes=0 attempts=1 error=null ms=0 line=0 "
      "source=null\n",
      NULL, /* filled in: uses corral_strerror() */
      "url=s:http://S/ key=s:http://s/ final_url=s:http://s/ "
      "path=s:index.1.html status=s:duplicate http_status=200 bytes=5 "
      "attempts=1 error=null ms=0 line=0 source=null\n",
      "url=s:http://k/ key=s:http://k/ final_url=null path=s:k "
      "status=s:skipped http_status=0 bytes=0 attempts=0 error=null ms=0 "
      "line=0 source=null\n"};
  char sha_line[512], cmd[256], got[1024];
  struct report *rep = NULL;
  struct tmpdir t;
  size_t i;
  FILE *p;

  snprintf(sha_line, sizeof(sha_line),
           "url=s:http://s/ key=s:http://s/ final_url=null path=s:index.html"
           " status=s:failed http_status=200 bytes=5 attempts=1 error=s:%s"
           " ms=0 line=3 source=s:list.txt\n",
           corral_strerror(CORRAL_ESHA256));
  tmpdir_make(&t);
  ck_assert_int_eq(report_open(&rep, t.report), 0);
  for (i = 0; i < sizeof(results) / sizeof(results[0]); i++)
    ck_assert_int_eq(report_write(rep, &results[i]), 0);
  ck_assert_int_eq(report_close(&rep), 0);
  ck_assert_ptr_null(rep);
  snprintf(cmd, sizeof(cmd), "python3 %s %s 2>&1", t.script, t.report);
  p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    ck_assert_ptr_nonnull(fgets(got, sizeof(got), p));
    ck_assert_str_eq(got, want[i] ? want[i] : sha_line);
  }
  ck_assert_ptr_null(fgets(got, sizeof(got), p));
  ck_assert_int_eq(pclose(p), 0);
  tmpdir_remove(&t);
}
END_TEST

/* Each line is on disk as soon as report_write returns. */
START_TEST(test_report_flushed)
{
  struct report *rep = NULL;
  struct tmpdir t;
  char buf[1024];
  size_t n;
  FILE *f;

  tmpdir_make(&t);
  ck_assert_int_eq(report_open(&rep, t.report), 0);
  ck_assert_int_eq(report_write(rep, &results[1]), 0);
  f = fopen(t.report, "r");
  ck_assert_ptr_nonnull(f);
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  ck_assert_str_eq(buf, "{\"url\":\"https://x/a?b=c\",\"key\":"
                        "\"https://x/a?b=c\",\"final_url\":null,"
                        "\"path\":\"a\",\"status\":\"ok\",\"http_status\":"
                        "200,\"bytes\":0,\"attempts\":1,\"error\":null,"
                        "\"ms\":0,\"line\":0,\"source\":null}\n");
  ck_assert_int_eq(report_close(&rep), 0);
  tmpdir_remove(&t);
}
END_TEST

START_TEST(test_report_errors)
{
  struct report *rep = (struct report *)&rep;

  ck_assert_int_eq(report_open(&rep, "/nonexistent-corral-dir/r.jsonl"),
                   -ENOENT);
  ck_assert_ptr_null(rep);
  ck_assert_int_eq(report_close(&rep), 0);
  ck_assert_int_eq(report_close(NULL), 0);
  ck_assert_int_eq(report_open(&rep, "/dev/full"), 0);
  ck_assert_int_eq(report_write(rep, &results[0]), -ENOSPC);
  report_close(&rep);
  ck_assert_ptr_null(rep);
}
END_TEST

static Suite *cli_suite(void)
{
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("argv");

  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_all_options);
  tcase_add_test(tc, test_argv_forms);
  tcase_add_loop_test(tc, test_bad_usage, 0,
                      sizeof(bad_cases) / sizeof(bad_cases[0]));
  tcase_add_test(tc, test_reparse);
  tcase_add_test(tc, test_help);
  tcase_add_test(tc, test_version);
  suite_add_tcase(s, tc);
  tc = tcase_create("numbers");
  tcase_add_loop_test(tc, test_parse_duration, 0,
                      sizeof(duration_cases) / sizeof(duration_cases[0]));
  tcase_add_loop_test(tc, test_parse_size, 0,
                      sizeof(size_cases) / sizeof(size_cases[0]));
  tcase_add_loop_test(tc, test_parse_count, 0,
                      sizeof(count_cases) / sizeof(count_cases[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("report");
  tcase_add_loop_test(tc, test_escape, 0,
                      sizeof(escape_cases) / sizeof(escape_cases[0]));
  tcase_add_test(tc, test_report_python);
  tcase_add_test(tc, test_report_flushed);
  tcase_add_test(tc, test_report_errors);
  tcase_set_timeout(tc, 30);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(cli_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
