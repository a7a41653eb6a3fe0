/*
 * testsrv: the C side of the loopback test server.  testsrv_start() forks
 * and execs python3 testsrv.py with two pipes (its stdin, whose EOF stops
 * it, and its stdout, which carries the one "PORTS ..." line), closing
 * every other descriptor in the child.  The counters live in the server;
 * the query functions fetch /_stats, /_log and /_reset with a fresh
 * libcurl easy handle each and pick numbers out of the JSON with strstr:
 * the server prints its scalar fields before any target name, so the first
 * match of "key": is the field.  testsrv_body() is the server's body
 * formula, so tests can check downloads byte for byte.
 */
#include "testsrv.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 5000
#define FETCH_TIMEOUT_S 10L

struct fetch_buf {
  char *data;
  size_t len;
};

static long now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* Makes a pipe whose ends are not inherited by other programs we exec. */
static int make_pipe(int fds[2])
{
  if (pipe(fds))
    return -1;
  if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) == -1 ||
      fcntl(fds[1], F_SETFD, FD_CLOEXEC) == -1) {
    close_fd(&fds[0]);
    close_fd(&fds[1]);
    return -1;
  }
  return 0;
}

/*
 * The highest descriptor open now, found in the parent because reading a
 * directory is not safe between fork and exec.
 */
static int highest_fd(void)
{
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *de;
  long max = 2, open_max;

  if (!dir) {
    open_max = sysconf(_SC_OPEN_MAX);
    return open_max < 0 || open_max > 65536 ? 65535 : (int)open_max - 1;
  }
  for (;;) {
    long fd;

    de = readdir(dir);
    if (!de)
      break;
    fd = strtol(de->d_name, NULL, 10);
    if (fd > max)
      max = fd;
  }
  closedir(dir);
  return (int)max;
}

/*
 * In the forked child: stdin and stdout become the pipes, everything else
 * above stderr is closed, signals are back to their defaults, then exec.
 * Only async-signal-safe calls from here on.
 */
static _Noreturn void child_exec(int in_r, int out_w, int maxfd,
                                 char *const argv[])
{
  int in = fcntl(in_r, F_DUPFD, 3), out = fcntl(out_w, F_DUPFD, 3);
  struct sigaction sa;
  sigset_t none;
  int fd;

  if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
    _exit(127);
  if (in > maxfd)
    maxfd = in;
  if (out > maxfd)
    maxfd = out;
  for (fd = 3; fd <= maxfd; fd++)
    close(fd);
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGPIPE, &sa, NULL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvp(argv[0], argv);
  _exit(127);
}

/* Parses "PORTS p1 ... pN\n" into s->port; 0 or -1. */
static int parse_ports(struct testsrv *s, const char *line)
{
  const char *p = line + strlen("PORTS");
  char *end;
  unsigned i;

  if (strncmp(line, "PORTS ", 6))
    return -1;
  for (i = 0; i < s->nports; i++) {
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || !v || v > 65535)
      return -1;
    s->port[i] = (unsigned)v;
    p = end;
  }
  return *p == '\n' ? 0 : -1;
}

/* Waits up to ms for fd to be readable: 1 ready, 0 timed out, -1 error. */
static int wait_readable(int fd, long ms)
{
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  int r;

  if (ms <= 0)
    return 0;
  r = poll(&pfd, 1, (int)ms);
  if (r < 0 && errno == EINTR)
    return 0;
  return r < 0 ? -1 : 1;
}

/* Reads the child's first line (until the deadline) and parses it. */
static int read_ports(struct testsrv *s, int fd)
{
  char line[256];
  size_t len = 0;
  long deadline = now_ms() + START_TIMEOUT_MS;
  ssize_t n;
  int r;

  while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
    r = wait_readable(fd, deadline - now_ms());
    if (r < 0 || (!r && now_ms() >= deadline))
      return -1;
    if (!r)
      continue;
    n = read(fd, line + len, sizeof(line) - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    len += (size_t)n;
  }
  line[len] = '\0';
  return parse_ports(s, line);
}

