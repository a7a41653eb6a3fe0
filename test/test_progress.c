/*
 * Tests for progress: tables of {input, expected text} for the human
 * sizes, durations, ETA, the terminal-safe cut, the status and transfer
 * lines; a sweep of widths checks that no line ever reaches the last
 * column; frames check the escape sequences that redraw in place.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

#define N_ROWS(t) ((int)(sizeof(t) / sizeof((t)[0])))

/*
 * Terminal columns of valid UTF-8 text: one per code point, two for the
 * three-byte ones (the tests use only CJK characters there).
 */
static unsigned count_cols(const char *s)
{
  unsigned n = 0;

  for (; *s; s++)
    if (((unsigned char)*s & 0xf0) == 0xe0)
      n += 2;
    else if (((unsigned char)*s & 0xc0) != 0x80)
      n++;
  return n;
}

static bool has_control(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
      return true;
  return false;
}

static const struct {
  uint64_t in;
  const char *want;
} human_rows[] = {
    {0, "0 B"},
    {1, "1 B"},
    {1023, "1023 B"},
    {1024, "1.0 KiB"},
    {1536, "1.5 KiB"},
    {102297, "99.9 KiB"},
    {102400, "100 KiB"},
    {1047552, "1023 KiB"},
    {1048064, "1.0 MiB"},
    {1048576, "1.0 MiB"},
    {5 * 1048576 + 300 * 1024, "5.3 MiB"},
    {(uint64_t)3 << 30, "3.0 GiB"},
    {(uint64_t)1 << 40, "1.0 TiB"},
    {UINT64_MAX, "16.0 EiB"},
};

START_TEST(test_human)
{
  char buf[32];
  size_t n = progress_human(buf, sizeof(buf), human_rows[_i].in);

  ck_assert_str_eq(buf, human_rows[_i].want);
  ck_assert_uint_eq(n, strlen(human_rows[_i].want));
}
END_TEST

START_TEST(test_human_small_buffer)
{
  char buf[5];

  progress_human(buf, sizeof(buf), 1536);
  ck_assert_str_eq(buf, "");
  progress_human(buf, sizeof(buf), 12);
  ck_assert_str_eq(buf, "12 B");
}
END_TEST

static const struct {
  uint64_t in;
  const char *want;
} duration_rows[] = {
    {0, "0:00"},       {9, "0:09"},          {42, "0:42"},
    {61, "1:01"},      {3599, "59:59"},      {3600, "1:00:00"},
    {3661, "1:01:01"}, {359999, "99:59:59"}, {360000, "100:00:00"},
};

START_TEST(test_duration)
{
  char buf[32];

  progress_duration(buf, sizeof(buf), duration_rows[_i].in);
  ck_assert_str_eq(buf, duration_rows[_i].want);
}
END_TEST

static const struct {
  struct progress_work w;
  uint64_t done_bytes, done_count;
  double rate;
  int64_t want;
} eta_rows[] = {
    {{1000, 0, 0}, 0, 0, 100, 10},     /* known sizes only */
    {{1000, 0, 0}, 0, 0, -1, -1},      /* no rate yet */
    {{1000, 0, 0}, 0, 0, 0.5, -1},     /* stalled */
    {{0, 0, 0}, 0, 0, 100, -1},        /* nothing left */
    {{1000, 2, 0}, 0, 0, 100, -1},     /* unknown sizes, no mean */
    {{1000, 2, 0}, 3000, 3, 100, 30},  /* + 2 x mean 1000 */
    {{0, 1, 1500}, 3000, 3, 100, -1},  /* got more than the mean */
    {{0, 1, 400}, 3000, 3, 100, 6},    /* 600 left of the mean */
    {{360000, 0, 0}, 0, 0, 1, -1},     /* over 100 hours */
    {{359999, 0, 0}, 0, 0, 1, 359999}, /* just under */
    {{150, 0, 0}, 0, 0, 100, 2},       /* rounds to nearest */
    {{UINT64_MAX, 0, 0}, 0, 0, 1e15, 18447},
};

START_TEST(test_eta)
{
  ck_assert_int_eq(progress_eta(&eta_rows[_i].w, eta_rows[_i].done_bytes,
                                eta_rows[_i].done_count, eta_rows[_i].rate),
                   eta_rows[_i].want);
}
END_TEST

