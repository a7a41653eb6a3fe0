/*
 * Tests for listfile: a table of input lines with the entry or the reason
 * each must give, then the splitter fed the same streams in every chunk
 * size, with over-long lines, CRLF and a last line without '\n'.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listfile.h"

#define HEX_LO                                                                \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_UP                                                                \
  "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define HEX_MIX                                                               \
  "0123456789abcDEF0123456789ABCdef0123456789abcdef0123456789ABCDEF"

struct line_case {
  const char *in;
  size_t len; /* 0: strlen(in) */
  int ret;
  const char *url, *out, *sha256, *why;
};

static const struct line_case line_cases[] = {
    {"http://a/x", 0, 1, "http://a/x", NULL, NULL, NULL},
    {"http://a/x\r", 0, 1, "http://a/x", NULL, NULL, NULL},
    {"  \thttp://a/x \t ", 0, 1, "http://a/x", NULL, NULL, NULL},
    {" http://a/x out=f \r", 0, 1, "http://a/x", "f", NULL, NULL},
    {"", 0, 0, NULL, NULL, NULL, NULL},
    {"   \t  ", 0, 0, NULL, NULL, NULL, NULL},
    {"\r", 0, 0, NULL, NULL, NULL, NULL},
    {"# comment", 0, 0, NULL, NULL, NULL, NULL},
    {"   # after spaces", 0, 0, NULL, NULL, NULL, NULL},
    {"\t#http://a/x out=/abs", 0, 0, NULL, NULL, NULL, NULL},
    {"http://a/#frag", 0, 1, "http://a/#frag", NULL, NULL, NULL},
    {"http://a/x?q=1&r=2", 0, 1, "http://a/x?q=1&r=2", NULL, NULL, NULL},
    {"http://a/x out=dir/f.bin", 0, 1, "http://a/x", "dir/f.bin", NULL, NULL},
    {"http://a/x\tout=f\tsha256=" HEX_UP, 0, 1, "http://a/x", "f", HEX_LO,
     NULL},
    {"http://a/x sha256=" HEX_LO "  out=y", 0, 1, "http://a/x", "y", HEX_LO,
     NULL},
    {"http://a/x sha256=" HEX_MIX, 0, 1, "http://a/x", NULL, HEX_LO, NULL},
    {"http://a/x sha256=abc", 0, -1, NULL, NULL, NULL,
     "bad sha256 (want 64 hex digits)"},
    {"http://a/x sha256=" HEX_LO "0", 0, -1, NULL, NULL, NULL,
     "bad sha256 (want 64 hex digits)"},
    {"http://a/x sha256=123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdeg",
     0, -1, NULL, NULL, NULL, "bad sha256 (want 64 hex digits)"},
    {"http://a/x sha256=", 0, -1, NULL, NULL, NULL,
     "bad sha256 (want 64 hex digits)"},
    {"http://a/x foo=bar", 0, -1, NULL, NULL, NULL, "unknown key 'foo'"},
    {"http://a/x OUT=y", 0, -1, NULL, NULL, NULL, "unknown key 'OUT'"},
    {"http://a/x =y", 0, -1, NULL, NULL, NULL, "unknown key ''"},
    {"http://a/x \x01\x7f=1", 0, -1, NULL, NULL, NULL, "unknown key '?\?'"},
    {"http://a/x kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=1", 0, -1, NULL,
     NULL, NULL, "unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk'"},
    {"http://a/x out=/abs", 0, -1, NULL, NULL, NULL, "out= is absolute"},
    {"http://a/x out=//abs", 0, -1, NULL, NULL, NULL, "out= is absolute"},
    {"http://a/x out=../x", 0, -1, NULL, NULL, NULL,
     "out= climbs out of the output dir"},
    {"http://a/x out=..", 0, -1, NULL, NULL, NULL,
     "out= climbs out of the output dir"},
    {"http://a/x out=a/../../x", 0, -1, NULL, NULL, NULL,
     "out= climbs out of the output dir"},
    {"http://a/x out=./../x", 0, -1, NULL, NULL, NULL,
     "out= climbs out of the output dir"},
    {"http://a/x out=a/..", 0, -1, NULL, NULL, NULL, "out= names no file"},
    {"http://a/x out=a/./..", 0, -1, NULL, NULL, NULL, "out= names no file"},
    {"http://a/x out=.", 0, -1, NULL, NULL, NULL, "out= names no file"},
    {"http://a/x out=dir/", 0, -1, NULL, NULL, NULL, "out= names no file"},
    {"http://a/x out=a/.", 0, -1, NULL, NULL, NULL, "out= names no file"},
    {"http://a/x out=", 0, -1, NULL, NULL, NULL, "out= is empty"},
    {"http://a/x out=a/../b", 0, 1, "http://a/x", "a/../b", NULL, NULL},
    {"http://a/x out=./a//b", 0, 1, "http://a/x", "./a//b", NULL, NULL},
    {"http://a/x out=...", 0, 1, "http://a/x", "...", NULL, NULL},
    {"http://a/x out=..a/.b", 0, 1, "http://a/x", "..a/.b", NULL, NULL},
    {"http://a/x out=%2e%2e/x", 0, 1, "http://a/x", "%2e%2e/x", NULL, NULL},
    {"http://a/x out=a=b", 0, 1, "http://a/x", "a=b", NULL, NULL},
    {"http://a/x out=a out=b", 0, -1, NULL, NULL, NULL, "duplicate key 'out'"},
    {"http://a/x sha256=" HEX_LO " sha256=" HEX_LO, 0, -1, NULL, NULL, NULL,
     "duplicate key 'sha256'"},
    {"http://a/x bare", 0, -1, NULL, NULL, NULL,
     "field 'bare' is not key=value (a space in a URL is written %20)"},
    {"http://a/x out=f extra", 0, -1, NULL, NULL, NULL,
     "field 'extra' is not key=value (a space in a URL is written %20)"},
    /* The longest reason still fits LISTFILE_WHY_MAX; the field is cut. */
    {"http://exa mple-0123456789012345678901234567890123456789", 0, -1, NULL,
     NULL, NULL,
     "field 'mple-012345678901234567890123456' is not key=value (a space in a "
     "URL is written %20)"},
    {"http://a/\0x", 11, -1, NULL, NULL, NULL, "NUL byte in line"},
    {"\0", 1, -1, NULL, NULL, NULL, "NUL byte in line"},
};

