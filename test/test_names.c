/*
 * Tests for names: tables of {input, expected} for every function, hostile
 * inputs included, plus generated over-long names checked for length,
 * kept extension and cut points.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define N_ROWS(t) ((int)(sizeof(t) / sizeof((t)[0])))

struct row {
  const char *in, *want;
};

static const struct row flat_rows[] = {
    {"http://h/a/b.txt", "b.txt"},
    {"http://h/", "index.html"},
    {"http://h", "index.html"},
    {"http://h/dir/", "index.html"},
    {"http://h:8080/a/b%20c/file.tar.gz?x=1", "file.tar.gz"},
    {"http://h/a%2Fb", "a%2Fb"},
    {"http://h/%2e%2e", "%2E."},
    {"http://h/..", "%2E."},
    {"http://h/.", "%2E"},
    {"http://h/%2E", "%2E"},
    {"http://h/a%00b", "a%00b"},
    {"http://h/x%0ay", "x%0Ay"},
    {"http://h/%7F%1b", "%7F%1B"},
    {"http://h/%E2%82%AC.txt", "\xE2\x82\xAC.txt"},
    {"http://h/100%25", "100%"},
    {"http://h/bad%zz", "bad%zz"},
    {"http://h/%", "%"},
    {"http://h/a%2", "a%2"},
    {"http://h/a\\b", "a\\b"},
    {"http://h/.corral", "%2Ecorral"},
    {"http://u:p@h/f#frag", "f"},
    {"http://h/a?b/c", "a"},
    {"http://h/?x=1", "index.html"},
};

static const struct row mirror_rows[] = {
    {"http://h/a/b.txt", "h/a/b.txt"},
    {"http://h:8080/a/b%20c/file.tar.gz?x=1", "h_8080/a/b c/file.tar.gz?x=1"},
    {"http://h/", "h/index.html"},
    {"http://h", "h/index.html"},
    {"http://h/a/", "h/a/index.html"},
    {"http://h/?q=1", "h/index.html?q=1"},
    {"http://h/a%2Fb/c", "h/a%2Fb/c"},
    {"http://h/%2e%2e/x", "h/%2E./x"},
    {"http://h/../x", "h/%2E./x"},
    {"http://h/./x", "h/%2E/x"},
    {"http://h/a//b", "h/a/b"},
    {"http://h/a?x=/etc/passwd", "h/a?x=%2Fetc%2Fpasswd"},
    {"http://h/a?x=%2F%26", "h/a?x=%2F%26"},
    {"http://h/a?x=%0a\x01", "h/a?x=%0a%01"},
    {"http://user:pw@h:81/f", "h_81/f"},
    {"http://[::1]:8080/f", "[::1]_8080/f"},
    {"http://[::1]/f", "[::1]/f"},
    {"http:///f", "_/f"},
    {"http://h/a%0Ab/c", "h/a%0Ab/c"},
    {"http://h/.corral/x", "h/%2Ecorral/x"},
    {"http://h/%00", "h/%00"},
    {"http://h/a?", "h/a?"},
    {"http://h/a#x/y", "h/a"},
};

struct num_row {
  const char *in;
  unsigned n;
  const char *want;
};

static const struct num_row num_rows[] = {
    {"a/b.tar.gz", 1, "a/b.tar.1.gz"},
    {"data", 1, "data.1"},
    {"data", 12, "data.12"},
    {".hidden", 1, ".hidden.1"},
    {"x.", 1, "x.1."},
    {".a.b", 1, ".a.1.b"},
    {"dir.d/file", 2, "dir.d/file.2"},
    {"a.b/.x", 3, "a.b/.x.3"},
    {"h/index.html?x=1", 1, "h/index.1.html?x=1"},
    {"index.html", 4294967295u, "index.4294967295.html"},
};

static const struct row cd_rows[] = {
    {"attachment; filename=\"report.pdf\"", "report.pdf"},
    {"attachment; filename=plain.txt", "plain.txt"},
    {"attachment; filename=plain.txt  ; size=3", "plain.txt"},
    {"attachment;filename=\"x.txt\"", "x.txt"},
    {"attachment; FILENAME=\"Up.TXT\"", "Up.TXT"},
    {"attachment; filename=\"../../etc/passwd\"", "passwd"},
    {"attachment; filename=\"..\\\\..\\\\win.ini\"", "win.ini"},
    /* Single backslashes are quoted-string escapes: "\." is ".". */
    {"attachment; filename=\"..\\..\\win.ini\"", "....win.ini"},
    {"attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
     "\xE2\x82\xAC rates.txt"},
    {"attachment; filename=\"fb.txt\"; filename*=UTF-8''real.txt", "real.txt"},
    {"attachment; filename*=utf-8'en'real.txt; filename=\"fb.txt\"",
     "real.txt"},
    {"attachment; filename*=KOI8-R''x; filename=\"fb.txt\"", "fb.txt"},
    {"attachment; filename*=broken; filename=\"fb.txt\"", "fb.txt"},
    {"attachment; filename*=iso-8859-1'en'%A3%20rates", "\xC2\xA3 rates"},
    {"attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd", "passwd"},
    {"attachment; filename*=UTF-8''a%0Ab%00c", "a%0Ab%00c"},
    {"attachment; filename*=UTF-8''%2e%2e", NULL},
    {"attachment; filename*=UTF-8''", NULL},
    {"attachment; filename=\"\"", NULL},
    {"attachment; filename=\"..\"", NULL},
    {"attachment; filename=\".\"", NULL},
    {"attachment; filename=\"dir/\"", NULL},
    {"attachment", NULL},
    {"", NULL},
    {"inline; name=\"x\"", NULL},
    {"attachment; filename=\"a\\\"b.txt\"", "a\"b.txt"},
    {"attachment; filename=\"a;b.txt\"", "a;b.txt"},
    {"attachment; filename=\"tab\there\"", "tab%09here"},
    {"attachment; filename=\".corral\"", "%2Ecorral"},
    {"attachment; filename=\"unterminated", "unterminated"},
    {"attachment; filename=\"first\"; filename=\"second\"", "first"},
};