static const struct {
  const char *src;
  unsigned cols;
  bool tail;
  const char *want;
  unsigned want_cols;
} fit_rows[] = {
    {"abc", 10, false, "abc", 3},
    {"abc", 3, true, "abc", 3},
    {"", 5, true, "", 0},
    {"abcdef", 4, false, "abcd", 4},
    {"abcdef", 0, false, "", 0},
    {"dir/sub/file.iso", 10, true, "...ile.iso", 10},
    {"abcdef", 3, true, "abc", 3}, /* too narrow for "..." */
    {"a\x1b[2Jb", 10, false, "a?[2Jb", 6},
    {"tab\there\r\n", 20, false, "tab?here??", 10},
    {"del\x7f", 5, false, "del?", 4},
    {"\xc3\xa9t\xc3\xa9", 3, false, "\xc3\xa9t\xc3\xa9", 3},
    {"\xc3\xa9t\xc3\xa9!", 2, false, "\xc3\xa9t", 2},
    {"\xff\xfe", 5, false, "??", 2},
    {"\xc2\x9b[1m", 5, false, "??[1m", 5},     /* C1 CSI */
    {"\xc0\xaf", 5, false, "??", 2},           /* overlong '/' */
    {"\xed\xa0\x80", 5, false, "???", 3},      /* surrogate */
    {"\xe6\x97", 5, false, "??", 2},           /* cut sequence */
    {"\xf4\x90\x80\x80", 5, false, "????", 4}, /* above U+10FFFF */
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, false,
     "\xe6\x97\xa5\xe6\x9c\xac", 4}, /* wide CJK: two columns each */
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 5, false,
     "\xe6\x97\xa5\xe6\x9c\xac", 4},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 5, true, "...\xe8\xaa\x9e", 5},
    {"\xf0\x9f\x98\x80x", 3, false, "\xf0\x9f\x98\x80x", 3}, /* emoji */
};

START_TEST(test_fit)
{
  char buf[64];
  unsigned cols = progress_fit(buf, sizeof(buf), fit_rows[_i].src,
                               fit_rows[_i].cols, fit_rows[_i].tail);

  ck_assert_str_eq(buf, fit_rows[_i].want);
  ck_assert_uint_eq(cols, fit_rows[_i].want_cols);
}
END_TEST

START_TEST(test_fit_small_buffer_keeps_utf8_whole)
{
  char buf[4];

  progress_fit(buf, sizeof(buf), "a\xe6\x97\xa5\xe6\x9c\xac", 40, false);
  ck_assert_str_eq(buf, "a");
}
END_TEST

static const struct corral_stats stats_mid = {.entries = 40,
                                              .downloaded = 10,
                                              .duplicate = 3,
                                              .skipped = 1,
                                              .failed = 2,
                                              .bytes = 5000,
                                              .received = 3 * 1048576,
                                              .active = 4,
                                              .waiting = 20};

static const struct {
  double rate;
  int64_t eta;
  unsigned cols;
  const char *want;
} status_rows[] = {
    {-1, -1, 200, "[16/40] 10 ok, 3 dup, 1 skipped, 2 failed  3.0 MiB"},
    {2048, -1, 200,
     "[16/40] 10 ok, 3 dup, 1 skipped, 2 failed  3.0 MiB  2.0 KiB/s"},
    {2048, 75, 200,
     "[16/40] 10 ok, 3 dup, 1 skipped, 2 failed  3.0 MiB  2.0 KiB/s  "
     "ETA 1:15"},
    {2048, 75, 20, "[16/40] 10 ok, 3 dup"},
    {2048, 75, 49, "[16/40] 10 ok, 3 dup, 1 skipped, 2 failed"},
    {2048, 75, 50, "[16/40] 10 ok, 3 dup, 1 skipped, 2 failed  3.0 MiB"},
    {2048, 75, 61,
     "[16/40] 10 ok, 3 dup, 1 skipped, 2 failed  3.0 MiB  2.0 KiB/s"},
    {2048, 75, 70,
     "[16/40] 10 ok, 3 dup, 1 skipped, 2 failed  3.0 MiB  2.0 KiB/s"},
    {2048, 75, 71,
     "[16/40] 10 ok, 3 dup, 1 skipped, 2 failed  3.0 MiB  2.0 KiB/s  "
     "ETA 1:15"},
    {2048, 75, 0, ""},
};

