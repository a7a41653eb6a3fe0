/*
 * The live display of the corral command, seen the way a user sees it:
 * the real binary ($CORRAL_BIN) runs on a pseudo-terminal (forkpty)
 * against the loopback test server, and its output is fed to a small
 * terminal model (CR, LF, ESC[nA, ESC[K, ESC[J on a grid) that notes
 * scrolling, text in the last column and any other escape.  The same
 * binary with stderr a pipe, under -q and with TERM=dumb must print plain
 * lines without a single escape.
 */
#include <check.h>
#include <poll.h>
#include <pty.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "harness.h"
#include "testsrv.h"

#define ROWS 30
#define MAX_COLS 200

static struct testsrv srv;
static char dir[64];
static char raw[1 << 20]; /* everything the terminal received */
static size_t raw_len;

/* A terminal that knows only what corral may send. */
struct screen {
  unsigned cols, r, c;
  char cell[ROWS][MAX_COLS + 1];
  unsigned scrolled;        /* lines pushed off the top */
  unsigned bad_escapes;     /* escapes other than ESC[nA, ESC[K, ESC[J */
  unsigned frames;          /* ESC[J seen: one per redraw or clear */
  bool frame_in_last_col;   /* this frame wrote in the last column */
  unsigned last_col_frames; /* frames that did, since counting began */
  int esc;                  /* 0 text, 1 after ESC, 2 in CSI */
  unsigned arg;
};

static struct screen scr;

static void setup(void)
{
  harness_setup(&srv, 2, dir, sizeof(dir), "pty");
}

static void teardown(void)
{
  harness_teardown(&srv, dir);
}

static void screen_init(unsigned cols)
{
  memset(&scr, 0, sizeof(scr));
  memset(scr.cell, ' ', sizeof(scr.cell));
  scr.cols = cols;
  raw_len = 0;
}

/* The terminal shrinks without reflow, as xterm does. */
static void screen_resize(unsigned cols)
{
  unsigned r;

  for (r = 0; r < ROWS; r++)
    memset(scr.cell[r] + cols, ' ', MAX_COLS - cols);
  scr.cols = cols;
  if (scr.c > cols)
    scr.c = cols;
}

static void line_feed(void)
{
  if (++scr.r < ROWS)
    return;
  memmove(scr.cell[0], scr.cell[1], (ROWS - 1) * sizeof(scr.cell[0]));
  memset(scr.cell[ROWS - 1], ' ', MAX_COLS);
  scr.r = ROWS - 1;
  scr.scrolled++;
}

static void clear_from(unsigned r, unsigned c)
{
  memset(scr.cell[r] + c, ' ', MAX_COLS - c);
}

static void csi(char final)
{
  unsigned n = scr.arg ? scr.arg : 1, r;

  switch (final) {
  case 'A':
    scr.r = n > scr.r ? 0 : scr.r - n;
    break;
  case 'K':
    clear_from(scr.r, scr.c);
    break;
  case 'J':
    clear_from(scr.r, scr.c);
    for (r = scr.r + 1; r < ROWS; r++)
      clear_from(r, 0);
    scr.frames++;
    scr.last_col_frames += scr.frame_in_last_col;
    scr.frame_in_last_col = false;
    break;
  default:
    scr.bad_escapes++;
  }
}

static void put_char(char ch)
{
  if (scr.c >= scr.cols) { /* a wrap: the line was too long */
    scr.c = 0;
    line_feed();
  }
  if (scr.c == scr.cols - 1)
    scr.frame_in_last_col = true;
  scr.cell[scr.r][scr.c++] = ch;
}

static void feed(const char *p, size_t n)
{
  for (; n--; p++) {
    if (scr.esc == 1) {
      scr.esc = *p == '[' ? 2 : 0;
      scr.arg = 0;
      scr.bad_escapes += *p != '[';
    }
    else if (scr.esc == 2) {
      if (*p >= '0' && *p <= '9')
        scr.arg = scr.arg * 10 + (unsigned)(*p - '0');
      else {
        scr.esc = 0;
        csi(*p);
      }
    }
    else if (*p == '\x1b')
      scr.esc = 1;
    else if (*p == '\r')
      scr.c = 0;
    else if (*p == '\n')
      line_feed();
    else
      put_char(*p);
  }
}