static void check_str(const char *got, const char *want, const char *what,
                      int i)
{
  if (!want)
    ck_assert_msg(!got, "row %d: %s should be NULL, is '%s'", i, what, got);
  else
    ck_assert_msg(got && !strcmp(got, want), "row %d: %s is '%s', want '%s'",
                  i, what, got ? got : "(null)", want);
}

START_TEST(test_parse_table)
{
  const struct line_case *c = &line_cases[_i];
  size_t len = c->len ? c->len : strlen(c->in);
  char *buf = malloc(len + 1);
  char why[LISTFILE_WHY_MAX] = "untouched";
  struct listfile_entry e;
  int ret;

  ck_assert_ptr_nonnull(buf);
  memcpy(buf, c->in, len);
  ret = listfile_parse_line(buf, len, &e, why, sizeof(why));
  ck_assert_msg(ret == c->ret, "row %d: returned %d, want %d (%s)", _i, ret,
                c->ret, why);
  check_str(e.url, c->url, "url", _i);
  check_str(e.out, c->out, "out", _i);
  check_str(e.sha256, c->sha256, "sha256", _i);
  if (c->ret < 0)
    check_str(why, c->why, "why", _i);
  else
    ck_assert_str_eq(why, "untouched");
  free(buf);
}
END_TEST

/* A line of n bytes of 'u' after "http://", plus an optional suffix. */
static char *long_line(size_t n, const char *suffix, size_t *len)
{
  size_t slen = strlen(suffix);
  char *buf = malloc(n + slen + 1);

  ck_assert_ptr_nonnull(buf);
  memcpy(buf, "http://", 7);
  memset(buf + 7, 'u', n - 7);
  memcpy(buf + n, suffix, slen);
  *len = n + slen;
  return buf;
}