START_TEST(test_status_line)
{
  char buf[PROGRESS_LINE_SIZE];
  size_t n =
      progress_status_line(buf, sizeof(buf), &stats_mid, status_rows[_i].rate,
                           status_rows[_i].eta, status_rows[_i].cols);

  ck_assert_str_eq(buf, status_rows[_i].want);
  ck_assert_uint_eq(n, strlen(buf));
}
END_TEST

static const struct {
  struct corral_transfer t;
  double rate;
  unsigned cols;
  const char *want;
} xfer_rows[] = {
    {{"http://h/a.bin", "a.bin", 512, 1024, 10, 1},
     3 * 1048576,
     40,
     "  a.bin                  50%   3.0 MiB/s"},
    {{"http://h/a.bin", "a.bin", 512, -1, 10, 1},
     -1,
     40,
     "  a.bin                512 B            "},
    {{"http://h/a.bin", "a.bin", 0, 0, 10, 1},
     0,
     40,
     "  a.bin                 100%       0 B/s"},
    {{"http://h/a.bin", "a.bin", 9999, 1000, 10, 1},
     0,
     40,
     "  a.bin                 100%       0 B/s"},
    {{"http://h/a.bin", "a.bin", 100, 1000, 10, 3},
     1024,
     40,
     "  a.bin      try 3       10%   1.0 KiB/s"},
    {{"http://h/x", NULL, 100, 1000, 10, 1},
     1024,
     40,
     "  http://h/x             10%   1.0 KiB/s"},
    {{"http://h/d/long-name-here.iso", "d/long-name-here.iso", 1, 3, 10, 1},
     -1,
     36,
     "  ...-here.iso       33%            "},
    {{"u", "dir/file-with-a-long-name.bin", 1, 3, 10, 1},
     -1,
     20,
     "  ...a-long-name.bin"},
    {{"u", "d/a-name-of-sixty-columns-which-is-more-than-fifty.bin", 1, 3, 10,
      1},
     2048,
     200,
     "  ...e-of-sixty-columns-which-is-more-than-fifty.bin       33%   2.0 "
     "KiB/s"},
    {{"u", "esc\x1b[31mred", 1, 3, 10, 1},
     -1,
     40,
     "  esc?[31mred            33%            "},
};

START_TEST(test_transfer_line)
{
  char buf[PROGRESS_LINE_SIZE];
  size_t n = progress_transfer_line(buf, sizeof(buf), &xfer_rows[_i].t,
                                    xfer_rows[_i].rate, xfer_rows[_i].cols);

  ck_assert_str_eq(buf, xfer_rows[_i].want);
  ck_assert_uint_eq(n, strlen(buf));
}
END_TEST

/* Every width from 0 to 300 columns: never wider, never a control byte. */
START_TEST(test_widths_sweep)
{
  struct corral_transfer t = {
      "http://h/\xe6\x97\xa5/x", "\xe6\x97\xa5/x\x1b", 1 << 20, -1, 10, 2};
  char buf[PROGRESS_LINE_SIZE];
  unsigned cols;

  for (cols = 0; cols <= 300; cols++) {
    progress_status_line(buf, sizeof(buf), &stats_mid, 1e6, 3600, cols);
    ck_assert_uint_le(count_cols(buf), cols);
    ck_assert(!has_control(buf));
    progress_transfer_line(buf, sizeof(buf), &t, 1e6, cols);
    ck_assert_uint_le(count_cols(buf), cols);
    ck_assert(!has_control(buf));
    /* The path column stops at 50: 2 + 50 + "  try 2" + 22. */
    if (cols >= 40)
      ck_assert_uint_eq(count_cols(buf), cols < 81 ? cols : 81);
  }
}
END_TEST

