/*
 * frontend: what the user of the corral command sees.  The library reports
 * every finished entry through on_done; here each becomes a line on stderr
 * and an object in the report.  When stderr is a terminal (and not -q),
 * a live status area drawn by progress.c replaces the lines of entries that
 * went well: a 100 ms timer redraws it and every message goes through
 * say(), which clears the area, prints, and redraws it.  Elsewhere no timer
 * exists and say() is a plain fprintf.  Signals (SIGINT, SIGTERM, SIGWINCH)
 * and the timer are uv handles that do not keep the loop alive, so the loop
 * ends when the job does.
 */
#include "frontend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "progress.h"
#include "report.h"

#if defined(__GNUC__)
#define FRONTEND_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FRONTEND_PRINTF(a, b)
#endif

#define TICK_MS 100 /* at most 10 redraws a second */

/* The live area: only allocated when stderr is a terminal. */
struct display {
  struct progress progress;
  char text[PROGRESS_FRAME_SIZE];
};

struct frontend {
  struct cli *cli;
  struct corral *corral;
  struct report *report;
  uv_signal_t sigint, sigterm;
  uv_signal_t sigwinch; /* these two only when is_tty */
  uv_timer_t tick;
  struct display *display; /* drawing now, or NULL */
  bool is_tty;             /* the area replaces the lines of good entries */
  int *fds;
  int signal;        /* the first stop signal received, or 0 */
  unsigned bad_args; /* positional URLs the library refused */
  int report_err;
};

/* Replaces the area on the screen with its last frame. */
static void area_show(struct frontend *f)
{
  size_t n;

  if (!f->display)
    return;
  n = progress_draw(&f->display->progress, f->display->text,
                    sizeof(f->display->text));
  fwrite(f->display->text, 1, n, stderr);
}

/* Erases the area; the cursor goes to where its first line was. */
static void area_hide(struct frontend *f)
{
  size_t n;

  if (!f->display)
    return;
  n = progress_clear(&f->display->progress, f->display->text,
                     sizeof(f->display->text));
  fwrite(f->display->text, 1, n, stderr);
}

static void say(struct frontend *f, const char *fmt, ...)
    FRONTEND_PRINTF(2, 3);

/* Prints a message on stderr, above the live area when there is one. */
static void say(struct frontend *f, const char *fmt, ...)
{
  va_list ap;

  area_hide(f);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  area_show(f);
}

static void print_plan(const struct corral_result *r)
{
  if (r->status == CORRAL_STATUS_OK)
    printf("%s -> %s\n", r->key, r->path);
  else if (r->source)
    printf("  = %s -> %s  (%s:%u)\n", r->url, r->path, r->source, r->line);
  else
    printf("  = %s -> %s\n", r->url, r->path);
}

static void print_result(struct frontend *f, const struct corral_result *r)
{
  static const char *const names[] = {"ok", "duplicate", "skipped", "failed"};

  if (r->status == CORRAL_STATUS_FAILED) {
    if (!r->key && r->source)
      say(f, "%s\n", r->msg); /* already "FILE:LINE: reason" */
    else
      say(f, "failed %s: %s\n", r->url, r->msg);
    return;
  }
  if (f->cli->quiet || f->cli->opts.dry_run || (f->is_tty && !f->cli->verbose))
    return;
  if (r->status == CORRAL_STATUS_OK)
    say(f, "ok %s -> %s (%llu bytes)\n", r->url, r->path,
        (unsigned long long)r->bytes);
  else
    say(f, "%s %s -> %s\n", names[r->status], r->url, r->path);
}

static void on_done(const struct corral_result *r, void *data)
{
  struct frontend *f = data;
  int err;

  if (f->cli->opts.dry_run && r->status != CORRAL_STATUS_FAILED)
    print_plan(r);
  print_result(f, r);
  if (f->report && !f->report_err && (err = report_write(f->report, r))) {
    f->report_err = err;
    say(f, "corral: %s: %s\n", f->cli->report_path, strerror(-err));
  }
}

static void on_log(enum corral_log_level level, const char *msg, void *data)
{
  struct frontend *f = data;

  if (level == CORRAL_LOG_ERROR ||
      (level == CORRAL_LOG_INFO && f->cli->verbose))
    say(f, "%s\n", msg);
}

