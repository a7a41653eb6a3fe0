/*
 * harness: the helpers the server-backed tests share (see harness.h).  A
 * library run records each on_done call by line without asserting inside
 * the callback, then checks after the loop ended that every entry ended
 * exactly once; the _plain run returns what went wrong instead of
 * asserting, for children forked inside a test.  Binary runs fork and exec
 * corral with pipes and read its stderr to EOF before reaping it.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#define URL_BUFS 64
#define URL_LEN 600
#define MAX_ARGS 64

/* ---- the fixture -------------------------------------------------------- */

void harness_setup(struct testsrv *srv, unsigned nports, char *dir, size_t len,
                   const char *name)
{
  int n;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  ck_assert_int_eq(testsrv_start(srv, nports), 0);
  n = snprintf(dir, len, "/tmp/corral-%s-XXXXXX", name);
  ck_assert(n > 0 && (size_t)n < len);
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

void harness_teardown(struct testsrv *srv, const char *dir)
{
  testsrv_stop(srv);
  ck_assert_int_eq(harness_rm_rf(dir), 0);
  curl_global_cleanup();
}

int harness_rm_rf(const char *dir)
{
  char cmd[512];
  int n;

  n = snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", dir, dir);
  if (n < 0 || (size_t)n >= sizeof(cmd))
    return -1;
  return system(cmd);
}

/* ---- library runs ------------------------------------------------------- */

void harness_lib_init(struct harness_lib *lib, unsigned max_lines)
{
  memset(lib, 0, sizeof(*lib));
  lib->got = calloc((size_t)max_lines + 1, sizeof(*lib->got));
  ck_assert_ptr_nonnull(lib->got);
  lib->max_lines = max_lines;
}

void harness_lib_release(struct harness_lib *lib)
{
  free(lib->got);
  memset(lib, 0, sizeof(*lib));
}

void harness_lib_reset(struct harness_lib *lib)
{
  if (lib->got)
    memset(lib->got, 0, ((size_t)lib->max_lines + 1) * sizeof(*lib->got));
  lib->n_done = 0;
  lib->strays = 0;
}

/* Records r by line; never asserts (it may run in a forked child). */
static void on_done(const struct corral_result *r, void *data)
{
  struct harness_lib *lib = data;
  struct harness_got *g;

  lib->n_done++;
  if (r->line < 1 || r->line > lib->max_lines) {
    lib->strays++;
    return;
  }
  g = &lib->got[r->line];
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

void harness_opts(struct harness_lib *lib, struct corral_opts *o,
                  const char *output_dir)
{
  corral_opts_init(o);
  o->output_dir = output_dir;
  o->on_done = on_done;
  o->data = lib;
}

/* After a run: each entry ended once, and nothing else ended. */
static int check_ends(struct harness_lib *lib, const struct corral_entry *e,
                      unsigned n)
{
  unsigned i;

  if (lib->strays) {
    lib->why = "on_done for a line outside 1..max_lines";
    return 1;
  }
  if (lib->n_done != n) {
    lib->why = "on_done calls differ from the number of entries";
    return 1;
  }
  for (i = 0; i < n; i++)
    if (e[i].line < 1 || e[i].line > lib->max_lines ||
        lib->got[e[i].line].seen != 1) {
      lib->why = "an entry did not end exactly once";
      return 1;
    }
  return 0;
}

static int add_all(struct harness_lib *lib, struct corral *c,
                   const struct corral_entry *e, unsigned n)
{
  unsigned i;

  for (i = 0; i < n; i++)
    if (corral_add(c, &e[i], NULL)) {
      lib->why = "corral_add failed";
      return 1;
    }
  return 0;
}

int harness_run_plain(struct harness_lib *lib, const struct corral_opts *o,
                      const struct corral_entry *e, unsigned n)
{
  struct corral *c = NULL;
  uv_loop_t loop;
  int err = 0;

  harness_lib_reset(lib);
  lib->why = NULL;
  if (uv_loop_init(&loop)) {
    lib->why = "uv_loop_init failed";
    return 1;
  }
  if (corral_new(&c, &loop, o)) {
    lib->why = "corral_new failed";
    err = 1;
    goto out;
  }
  err = add_all(lib, c, e, n);
  if (err)
    goto out;
  corral_input_end(c);
  if (uv_run(&loop, UV_RUN_DEFAULT)) {
    lib->why = "uv_run returned with handles left";
    err = 1;
  }
out:
  corral_free(c);
  if (uv_loop_close(&loop) && !err) {
    lib->why = "uv_loop_close: the loop still has handles";
    err = 1;
  }
  return err ? err : check_ends(lib, e, n);
}

void harness_run(struct harness_lib *lib, const struct corral_opts *o,
                 const struct corral_entry *e, unsigned n)
{
  int rc = harness_run_plain(lib, o, e, n);

  ck_assert_msg(rc == 0, "library run: %s (n_done %u of %u)", lib->why,
                lib->n_done, n);
}

void harness_run_urls(struct harness_lib *lib, const struct corral_opts *o,
                      char *const *urls, char *const *outs, unsigned n)
{
  struct corral_entry *e = calloc(n ? n : 1, sizeof(*e));
  unsigned i;

  ck_assert_ptr_nonnull(e);
  for (i = 0; i < n; i++) {
    e[i].url = urls[i];
    e[i].out = outs ? outs[i] : NULL;
    e[i].line = i + 1;
  }
  harness_run(lib, o, e, n);
  free(e);
}

/* ---- URLs, paths and files ---------------------------------------------- */

char *harness_url(struct testsrv *srv, unsigned i, const char *target)
{
  static char buf[URL_BUFS][URL_LEN];
  static unsigned next;
  char *b = buf[next++ % URL_BUFS];

  testsrv_url(srv, i, target, b, URL_LEN);
  return b;
}

char *harness_url_dup(struct testsrv *srv, unsigned i, const char *target)
{
  char buf[URL_LEN], *p;

  testsrv_url(srv, i, target, buf, sizeof(buf));
  p = strdup(buf);
  ck_assert_ptr_nonnull(p);
  return p;
}

void harness_free_urls(char **urls, unsigned n)
{
  unsigned i;

  for (i = 0; i < n; i++)
    free(urls[i]);
}

void harness_path(char *buf, size_t len, const char *dir, const char *name)
{
  int n = snprintf(buf, len, "%s/%s", dir, name);

  ck_assert_msg(n > 0 && (size_t)n < len, "path too long: %s/%s", dir, name);
}

int harness_file_matches(const char *dir, const char *name, const char *target,
                         size_t n)
{
  char path[1024];

  harness_path(path, sizeof(path), dir, name);
  return testsrv_file_matches(path, target, n);
}

bool harness_exists(const char *dir, const char *name)
{
  char path[1024];
  struct stat st;

  harness_path(path, sizeof(path), dir, name);
  return lstat(path, &st) == 0;
}

void harness_write(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");

  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

void harness_writef(const char *path, const char *fmt, ...)
{
  FILE *f = fopen(path, "w");
  va_list ap;
  int n;

  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  va_start(ap, fmt);
  n = vfprintf(f, fmt, ap);
  va_end(ap);
  ck_assert_int_ge(n, 0);
  ck_assert_int_eq(fclose(f), 0);
}

/* ---- the corral binary -------------------------------------------------- */

const char *harness_bin(void)
{
  static char path[4096];
  const char *bin = corral_bin_env();
  size_t n;

  if (!bin)
    bin = "build/corral";
  if (bin[0] == '/')
    return bin;
  ck_assert_ptr_nonnull(getcwd(path, sizeof(path) - 1));
  n = strlen(path);
  snprintf(path + n, sizeof(path) - n, "/%s", bin);
  return path;
}

void harness_argv(char **argv, size_t cap, char *const *args)
{
  size_t i;

  ck_assert_uint_ge(cap, 2);
  argv[0] = (char *)"corral";
  for (i = 0; args[i]; i++) {
    ck_assert_uint_lt(i + 2, cap);
    argv[i + 1] = args[i];
  }
  argv[i + 1] = NULL;
}

/* In the child: no proxy from the machine, then the test's variables. */
static void child_env(char *const *env)
{
  static const char *const proxy_vars[] = {
      "http_proxy", "https_proxy", "all_proxy", "no_proxy",
      "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"};
  size_t i;

  for (i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
    unsetenv(proxy_vars[i]);
  for (i = 0; env && env[i]; i++) {
    char name[64];
    const char *eq = strchr(env[i], '=');
    size_t len = eq ? (size_t)(eq - env[i]) : 0;

    if (!len || len >= sizeof(name))
      _exit(126);
    memcpy(name, env[i], len);
    name[len] = '\0';
    setenv(name, eq + 1, 1);
  }
}

struct harness_child harness_spawn(char *const *args, bool with_stdin,
                                   char *const *env)
{
  int in[2] = {-1, -1}, errp[2];
  const char *bin = harness_bin();
  char *argv[MAX_ARGS];
  struct harness_child c;

  harness_argv(argv, MAX_ARGS, args);
  ck_assert_int_eq(pipe(errp), 0);
  if (with_stdin)
    ck_assert_int_eq(pipe(in), 0);
  c.pid = fork();
  ck_assert_int_ge(c.pid, 0);
  if (!c.pid) {
    dup2(with_stdin ? in[0] : open("/dev/null", O_RDONLY), 0);
    dup2(errp[1], 2);
    close(errp[0]);
    if (with_stdin)
      close(in[1]);
    child_env(env);
    execv(bin, argv);
    _exit(127);
  }
  close(errp[1]);
  if (with_stdin)
    close(in[0]);
  c.in = in[1];
  c.err = errp[0];
  return c;
}

int harness_finish(struct harness_child *c, char *text, size_t cap)
{
  char buf[4096];
  size_t len = 0, take;
  ssize_t n;

  if (c->in >= 0)
    close(c->in);
  c->in = -1;
  while ((n = read(c->err, buf, sizeof(buf))) > 0) {
    take = (size_t)n;
    if (take > cap - 1 - len)
      take = cap - 1 - len;
    memcpy(text + len, buf, take);
    len += take;
  }
  text[len] = '\0';
  close(c->err);
  return harness_wait_exit(c->pid);
}

int harness_run_bin(char *const *args, const char *input, char *const *env,
                    char *text, size_t cap)
{
  struct harness_child c = harness_spawn(args, input != NULL, env);

  if (input)
    ck_assert_int_eq(write(c.in, input, strlen(input)),
                     (ssize_t)strlen(input));
  return harness_finish(&c, text, cap);
}

int harness_wait_exit(pid_t pid)
{
  int status;

  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status), "corral died: status %d", status);
  return WEXITSTATUS(status);
}

const char *harness_last_line(char *text)
{
  size_t len = strlen(text);
  char *p;

  while (len && text[len - 1] == '\n')
    text[--len] = '\0';
  p = strrchr(text, '\n');
  return p ? p + 1 : text;
}

bool harness_starts_with(const char *s, const char *prefix)
{
  return !strncmp(s, prefix, strlen(prefix));
}

/* ---- time and ports ----------------------------------------------------- */

void harness_sleep_ms(long ms)
{
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

  nanosleep(&t, NULL);
}

double harness_now_s(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int harness_wait_requests(struct testsrv *srv, const char *target, long n,
                          long timeout_ms)
{
  double deadline = harness_now_s() + (double)timeout_ms / 1000.0;

  for (;;) {
    if (testsrv_requests(srv, target) >= n)
      return 1;
    if (harness_now_s() >= deadline)
      return 0;
    harness_sleep_ms(20);
  }
}

unsigned harness_free_port(void)
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