static const struct {
  unsigned active, rows, want;
} lines_rows[] = {
    {0, 24, 0}, {3, 24, 3}, {8, 24, 8}, {50, 24, 8}, {50, 6, 4},
    {50, 3, 1}, {50, 2, 0}, {50, 1, 0}, {50, 0, 0},
};

START_TEST(test_lines)
{
  ck_assert_uint_eq(progress_lines(lines_rows[_i].active, lines_rows[_i].rows),
                    lines_rows[_i].want);
}
END_TEST

static const struct {
  uint64_t bytes, ms;
  double want; /* rate after this sample; < 0: unknown */
} meter_rows[] = {
    {0, 1000, -1},   /* first sample */
    {100, 1020, -1}, /* too close: merged into the next */
    {1000, 1100, 10000}, {1000, 1200, 10000 - 10000.0 * 100 / 1100},
    {500, 1300, -2}, /* went down: no progress, still >= 0 */
};

START_TEST(test_meter)
{
  struct progress_meter m;
  int i;

  progress_meter_init(&m);
  ck_assert(m.rate < 0);
  for (i = 0; i < N_ROWS(meter_rows); i++) {
    progress_meter_update(&m, meter_rows[i].bytes, meter_rows[i].ms);
    if (meter_rows[i].want == -1)
      ck_assert(m.rate < 0);
    else if (meter_rows[i].want == -2)
      ck_assert(m.rate >= 0 && m.rate < meter_rows[i - 1].want);
    else
      ck_assert_double_eq_tol(m.rate, meter_rows[i].want, 1e-6);
  }
  /* A steady 1 MB/s converges to it. */
  for (i = 1; i <= 100; i++)
    progress_meter_update(&m, 500 + (uint64_t)i * 100000, 1300 + i * 100);
  ck_assert_double_eq_tol(m.rate, 1e6, 1e3);
}
END_TEST

static void frame(struct progress *p, unsigned active, uint64_t now)
{
  struct corral_stats s = stats_mid;
  struct corral_transfer t = {"http://h/f", "f0", 0, 1000, 10, 1};
  char path[16];
  unsigned i;

  s.active = active;
  s.received = now * 1000;
  progress_begin(p, &s, now);
  for (i = 0; i < active; i++) {
    snprintf(path, sizeof(path), "f%u", i);
    t.path = path;
    t.received = now;
    progress_add(p, &t);
  }
  progress_end(p);
}

START_TEST(test_frames_redraw_in_place)
{
  struct progress *p = malloc(sizeof(*p));
  char buf[PROGRESS_FRAME_SIZE];
  size_t n;

  ck_assert_ptr_nonnull(p);
  progress_init(p, 60, 24);
  ck_assert_uint_eq(progress_draw(p, buf, sizeof(buf)), 0);
  ck_assert_uint_eq(progress_clear(p, buf, sizeof(buf)), 0);
  frame(p, 2, 1000);
  n = progress_draw(p, buf, sizeof(buf));
  ck_assert_uint_eq(n, strlen(buf));
  ck_assert_str_eq(buf, "\r[16/40] 10 ok, 3 dup, 1 skipped, 2 failed  "
                        "977 KiB\x1b[K\n"
                        "  f0                                       100%"
                        "            \x1b[K\n"
                        "  f1                                       100%"
                        "            \x1b[K\x1b[J");
  /* The second frame moves up over the first; rates are known now. */
  frame(p, 2, 1100);
  progress_draw(p, buf, sizeof(buf));
  ck_assert(!strncmp(buf, "\r\x1b[2A[16/40]", 12));
  /* Too narrow for the rate: the field goes whole. */
  ck_assert_ptr_nonnull(strstr(buf, "failed  1.0 MiB\x1b[K\n"));
  ck_assert_ptr_nonnull(strstr(buf, "100%    1000 B/s\x1b[K"));
  ck_assert_ptr_nonnull(strstr(buf, "  f1 "));
  ck_assert_ptr_nonnull(strstr(buf, "/s\x1b[K\x1b[J"));
  /* The area shrinks: ESC[J wipes the lines below. */
  frame(p, 0, 1200);
  progress_draw(p, buf, sizeof(buf));
  ck_assert(!strncmp(buf, "\r\x1b[2A[16/40]", 12));
  ck_assert_ptr_null(strchr(buf, '\n'));
  ck_assert_str_eq(buf + strlen(buf) - 6, "\x1b[K\x1b[J");
  progress_clear(p, buf, sizeof(buf));
  ck_assert_str_eq(buf, "\r\x1b[J");
  /* After a clear, a redraw of the same frame starts where it is. */
  progress_draw(p, buf, sizeof(buf));
  ck_assert(!strncmp(buf, "\r[16/40]", 8));
  free(p);
}
END_TEST

