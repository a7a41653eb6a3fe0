/*
 * frontend: what the user of the corral command sees.  The library reports
 * every finished entry through on_done; here each becomes a line on stderr
 * and an object in the report.  Signals arrive through uv_signal_t handles
 * that do not keep the loop alive, so the loop ends when the job does.
 */
#include "frontend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "report.h"

struct frontend {
  struct cli *cli;
  struct corral *corral;
  struct report *report;
  uv_signal_t sigint, sigterm;
  int *fds;
  int signal;        /* the first stop signal received, or 0 */
  unsigned bad_args; /* positional URLs the library refused */
  int report_err;
};

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
      fprintf(stderr, "%s\n", r->msg); /* already "FILE:LINE: reason" */
    else
      fprintf(stderr, "failed %s: %s\n", r->url, r->msg);
    return;
  }
  if (f->cli->quiet || f->cli->opts.dry_run)
    return;
  if (r->status == CORRAL_STATUS_OK)
    fprintf(stderr, "ok %s -> %s (%llu bytes)\n", r->url, r->path,
            (unsigned long long)r->bytes);
  else
    fprintf(stderr, "%s %s -> %s\n", names[r->status], r->url, r->path);
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
    fprintf(stderr, "corral: %s: %s\n", f->cli->report_path, strerror(-err));
  }
}

static void on_log(enum corral_log_level level, const char *msg, void *data)
{
  struct frontend *f = data;

  if (level == CORRAL_LOG_ERROR ||
      (level == CORRAL_LOG_INFO && f->cli->verbose))
    fprintf(stderr, "%s\n", msg);
}

static void on_signal(uv_signal_t *handle, int signum)
{
  struct frontend *f = handle->data;

  if (f->signal) {
    /* A second signal: the user wants out now. */
    if (signum == SIGINT)
      _exit(130);
    return;
  }
  f->signal = signum;
  if (!f->cli->quiet)
    fprintf(stderr, "corral: %s, stopping (again to quit at once)\n",
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
      fprintf(stderr, "corral: %s: %s\n", cli->urls[i], why);
      f->bad_args++;
    }
  }
  for (i = 0; i < cli->n_inputs; i++)
    if ((err = corral_read(f->corral, f->fds[i], cli->inputs[i])))
      fprintf(stderr, "corral: %s: %s\n", cli->inputs[i],
              corral_strerror(err));
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
  uv_run(loop, UV_RUN_DEFAULT);
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
  add_inputs(f);
  uv_run(loop, UV_RUN_DEFAULT);
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