static void on_signal(uv_signal_t *handle, int signum)
{
  struct frontend *f = handle->data;

  if (f->signal) {
    /* A second signal: the user wants out now. */
    if (signum == SIGINT) {
      area_hide(f);
      _exit(130);
    }
    return;
  }
  f->signal = signum;
  if (!f->cli->quiet)
    say(f, "corral: %s, stopping (again to quit at once)\n",
        signum == SIGINT ? "interrupted" : "terminated");
  corral_stop(f->corral);
}

/* Opens every -i input; returns 0, or prints why and returns 2. */
static int open_inputs(struct frontend *f)
{
  struct cli *cli = f->cli;
  struct stat st;
  size_t i;

  f->fds = malloc((cli->n_inputs + 1) * sizeof(*f->fds));
  if (!f->fds)
    return 2;
  for (i = 0; i < cli->n_inputs; i++) {
    int fd = strcmp(cli->inputs[i], "-")
                 ? open(cli->inputs[i], O_RDONLY | O_CLOEXEC)
                 : STDIN_FILENO;

    f->fds[i] = fd;
    if (fd >= 0 && !fstat(fd, &st) && S_ISDIR(st.st_mode)) {
      errno = EISDIR;
      fd = -1;
    }
    if (fd < 0) {
      fprintf(stderr, "corral: cannot read %s: %s\n", cli->inputs[i],
              strerror(errno));
      return 2;
    }
  }
  return 0;
}

static void close_inputs(struct frontend *f)
{
  size_t i;

  if (!f->fds)
    return;
  for (i = 0; i < f->cli->n_inputs; i++)
    if (f->fds[i] > STDIN_FILENO)
      close(f->fds[i]);
  free(f->fds);
}

/* Feeds positional URLs and -i streams to the library. */
static void add_inputs(struct frontend *f)
{
  struct cli *cli = f->cli;
  struct corral_entry e;
  const char *why;
  size_t i;
  int err;

  for (i = 0; i < cli->n_urls; i++) {
    memset(&e, 0, sizeof(e));
    e.url = cli->urls[i];
    if (corral_add(f->corral, &e, &why)) {
      say(f, "corral: %s: %s\n", cli->urls[i], why);
      f->bad_args++;
    }
  }
  for (i = 0; i < cli->n_inputs; i++)
    if ((err = corral_read(f->corral, f->fds[i], cli->inputs[i])))
      say(f, "corral: %s: %s\n", cli->inputs[i], corral_strerror(err));
  corral_input_end(f->corral);
}

static void start_signals(struct frontend *f, uv_loop_t *loop)
{
  uv_signal_init(loop, &f->sigint);
  uv_signal_init(loop, &f->sigterm);
  f->sigint.data = f->sigterm.data = f;
  uv_signal_start(&f->sigint, on_signal, SIGINT);
  uv_signal_start(&f->sigterm, on_signal, SIGTERM);
  /* They must not keep the loop alive once the job is done. */
  uv_unref((uv_handle_t *)&f->sigint);
  uv_unref((uv_handle_t *)&f->sigterm);
}

static void stop_signals(struct frontend *f, uv_loop_t *loop)
{
  uv_close((uv_handle_t *)&f->sigint, NULL);
  uv_close((uv_handle_t *)&f->sigterm, NULL);
  if (f->is_tty) {
    uv_close((uv_handle_t *)&f->sigwinch, NULL);
    uv_close((uv_handle_t *)&f->tick, NULL);
  }
  uv_run(loop, UV_RUN_DEFAULT);
}

/* True when stderr is a terminal that understands the area's escapes. */
static bool wants_display(const struct cli *cli)
{
  const char *term = getenv("TERM");

  return !cli->quiet && !cli->opts.dry_run && isatty(STDERR_FILENO) && term &&
         *term && strcmp(term, "dumb");
}

/* The terminal's size, 0 x 0 when it cannot be read (progress guesses). */
static void term_size(unsigned *cols, unsigned *rows)
{
  struct winsize ws;

  *cols = *rows = 0;
  if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws)) {
    *cols = ws.ws_col;
    *rows = ws.ws_row;
  }
}

static void on_transfer(const struct corral_transfer *t, void *data)
{
  progress_add(data, t);
}

static void on_tick(uv_timer_t *handle)
{
  struct frontend *f = handle->data;
  struct progress *p = &f->display->progress;
  struct corral_stats s;

  corral_get_stats(f->corral, &s);
  s.entries += f->bad_args;
  s.failed += f->bad_args;
  progress_begin(p, &s, uv_now(handle->loop));
  corral_each_transfer(f->corral, on_transfer, p);
  progress_end(p);
  area_show(f);
}