START_TEST(test_frames_fit_the_terminal)
{
  struct progress *p = malloc(sizeof(*p));
  char buf[PROGRESS_FRAME_SIZE];
  unsigned i;

  ck_assert_ptr_nonnull(p);
  progress_init(p, 30, 5);
  frame(p, 12, 1000);
  progress_draw(p, buf, sizeof(buf));
  ck_assert_uint_eq(p->n_lines, 4); /* rows - 1 */
  for (i = 0; i < p->n_lines; i++)
    ck_assert_uint_le(count_cols(p->line[i]), 29);
  progress_resize(p, 1000, 50);
  ck_assert_uint_eq(p->cols, PROGRESS_MAX_COLS);
  frame(p, 12, 1100);
  ck_assert_uint_eq(p->n_lines, 9);
  ck_assert_uint_eq(count_cols(p->line[1]), 2 + PROGRESS_NAME_COLS + 22);
  /* 20 waiting at the mean of 500 bytes, at 1 MB/s. */
  ck_assert_ptr_nonnull(strstr(p->line[0], "  1.0 MiB  977 KiB/s  ETA 0:00"));
  progress_draw(p, buf, sizeof(buf));
  ck_assert(!strncmp(buf, "\r\x1b[3A", 5));
  progress_init(p, 0, 0);
  ck_assert_uint_eq(p->cols, 80);
  ck_assert_uint_eq(p->rows, 24);
  free(p);
}
END_TEST

/* A transfer's rate follows it when others appear in front of it. */
START_TEST(test_rates_follow_transfers)
{
  struct progress *p = malloc(sizeof(*p));
  struct corral_stats s = stats_mid;
  struct corral_transfer a = {"http://h/a", "a", 0, -1, 10, 1};
  struct corral_transfer b = {"http://h/b", "b", 5000000, -1, 10, 1};

  ck_assert_ptr_nonnull(p);
  progress_init(p, 80, 24);
  s.active = 1;
  progress_begin(p, &s, 1000);
  progress_add(p, &a);
  progress_end(p);
  s.active = 2;
  a.received = 1000;
  progress_begin(p, &s, 1100);
  progress_add(p, &b); /* new, resumed: no rate from its 5 MB */
  progress_add(p, &a);
  progress_end(p);
  ck_assert_ptr_nonnull(strstr(p->line[2], "9.8 KiB/s"));
  ck_assert_ptr_null(strstr(p->line[1], "/s"));
  free(p);
}
END_TEST

static Suite *progress_suite(void)
{
  Suite *s = suite_create("progress");
  TCase *tc = tcase_create("render");

  tcase_add_loop_test(tc, test_human, 0, N_ROWS(human_rows));
  tcase_add_test(tc, test_human_small_buffer);
  tcase_add_loop_test(tc, test_duration, 0, N_ROWS(duration_rows));
  tcase_add_loop_test(tc, test_eta, 0, N_ROWS(eta_rows));
  tcase_add_loop_test(tc, test_fit, 0, N_ROWS(fit_rows));
  tcase_add_test(tc, test_fit_small_buffer_keeps_utf8_whole);
  tcase_add_loop_test(tc, test_status_line, 0, N_ROWS(status_rows));
  tcase_add_loop_test(tc, test_transfer_line, 0, N_ROWS(xfer_rows));
  tcase_add_test(tc, test_widths_sweep);
  tcase_add_loop_test(tc, test_lines, 0, N_ROWS(lines_rows));
  tcase_add_test(tc, test_meter);
  tcase_add_test(tc, test_frames_redraw_in_place);
  tcase_add_test(tc, test_frames_fit_the_terminal);
  tcase_add_test(tc, test_rates_follow_transfers);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(progress_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