/* Row r without its trailing blanks (in a static buffer). */
static const char *row(unsigned r)
{
  static char buf[MAX_COLS + 1];
  size_t n = scr.cols;

  memcpy(buf, scr.cell[r], n);
  while (n && buf[n - 1] == ' ')
    n--;
  buf[n] = '\0';
  return buf;
}

static bool is_status(const char *s)
{
  return s[0] == '[' && strstr(s, "] ") && strstr(s, " ok, ") &&
         strstr(s, " dup, ") && strstr(s, " skipped, ") &&
         strstr(s, " failed");
}

/* First row whose text contains needle (or is a status line), or -1. */
static int find_row(const char *needle)
{
  unsigned r;

  for (r = 0; r < ROWS; r++)
    if (needle ? strstr(row(r), needle) != NULL : is_status(row(r)))
      return (int)r;
  return -1;
}

static unsigned count_status_rows(void)
{
  unsigned r, n = 0;

  for (r = 0; r < ROWS; r++)
    n += is_status(row(r));
  return n;
}

static unsigned last_row_index(void)
{
  unsigned r;

  for (r = ROWS - 1; r > 0 && !*row(r); r--)
    ;
  return r;
}

static const char *last_row(void)
{
  return row(last_row_index());
}

/*
 * Runs corral on a new pty of cols x ROWS in dir, with TERM=term; when
 * err_pipe is not NULL, stderr goes to a pipe whose read end is stored
 * there.  Returns the child's pid; *master gets the pty.
 */
static pid_t spawn_pty(char **args, unsigned cols, const char *term,
                       int *master, int *err_pipe)
{
  struct winsize ws = {ROWS, (unsigned short)cols, 0, 0};
  const char *bin = harness_bin(); /* absolute: the child runs in dir */
  char *argv[32];
  int p[2] = {-1, -1};
  pid_t pid;

  harness_argv(argv, 32, args);
  if (err_pipe)
    ck_assert_int_eq(pipe(p), 0);
  pid = forkpty(master, NULL, NULL, &ws);
  ck_assert_int_ge(pid, 0);
  if (!pid) {
    if (err_pipe) {
      dup2(p[1], STDERR_FILENO);
      close(p[0]);
      close(p[1]);
    }
    setenv("TERM", term, 1);
    if (chdir(dir))
      _exit(126);
    execv(bin, argv);
    _exit(127);
  }
  if (err_pipe) {
    close(p[1]);
    *err_pipe = p[0];
  }
  return pid;
}

/* Reads fd into raw (and the screen) until EOF or EIO; 1 on EOF. */
static int read_some(int fd, bool to_screen)
{
  struct pollfd pfd = {fd, POLLIN, 0};
  char buf[4096];
  ssize_t n;

  if (poll(&pfd, 1, 100) <= 0)
    return 0;
  n = read(fd, buf, sizeof(buf));
  if (n <= 0)
    return 1; /* the pty gives EIO once the child closed its side */
  ck_assert_uint_lt(raw_len + (size_t)n, sizeof(raw));
  memcpy(raw + raw_len, buf, (size_t)n);
  raw_len += (size_t)n;
  raw[raw_len] = '\0';
  if (to_screen)
    feed(buf, (size_t)n);
  return 0;
}

/*
 * Writes the list file "l" in dir: four slow bodies (one with a long
 * name), a duplicate, a bad line read at once and a 404 that starts only
 * once a slot is free (-j 4), so it fails while the area is up.
 */
static void write_slow_list(void)
{
  char path[128];

  harness_path(path, sizeof(path), dir, "l");
  harness_writef(path, "%s\n%s\n%s\nftp://x/y\n%s\n%s\n%s\n",
                 harness_url(&srv, 0, "/slow/300000/2000/a.bin"),
                 harness_url(&srv, 1, "/slow/200000/2000/b.bin"),
                 harness_url(&srv, 0,
                             "/slow/100000/2500/a-rather-long-file-name-that-"
                             "needs-cutting-on-narrow-screens.bin"),
                 harness_url(&srv, 1, "/slow/400000/2500/c.bin"),
                 harness_url(&srv, 0, "/slow/300000/2000/./a.bin"),
                 harness_url(&srv, 1, "/status/404/m"));
}