static void on_winch(uv_signal_t *handle, int signum)
{
  struct frontend *f = handle->data;
  unsigned cols, rows;

  (void)signum;
  term_size(&cols, &rows);
  if (f->display)
    progress_resize(&f->display->progress, cols, rows);
}

/* Starts the live area when stderr is a terminal; else does nothing. */
static void start_display(struct frontend *f, uv_loop_t *loop)
{
  unsigned cols, rows;

  if (!wants_display(f->cli) || !(f->display = malloc(sizeof(*f->display))))
    return;
  f->is_tty = true;
  term_size(&cols, &rows);
  progress_init(&f->display->progress, cols, rows);
  uv_timer_init(loop, &f->tick);
  uv_signal_init(loop, &f->sigwinch);
  f->tick.data = f->sigwinch.data = f;
  uv_timer_start(&f->tick, on_tick, TICK_MS, TICK_MS);
  uv_signal_start(&f->sigwinch, on_winch, SIGWINCH);
  uv_unref((uv_handle_t *)&f->tick);
  uv_unref((uv_handle_t *)&f->sigwinch);
}

/* Erases the area for good: what follows prints plainly. */
static void end_display(struct frontend *f)
{
  if (!f->display)
    return;
  uv_timer_stop(&f->tick);
  uv_signal_stop(&f->sigwinch);
  area_hide(f);
  free(f->display);
  f->display = NULL;
}

static void print_summary(struct frontend *f, uint64_t start_ns)
{
  struct corral_stats s;
  double secs = (double)(uv_hrtime() - start_ns) / 1e9;

  corral_get_stats(f->corral, &s);
  s.failed += f->bad_args;
  if (f->cli->quiet)
    return;
  if (f->cli->opts.dry_run) {
    fprintf(stderr,
            "dry run: %llu entries, %llu to fetch, %llu duplicate, "
            "%llu failed\n",
            (unsigned long long)s.entries, (unsigned long long)s.downloaded,
            (unsigned long long)s.duplicate, (unsigned long long)s.failed);
    return;
  }
  fprintf(stderr,
          "%llu downloaded, %llu duplicate, %llu skipped, "
          "%llu failed, %llu bytes in %.2f s\n",
          (unsigned long long)s.downloaded, (unsigned long long)s.duplicate,
          (unsigned long long)s.skipped, (unsigned long long)s.failed,
          (unsigned long long)s.bytes, secs);
}

static int exit_status(struct frontend *f)
{
  struct corral_stats s;

  if (f->signal)
    return 128 + f->signal;
  corral_get_stats(f->corral, &s);
  return s.failed || f->bad_args || f->report_err ? 1 : 0;
}

static int run(struct frontend *f, uv_loop_t *loop)
{
  uint64_t start = uv_hrtime();
  int err, rc;

  f->cli->opts.on_done = on_done;
  f->cli->opts.on_log = on_log;
  f->cli->opts.data = f;
  if ((err = corral_new(&f->corral, loop, &f->cli->opts))) {
    fprintf(stderr, "corral: output dir %s: %s\n", f->cli->opts.output_dir,
            corral_strerror(err));
    return 2;
  }
  start_signals(f, loop);
  start_display(f, loop);
  add_inputs(f);
  uv_run(loop, UV_RUN_DEFAULT);
  end_display(f);
  print_summary(f, start);
  rc = exit_status(f);
  corral_free(f->corral);
  stop_signals(f, loop);
  return rc;
}

int frontend_run(struct cli *cli)
{
  struct frontend f;
  uv_loop_t loop;
  int rc, err;

  memset(&f, 0, sizeof(f));
  f.cli = cli;
  if ((rc = open_inputs(&f)))
    goto out;
  if (cli->report_path && (err = report_open(&f.report, cli->report_path))) {
    fprintf(stderr, "corral: cannot write %s: %s\n", cli->report_path,
            strerror(-err));
    rc = 2;
    goto out;
  }
  if (uv_loop_init(&loop)) {
    rc = 2;
    goto out;
  }
  rc = run(&f, &loop);
  uv_loop_close(&loop);
out:
  report_close(&f.report);
  close_inputs(&f);
  return rc;
}