START_TEST(test_parse_length_limit)
{
  struct listfile_entry e;
  char why[LISTFILE_WHY_MAX];
  size_t len;
  char *buf = long_line(LISTFILE_MAX_LINE, "", &len);

  ck_assert_int_eq(listfile_parse_line(buf, len, &e, why, sizeof(why)), 1);
  ck_assert_uint_eq(strlen(e.url), LISTFILE_MAX_LINE);
  free(buf);

  buf = long_line(LISTFILE_MAX_LINE, "\r", &len);
  ck_assert_int_eq(listfile_parse_line(buf, len, &e, why, sizeof(why)), 1);
  ck_assert_uint_eq(strlen(e.url), LISTFILE_MAX_LINE);
  free(buf);

  buf = long_line(LISTFILE_MAX_LINE + 1, "", &len);
  ck_assert_int_eq(listfile_parse_line(buf, len, &e, why, sizeof(why)), -1);
  ck_assert_str_eq(why, LISTFILE_TOO_LONG);
  ck_assert_ptr_null(e.url);
  free(buf);
}
END_TEST

START_TEST(test_parse_why_buffer)
{
  char line[] = "http://a/x foo=1";
  char small[8];
  struct listfile_entry e;

  ck_assert_int_eq(listfile_parse_line(line, strlen(line), &e, NULL, 0), -1);
  memcpy(line, "http://a/x foo=1", sizeof(line));
  ck_assert_int_eq(
      listfile_parse_line(line, strlen(line), &e, small, sizeof(small)), -1);
  ck_assert_str_eq(small, "unknown");
}
END_TEST

/* Lines collected from the splitter. */
#define MAX_LINES 16
struct collected {
  size_t n;
  char *text[MAX_LINES];
  size_t len[MAX_LINES];
  unsigned lineno[MAX_LINES];
  bool too_long[MAX_LINES];
};

static void on_line(char *line, size_t len, unsigned lineno, bool too_long,
                    void *data)
{
  struct collected *c = data;

  ck_assert_uint_lt(c->n, MAX_LINES);
  ck_assert_msg(line[len] == '\0', "line %u not NUL-terminated", lineno);
  c->text[c->n] = malloc(len + 1);
  ck_assert_ptr_nonnull(c->text[c->n]);
  memcpy(c->text[c->n], line, len + 1);
  c->len[c->n] = len;
  c->lineno[c->n] = lineno;
  c->too_long[c->n] = too_long;
  c->n++;
}

static void collected_release(struct collected *c)
{
  size_t i;

  for (i = 0; i < c->n; i++)
    free(c->text[i]);
  c->n = 0;
}

/* Splits in chunks of at most chunk bytes. */
static void split(const char *in, size_t len, size_t chunk,
                  struct collected *c)
{
  struct listfile_splitter s;
  size_t off = 0;

  memset(c, 0, sizeof(*c));
  listfile_splitter_init(&s, on_line, c);
  while (off < len) {
    size_t n = len - off < chunk ? len - off : chunk;
    ck_assert_int_eq(listfile_splitter_feed(&s, in + off, n), 0);
    off += n;
  }
  listfile_splitter_finish(&s);
  ck_assert_uint_le(s.cap, LISTFILE_MAX_LINE + 2);
  listfile_splitter_release(&s);
}

struct split_case {
  const char *in;
  size_t n;
  const char *lines[6];
};

static const struct split_case split_cases[] = {
    {"", 0, {NULL}},
    {"\n", 1, {""}},
    {"\r\n", 1, {""}},
    {"x", 1, {"x"}},
    {"x\n", 1, {"x"}},
    {"a\r\nb\n\n# c\nlast", 5, {"a", "b", "", "# c", "last"}},
    {"a\rb\r\n\r\r\n", 2, {"a\rb", "\r"}},
    {"http://a/1\nhttp://a/2 out=x\r\n",
     2,
     {"http://a/1", "http://a/2 out=x"}},
};