/* Per-chunk checks: one status line at most, below every error line. */
static void check_screen_now(void)
{
  int status = find_row(NULL), err = find_row("failed http");

  ck_assert_uint_le(count_status_rows(), 1);
  if (status >= 0 && err >= 0)
    ck_assert_int_gt(status, err);
  ck_assert_int_lt(find_row("ok http"), 0);
}

START_TEST(test_live_area_on_a_terminal)
{
  char *args[] = {"-i", "l", "-o", "out", "-j", "4", NULL};
  struct winsize narrow = {ROWS, 60, 0, 0};
  bool saw_status = false, saw_xfer = false, resized = false;
  unsigned frames_at_resize = 0, frames_before;
  int master, done = 0;
  pid_t pid;

  write_slow_list();
  screen_init(100);
  pid = spawn_pty(args, 100, "xterm", &master, NULL);
  while (!done) {
    done = read_some(master, true);
    check_screen_now();
    if (find_row(NULL) >= 0 && strstr(row((unsigned)find_row(NULL)), "/s"))
      saw_status = true;
    if (find_row("% ") >= 0 && find_row(".bin ") >= 0)
      saw_xfer = true;
    if (saw_status && saw_xfer && !resized) {
      /* Narrower: SIGWINCH; frames drawn from now on must fit. */
      ck_assert_int_eq(scr.last_col_frames, 0);
      ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &narrow), 0);
      screen_resize(60);
      resized = true;
      frames_at_resize = scr.frames;
    }
  }
  close(master);
  ck_assert_int_eq(harness_wait_exit(pid), 1);
  ck_assert(saw_status && saw_xfer && resized);
  frames_before = frames_at_resize;
  /* Redrawn in place: many frames, nothing scrolled, known escapes. */
  ck_assert_uint_ge(scr.frames, 8);
  ck_assert_uint_eq(scr.scrolled, 0);
  ck_assert_uint_eq(scr.bad_escapes, 0);
  ck_assert_ptr_nonnull(strstr(raw, "\x1b[K"));
  /* At most the frames already on their way were drawn at 100 columns. */
  ck_assert_uint_ge(scr.frames - frames_before, 4);
  ck_assert_uint_le(scr.last_col_frames, 2);
  /* The end: errors above, the summary last, no area left. */
  ck_assert_int_ge(find_row("l:4: unsupported scheme"), 0);
  ck_assert_int_ge(find_row("failed http"), 0);
  ck_assert_int_lt(find_row(NULL), 0);
  ck_assert_int_lt(find_row(".bin "), 0);
  /* 72 columns on a 60-column terminal: the summary wraps once. */
  ck_assert_int_eq(find_row("4 downloaded, 1 duplicate, 0 skipped, 2 "
                            "failed, 1000000 b"),
                   (int)last_row_index() - 1);
  ck_assert_msg(strstr(last_row(), " s"), "%s", last_row());
}
END_TEST

/* The status line as the terminal showed it carries the counts and sizes. */
START_TEST(test_status_line_content)
{
  char *args[] = {"-i", "l", "-o", "out", "-j", "4", NULL};
  char best[MAX_COLS + 1] = "";
  int master, done = 0, r;
  pid_t pid;

  write_slow_list();
  screen_init(120);
  pid = spawn_pty(args, 120, "xterm-256color", &master, NULL);
  while (!done) {
    done = read_some(master, true);
    r = find_row(NULL);
    if (r >= 0 && strstr(row((unsigned)r), "/s"))
      strcpy(best, row((unsigned)r));
  }
  close(master);
  ck_assert_int_eq(harness_wait_exit(pid), 1);
  /* "[done/total] ... BYTES  RATE/s": total is every entry read. */
  ck_assert_msg(strstr(best, "/7] ") && strstr(best, "iB  ") &&
                    strstr(best, "iB/s"),
                "%s", best);
}
END_TEST

/* Reads a pipe to EOF while draining the pty so the child never blocks. */
static void read_pipe_and_pty(int err, int master)
{
  bool err_open = true;
  struct pollfd pfd[2] = {{err, POLLIN, 0}, {master, POLLIN, 0}};
  char buf[4096];
  ssize_t n;

  while (err_open) {
    ck_assert_int_ge(poll(pfd, 2, 1000), 0);
    if (pfd[1].revents && read(master, buf, sizeof(buf)) <= 0)
      pfd[1].fd = -1;
    if (!pfd[0].revents)
      continue;
    n = read(err, raw + raw_len, sizeof(raw) - 1 - raw_len);
    if (n <= 0)
      err_open = false;
    else
      raw_len += (size_t)n;
  }
  raw[raw_len] = '\0';
}