struct out_row {
  const char *in;
  int ok; /* 0 accepted, -1 refused */
  const char *clean;
};

static const struct out_row out_rows[] = {
    {"a.txt", 0, "a.txt"},
    {"dir/a.txt", 0, "dir/a.txt"},
    {"./a.txt", 0, "a.txt"},
    {"a//b", 0, "a/b"},
    {"a/./b", 0, "a/b"},
    {"x/./y/./z", 0, "x/y/z"},
    {"a/.corral", 0, "a/.corral"},
    {"...", 0, "..."},
    {"..a/b..", 0, "..a/b.."},
    {"a\\..\\b", 0, "a\\..\\b"},
    {"", -1, NULL},
    {"/etc/passwd", -1, NULL},
    {"../x", -1, NULL},
    {"a/../b", -1, NULL},
    {"a/..", -1, NULL},
    {"..", -1, NULL},
    {"a\nb", -1, NULL},
    {"a\x7f", -1, NULL},
    {"a\tb", -1, NULL},
    {"dir/", -1, NULL},
    {".", -1, NULL},
    {"a/.", -1, NULL},
    {".corral/x", -1, NULL},
    {"./.corral/x", -1, NULL},
};

static void ck_name(const char *in, const char *got, const char *want)
{
  ck_assert_msg((!got && !want) || (got && want && !strcmp(got, want)),
                "input '%s': got '%s', want '%s'", in, got ? got : "(null)",
                want ? want : "(null)");
}

START_TEST(test_flat)
{
  char *got = names_flat(flat_rows[_i].in);

  ck_name(flat_rows[_i].in, got, flat_rows[_i].want);
  free(got);
}
END_TEST

START_TEST(test_mirror)
{
  char *got = names_mirror(mirror_rows[_i].in);

  ck_name(mirror_rows[_i].in, got, mirror_rows[_i].want);
  free(got);
}
END_TEST

START_TEST(test_numbered)
{
  char *got = names_numbered(num_rows[_i].in, num_rows[_i].n);

  ck_name(num_rows[_i].in, got, num_rows[_i].want);
  free(got);
}
END_TEST

START_TEST(test_disposition)
{
  char *got = names_from_disposition(cd_rows[_i].in);

  ck_name(cd_rows[_i].in, got, cd_rows[_i].want);
  free(got);
}
END_TEST

START_TEST(test_check_out)
{
  const struct out_row *r = &out_rows[_i];
  const char *why = NULL;
  char *clean;

  ck_assert_int_eq(names_check_out(r->in, &why), r->ok);
  if (r->ok) {
    ck_assert_ptr_nonnull(why);
    return;
  }
  ck_assert_ptr_null(why);
  clean = names_clean(r->in);
  ck_name(r->in, clean, r->clean);
  free(clean);
}
END_TEST

/* Returns a malloc'd string: prefix, then unit repeated n times, then tail. */
static char *repeat(const char *prefix, const char *unit, size_t n,
                    const char *tail)
{
  size_t i, lp = strlen(prefix), lu = strlen(unit), lt = strlen(tail);
  char *s = malloc(lp + lu * n + lt + 1);

  ck_assert_ptr_nonnull(s);
  memcpy(s, prefix, lp);
  for (i = 0; i < n; i++)
    memcpy(s + lp + i * lu, unit, lu);
  memcpy(s + lp + n * lu, tail, lt + 1);
  return s;
}