START_TEST(test_split_chunks)
{
  const struct split_case *sc = &split_cases[_i];
  size_t len = strlen(sc->in);
  size_t chunk, i;
  struct collected c;

  for (chunk = 1; chunk <= len + 1; chunk++) {
    split(sc->in, len, chunk, &c);
    ck_assert_msg(c.n == sc->n, "case %d chunk %zu: %zu lines, want %zu", _i,
                  chunk, c.n, sc->n);
    for (i = 0; i < c.n; i++) {
      ck_assert_str_eq(c.text[i], sc->lines[i]);
      ck_assert_uint_eq(c.lineno[i], i + 1);
      ck_assert(!c.too_long[i]);
    }
    collected_release(&c);
  }
}
END_TEST

/* "first\n" + n bytes of 'x' + end + "after\n" */
static char *big_input(size_t n, const char *end, size_t *len)
{
  size_t elen = strlen(end);
  char *buf = malloc(6 + n + elen + 6);

  ck_assert_ptr_nonnull(buf);
  memcpy(buf, "first\n", 6);
  memset(buf + 6, 'x', n);
  memcpy(buf + 6 + n, end, elen);
  memcpy(buf + 6 + n + elen, "after\n", 6);
  *len = 6 + n + elen + 6;
  return buf;
}

static bool all_x(const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (s[i] != 'x')
      return false;
  return true;
}

struct big_case {
  size_t n;
  const char *end;
  bool too_long;
  size_t got_len;
};

static const struct big_case big_cases[] = {
    {70 * 1024, "\n", true, LISTFILE_MAX_LINE},
    {70 * 1024, "\r\n", true, LISTFILE_MAX_LINE},
    {LISTFILE_MAX_LINE + 1, "\n", true, LISTFILE_MAX_LINE},
    {LISTFILE_MAX_LINE + 1, "\r\n", true, LISTFILE_MAX_LINE},
    {LISTFILE_MAX_LINE, "\n", false, LISTFILE_MAX_LINE},
    {LISTFILE_MAX_LINE, "\r\n", false, LISTFILE_MAX_LINE},
    {LISTFILE_MAX_LINE - 1, "\r\n", false, LISTFILE_MAX_LINE - 1},
    {300 * 1024, "\n", true, LISTFILE_MAX_LINE},
};

START_TEST(test_split_long_line)
{
  static const size_t chunks[] = {1, 4096, 65537, 1 << 20};
  const struct big_case *bc = &big_cases[_i];
  size_t len, k;
  char *in = big_input(bc->n, bc->end, &len);
  struct collected c;

  for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
    split(in, len, chunks[k], &c);
    ck_assert_uint_eq(c.n, 3);
    ck_assert_str_eq(c.text[0], "first");
    ck_assert(c.too_long[1] == bc->too_long);
    ck_assert_uint_eq(c.len[1], bc->got_len);
    ck_assert(all_x(c.text[1], c.len[1]));
    ck_assert_uint_eq(c.lineno[1], 2);
    ck_assert_str_eq(c.text[2], "after");
    ck_assert_uint_eq(c.lineno[2], 3);
    ck_assert(!c.too_long[0] && !c.too_long[2]);
    collected_release(&c);
  }
  free(in);
}
END_TEST

/* An over-long line is reported before its '\n' arrives, and only once. */
START_TEST(test_split_long_early)
{
  struct listfile_splitter s;
  struct collected c;
  char chunk[4096];
  int i;

  memset(&c, 0, sizeof(c));
  memset(chunk, 'y', sizeof(chunk));
  listfile_splitter_init(&s, on_line, &c);
  for (i = 0; i < 16; i++)
    ck_assert_int_eq(listfile_splitter_feed(&s, chunk, sizeof(chunk)), 0);
  ck_assert_uint_eq(c.n, 0);
  ck_assert_int_eq(listfile_splitter_feed(&s, chunk, 2), 0);
  ck_assert_uint_eq(c.n, 1);
  ck_assert(c.too_long[0]);
  for (i = 0; i < 64; i++)
    ck_assert_int_eq(listfile_splitter_feed(&s, chunk, sizeof(chunk)), 0);
  listfile_splitter_finish(&s);
  ck_assert_uint_eq(c.n, 1);
  ck_assert_uint_le(s.cap, LISTFILE_MAX_LINE + 2);
  ck_assert_int_eq(listfile_splitter_feed(&s, "z\n", 2), 0);
  listfile_splitter_finish(&s);
  ck_assert_uint_eq(c.n, 2);
  ck_assert_str_eq(c.text[1], "z");
  ck_assert_uint_eq(c.lineno[1], 2);
  listfile_splitter_release(&s);
  collected_release(&c);
}
END_TEST