START_TEST(test_stderr_a_pipe_is_plain)
{
  char *args[] = {"-i", "l", "-o", "out", "-j", "4", NULL};
  int master, err;
  pid_t pid;

  write_slow_list();
  screen_init(100);
  pid = spawn_pty(args, 100, "xterm", &master, &err);
  read_pipe_and_pty(err, master);
  close(err);
  close(master);
  ck_assert_int_eq(harness_wait_exit(pid), 1);
  ck_assert_ptr_null(strchr(raw, '\x1b'));
  ck_assert_ptr_null(strchr(raw, '\r'));
  ck_assert_ptr_nonnull(strstr(raw, "/a.bin -> a.bin (300000 bytes)\n"));
  ck_assert_ptr_nonnull(strstr(raw, "\nduplicate http://"));
  ck_assert_ptr_nonnull(strstr(raw, "l:4: unsupported scheme"));
  ck_assert_ptr_nonnull(strstr(raw, "\n4 downloaded, 1 duplicate, "));
}
END_TEST

/* -q and TERM=dumb: no area, no escape, on a terminal too. */
static void run_plain_on_pty(char **args, const char *term)
{
  int master, done = 0;
  pid_t pid;

  write_slow_list();
  screen_init(100);
  pid = spawn_pty(args, 100, term, &master, NULL);
  while (!done)
    done = read_some(master, true);
  close(master);
  ck_assert_int_eq(harness_wait_exit(pid), 1);
  ck_assert_ptr_null(strchr(raw, '\x1b'));
  ck_assert_uint_eq(scr.frames, 0);
}

START_TEST(test_quiet_shows_errors_only)
{
  char *args[] = {"-q", "-i", "l", "-o", "out", "-j", "4", NULL};

  run_plain_on_pty(args, "xterm");
  ck_assert_int_ge(find_row("l:4: unsupported scheme"), 0);
  ck_assert_int_ge(find_row("failed http"), 0);
  ck_assert_int_lt(find_row("ok http"), 0);
  ck_assert_int_lt(find_row("downloaded"), 0);
}
END_TEST

START_TEST(test_dumb_terminal_gets_the_log)
{
  char *args[] = {"-i", "l", "-o", "out", "-j", "4", NULL};

  run_plain_on_pty(args, "dumb");
  ck_assert_int_ge(find_row("ok http"), 0);
  ck_assert_int_ge(find_row("4 downloaded, 1 duplicate"), 0);
}
END_TEST

/* -v: the finished entries print above the area as well. */
START_TEST(test_verbose_prints_entries_above)
{
  char *args[] = {"-v", "-i", "l", "-o", "out", "-j", "4", NULL};
  int master, done = 0, status, ok;
  bool below = false;
  pid_t pid;

  write_slow_list();
  screen_init(100);
  pid = spawn_pty(args, 100, "xterm", &master, NULL);
  while (!done) {
    done = read_some(master, true);
    ck_assert_uint_le(count_status_rows(), 1);
    status = find_row(NULL);
    ok = find_row("ok http");
    if (status >= 0 && ok >= 0)
      below = below || status > ok;
  }
  close(master);
  ck_assert_int_eq(harness_wait_exit(pid), 1);
  ck_assert(below);
  ck_assert_uint_eq(scr.scrolled, 0);
  ck_assert_int_ge(find_row("/a.bin -> a.bin (300000 bytes)"), 0);
  ck_assert(harness_starts_with(last_row(), "4 downloaded, 1 duplicate"));
}
END_TEST

static Suite *pty_suite(void)
{
  Suite *s = suite_create("pty");
  TCase *tc = tcase_create("terminal");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_live_area_on_a_terminal);
  tcase_add_test(tc, test_status_line_content);
  tcase_add_test(tc, test_stderr_a_pipe_is_plain);
  tcase_add_test(tc, test_quiet_shows_errors_only);
  tcase_add_test(tc, test_dumb_terminal_gets_the_log);
  tcase_add_test(tc, test_verbose_prints_entries_above);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(pty_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