START_TEST(test_long_keeps_extension)
{
  char *key = repeat("http://h/", "a", 300, ".tar.gz");
  char *got = names_flat(key);
  size_t n = strlen(got);

  ck_assert_uint_eq(n, NAMES_SEG_MAX);
  ck_assert_str_eq(got + n - 3, ".gz");
  ck_assert_uint_eq(strspn(got, "a"), NAMES_SEG_MAX - 3);
  free(got);
  free(key);
}
END_TEST

START_TEST(test_long_drops_long_extension)
{
  char *key = repeat("http://h/", "a", 300,
                     ".bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  char *got = names_flat(key);

  ck_assert_uint_eq(strlen(got), NAMES_SEG_MAX);
  ck_assert_uint_eq(strspn(got, "a"), NAMES_SEG_MAX);
  free(got);
  free(key);
}
END_TEST

START_TEST(test_long_escapes_not_split)
{
  char *key = repeat("http://h/", "%2F", 300, "");
  char *got = names_flat(key);
  size_t i, n = strlen(got);

  ck_assert_uint_le(n, NAMES_SEG_MAX);
  ck_assert_uint_ge(n, NAMES_SEG_MAX - 2);
  ck_assert_uint_eq(n % 3, 0);
  for (i = 0; i < n; i += 3)
    ck_assert_int_eq(memcmp(got + i, "%2F", 3), 0);
  free(got);
  free(key);
}
END_TEST

START_TEST(test_long_utf8_not_split)
{
  char *key = repeat("http://h/", "%E2%82%AC", 200, "");
  char *got = names_flat(key);
  size_t n = strlen(got);

  ck_assert_uint_le(n, NAMES_SEG_MAX);
  ck_assert_uint_ge(n, NAMES_SEG_MAX - 2);
  ck_assert_uint_eq(n % 3, 0);
  ck_assert_int_eq(memcmp(got + n - 3, "\xE2\x82\xAC", 3), 0);
  free(got);
  free(key);
}
END_TEST

START_TEST(test_long_mirror_query)
{
  char *key = repeat("http://h/d/f.txt?", "q", 400, "");
  char *got = names_mirror(key);

  ck_assert_uint_eq(strlen(got), 4 + NAMES_SEG_MAX);
  ck_assert_int_eq(strncmp(got, "h/d/f.txt?qqq", 13), 0);
  free(got);
  free(key);
}
END_TEST

START_TEST(test_long_numbered)
{
  char *path = repeat("dir/", "a", NAMES_SEG_MAX - 4, ".txt");
  char *got = names_numbered(path, 1);
  size_t n = strlen(got);

  ck_assert_uint_eq(n, 4 + NAMES_SEG_MAX);
  ck_assert_str_eq(got + n - 6, ".1.txt");
  free(got);
  free(path);
}
END_TEST

START_TEST(test_long_out)
{
  char *ok = repeat("d/", "a", NAMES_SEG_MAX, "");
  char *bad = repeat("d/", "a", NAMES_SEG_MAX + 1, "");
  char *huge = repeat("", "d/", NAMES_PATH_MAX / 2 + 1, "f");
  const char *why = NULL;

  ck_assert_int_eq(names_check_out(ok, &why), 0);
  ck_assert_int_eq(names_check_out(bad, &why), -1);
  ck_assert_str_eq(why, "has a component that is too long");
  ck_assert_int_eq(names_check_out(huge, &why), -1);
  ck_assert_str_eq(why, "is too long");
  ck_assert_int_eq(names_check_out("../x", NULL), -1);
  free(ok);
  free(bad);
  free(huge);
}
END_TEST

static Suite *names_suite(void)
{
  Suite *s = suite_create("names");
  TCase *tc = tcase_create("tables");
  TCase *tl = tcase_create("long");

  tcase_add_loop_test(tc, test_flat, 0, N_ROWS(flat_rows));
  tcase_add_loop_test(tc, test_mirror, 0, N_ROWS(mirror_rows));
  tcase_add_loop_test(tc, test_numbered, 0, N_ROWS(num_rows));
  tcase_add_loop_test(tc, test_disposition, 0, N_ROWS(cd_rows));
  tcase_add_loop_test(tc, test_check_out, 0, N_ROWS(out_rows));
  suite_add_tcase(s, tc);
  tcase_add_test(tl, test_long_keeps_extension);
  tcase_add_test(tl, test_long_drops_long_extension);
  tcase_add_test(tl, test_long_escapes_not_split);
  tcase_add_test(tl, test_long_utf8_not_split);
  tcase_add_test(tl, test_long_mirror_query);
  tcase_add_test(tl, test_long_numbered);
  tcase_add_test(tl, test_long_out);
  suite_add_tcase(s, tl);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(names_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