/* SIGTERM, reap within STOP_TIMEOUT_MS, else SIGKILL and reap. */
static void kill_and_reap(pid_t pid)
{
  struct timespec tick = {0, 10 * 1000000L};
  long deadline = now_ms() + STOP_TIMEOUT_MS;
  pid_t r;

  kill(pid, SIGTERM);
  while (now_ms() < deadline) {
    r = waitpid(pid, NULL, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR))
      return;
    nanosleep(&tick, NULL);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

int testsrv_start(struct testsrv *s, unsigned nports)
{
  const char *script = getenv("CORRAL_TESTSRV");
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  char count[16];
  char *argv[5];
  int err = -1, maxfd;

  s->pid = -1;
  s->to_child = -1;
  s->nports = nports;
  if (!nports || nports > TESTSRV_MAX_PORTS)
    goto out;
  if (make_pipe(in) || make_pipe(out))
    goto out;
  snprintf(count, sizeof(count), "%u", nports);
  argv[0] = "python3";
  argv[1] = (char *)(script && *script ? script : "test/testsrv.py");
  argv[2] = "--ports";
  argv[3] = count;
  argv[4] = NULL;
  maxfd = highest_fd();
  s->pid = fork();
  if (s->pid < 0)
    goto out;
  if (!s->pid)
    child_exec(in[0], out[1], maxfd, argv);
  close_fd(&in[0]);
  close_fd(&out[1]);
  s->to_child = in[1];
  in[1] = -1;
  err = read_ports(s, out[0]);
out:
  close_fd(&in[0]);
  close_fd(&in[1]);
  close_fd(&out[0]);
  close_fd(&out[1]);
  if (err)
    testsrv_stop(s);
  return err;
}

void testsrv_stop(struct testsrv *s)
{
  close_fd(&s->to_child);
  if (s->pid > 0)
    kill_and_reap(s->pid);
  s->pid = -1;
}

static size_t cb_write(char *ptr, size_t size, size_t nmemb, void *userp)
{
  struct fetch_buf *b = userp;
  size_t n = size * nmemb;
  char *p = realloc(b->data, b->len + n + 1);

  if (!p)
    return 0;
  memcpy(p + b->len, ptr, n);
  b->data = p;
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/*
 * GETs path (a control route) on the first port, with "?t=<target>" when
 * target is not NULL.  Returns the malloc'd NUL-terminated body of a 200
 * answer, or NULL.
 */
static char *fetch(struct testsrv *s, const char *path, const char *target)
{
  struct fetch_buf b = {NULL, 0};
  CURL *h = curl_easy_init();
  char *esc = NULL, url[4096];
  long code = 0;

  if (!h || s->pid <= 0)
    goto out;
  if (target) {
    esc = curl_easy_escape(h, target, 0);
    if (!esc)
      goto out;
  }
  snprintf(url, sizeof(url), "http://127.0.0.1:%u%s%s%s", s->port[0], path,
           esc ? "?t=" : "", esc ? esc : "");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, FETCH_TIMEOUT_S);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  if (curl_easy_perform(h) != CURLE_OK ||
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
      code != 200 || !b.data) {
    free(b.data);
    b.data = NULL;
  }
out:
  curl_free(esc);
  curl_easy_cleanup(h);
  return b.data;
}

/* The integer after the first "key": in json at or after from; or -1. */
static long json_long(const char *from, const char *key)
{
  char pat[64];
  const char *p;
  char *end;
  long v;

  snprintf(pat, sizeof(pat), "\"%s\": ", key);
  p = strstr(from, pat);
  if (!p)
    return -1;
  p += strlen(pat);
  v = strtol(p, &end, 10);
  return end == p ? -1 : v;
}

/* Fetches /_stats (for target if not NULL) and returns field key. */
static long stats_field(struct testsrv *s, const char *target, const char *key)
{
  char *json = fetch(s, "/_stats", target);
  long v = json ? json_long(json, key) : -1;

  free(json);
  return v;
}

long testsrv_requests(struct testsrv *s, const char *target)
{
  return stats_field(s, target, "count");
}

long testsrv_total(struct testsrv *s)
{
  return stats_field(s, NULL, "total");
}

long testsrv_max_conns(struct testsrv *s, int port_index)
{
  char *json = NULL;
  const char *by_port;
  char key[16];
  long v = -1;

  if (port_index < 0)
    return stats_field(s, NULL, "max_conns");
  if ((unsigned)port_index >= s->nports)
    goto out;
  json = fetch(s, "/_stats", NULL);
  by_port = json ? strstr(json, "\"max_conns_by_port\": {") : NULL;
  if (!by_port)
    goto out;
  snprintf(key, sizeof(key), "%u", s->port[port_index]);
  v = json_long(by_port, key);
out:
  free(json);
  return v;
}

int testsrv_reset(struct testsrv *s)
{
  char *json = fetch(s, "/_reset", NULL);

  free(json);
  return json ? 0 : -1;
}

static unsigned target_seed(const char *target)
{
  const unsigned char *p = (const unsigned char *)target;
  unsigned sum = 0;

  while (*p)
    sum += *p++;
  return sum & 0xff;
}

void testsrv_body(const char *target, unsigned char *buf, size_t n)
{
  unsigned seed = target_seed(target);
  size_t i;

  for (i = 0; i < n; i++)
    buf[i] = (unsigned char)((i * 7 + seed) & 0xff);
}

int testsrv_file_matches(const char *path, const char *target, size_t n)
{
  unsigned char buf[65536];
  unsigned seed = target_seed(target);
  FILE *f = fopen(path, "rb");
  size_t off = 0, got, i;
  int ok = 0;

  if (!f)
    return 0;
  for (;;) {
    got = fread(buf, 1, sizeof(buf), f);
    if (!got)
      break;
    if (got > n - off)
      goto out;
    for (i = 0; i < got; i++) {
      if (buf[i] != (unsigned char)(((off + i) * 7 + seed) & 0xff))
        goto out;
    }
    off += got;
  }
  ok = !ferror(f) && off == n;
out:
  fclose(f);
  return ok;
}

void testsrv_url(struct testsrv *s, unsigned i, const char *target, char *buf,
                 size_t len)
{
  unsigned port = i < s->nports ? s->port[i] : 0;

  snprintf(buf, len, "http://127.0.0.1:%u%s", port, target);
}

char *testsrv_log(struct testsrv *s, const char *target)
{
  return fetch(s, "/_log", target);
}

const char *corral_bin_env(void)
{
  const char *bin = getenv("CORRAL_BIN");

  return bin && *bin ? bin : getenv("CORRAL_BIN_DEFAULT");
}