/* Splitter output goes straight into the parser (the buffer is writable). */
struct parsed {
  int ok, blank, bad;
  char last_out[32];
};

static void on_parse(char *line, size_t len, unsigned lineno, bool too_long,
                     void *data)
{
  struct parsed *p = data;
  struct listfile_entry e;
  char why[LISTFILE_WHY_MAX];
  int r;

  (void)lineno;
  ck_assert(!too_long);
  r = listfile_parse_line(line, len, &e, why, sizeof(why));
  if (r > 0) {
    p->ok++;
    if (e.out)
      snprintf(p->last_out, sizeof(p->last_out), "%s", e.out);
  }
  else if (r == 0)
    p->blank++;
  else
    p->bad++;
}

/* Found by fuzzing: a '\r' just past the limit is not the line's end. */
START_TEST(test_split_cr_past_the_limit)
{
  size_t n = LISTFILE_MAX_LINE + sizeof("\rz\nnext\n") - 1;
  char *in = malloc(n);
  struct collected c = {0};

  ck_assert_ptr_nonnull(in);
  memset(in, 'a', LISTFILE_MAX_LINE);
  memcpy(in + LISTFILE_MAX_LINE, "\rz\nnext\n", n - LISTFILE_MAX_LINE);
  split(in, n, n, &c);
  ck_assert_uint_eq(c.n, 2);
  ck_assert(c.too_long[0]);
  ck_assert(!c.too_long[1]);
  ck_assert_str_eq(c.text[1], "next");
  collected_release(&c);
  free(in);
}
END_TEST

START_TEST(test_split_then_parse)
{
  static const char in[] = "# list\r\n"
                           "http://a/1 out=one\r\n"
                           "\r\n"
                           "  http://a/2\tsha256=" HEX_UP "\r\n"
                           "http://a/3 out=../x\r\n"
                           "http://a/4 out=last";
  struct listfile_splitter s;
  struct parsed p;

  memset(&p, 0, sizeof(p));
  listfile_splitter_init(&s, on_parse, &p);
  ck_assert_int_eq(listfile_splitter_feed(&s, in, sizeof(in) - 1), 0);
  listfile_splitter_finish(&s);
  listfile_splitter_release(&s);
  ck_assert_int_eq(p.ok, 3);
  ck_assert_int_eq(p.blank, 2);
  ck_assert_int_eq(p.bad, 1);
  ck_assert_str_eq(p.last_out, "last");
}
END_TEST

START_TEST(test_split_release_unused)
{
  struct listfile_splitter s;

  listfile_splitter_init(&s, on_line, NULL);
  listfile_splitter_finish(&s);
  listfile_splitter_release(&s);
  listfile_splitter_release(&s);
  ck_assert_ptr_null(s.buf);
}
END_TEST

static Suite *listfile_suite(void)
{
  Suite *s = suite_create("listfile");
  TCase *tc = tcase_create("parse");

  tcase_add_loop_test(tc, test_parse_table, 0,
                      sizeof(line_cases) / sizeof(line_cases[0]));
  tcase_add_test(tc, test_parse_length_limit);
  tcase_add_test(tc, test_parse_why_buffer);
  suite_add_tcase(s, tc);
  tc = tcase_create("split");
  tcase_add_loop_test(tc, test_split_chunks, 0,
                      sizeof(split_cases) / sizeof(split_cases[0]));
  tcase_add_loop_test(tc, test_split_long_line, 0,
                      sizeof(big_cases) / sizeof(big_cases[0]));
  tcase_add_test(tc, test_split_long_early);
  tcase_add_test(tc, test_split_then_parse);
  tcase_add_test(tc, test_split_cr_past_the_limit);
  tcase_add_test(tc, test_split_release_unused);
  tcase_set_timeout(tc, 30);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(listfile_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
