/*
 * test_http: the HTTP options and the Network section of the SPEC, held
 * against the corral binary ($CORRAL_BIN, else build/corral).  The "tls"
 * case runs a real nginx (HTTPS + HTTP/2) started by a checked fixture in a
 * temp dir with a CA and a 127.0.0.1 certificate the fixture makes with the
 * openssl CLI, on a free port; the fixture stops nginx by its pid (and the
 * nginx process group) in teardown, and an atexit hook plus
 * PR_SET_PDEATHSIG stop it when a failed assertion or a Check timeout ends
 * the test early.  nginx's access log records $connection and
 * $server_protocol, so the multiplexing case can count connections.  The
 * "http" case uses testsrv.py (two ports) for -H/-A, --limit-rate and the
 * proxy variables.  Every corral child starts with the proxy variables
 * unset, so the machine's own proxy settings never leak into a case.
 */
#include <check.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "corral.h"
#include "harness.h"
#include "testsrv.h"

#define NFILES 20
#define START_TRIES 5

static struct testsrv srv = {.pid = -1, .to_child = -1};
static char dir[64];
static char out[600];
static char err_text[1 << 18];
static pid_t nginx_pid = -1;
static unsigned nginx_port;

/* ---- small helpers ------------------------------------------------------
 */

/* Reads up to cap - 1 bytes of path into buf, NUL-terminated; -1 if none. */
static long read_file(const char *path, char *buf, size_t cap)
{
  FILE *f = fopen(path, "r");
  size_t n;

  if (!f)
    return -1;
  n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
  return (long)n;
}

static void nginx_stop(void);

/* Removes the temp dir, once; 0 when it worked or there was none. */
static int remove_dir_once(void)
{
  char path[sizeof(dir)];
  int rc;

  if (!dir[0])
    return 0;
  memcpy(path, dir, sizeof(path));
  dir[0] = '\0';
  rc = harness_rm_rf(path);
  if (rc)
    fprintf(stderr, "test_http: could not remove %s\n", path);
  return rc;
}

static void remove_dir(void)
{
  ck_assert_int_eq(remove_dir_once(), 0);
}

/*
 * A failed assertion ends a forked test with exit() and skips the
 * teardown: this hook still stops nginx and removes the temp dir.
 */
static void cleanup_at_exit(void)
{
  nginx_stop();
  remove_dir_once();
}

static void make_dir(void)
{
  static bool hooked;

  if (!hooked && atexit(cleanup_at_exit) == 0)
    hooked = true;
  strcpy(dir, "/tmp/corral-http-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  /* nginx's worker runs as nobody when the tests run as root. */
  ck_assert_int_eq(chmod(dir, 0755), 0);
  snprintf(out, sizeof(out), "%s/out", dir);
}

/* ---- running corral -----------------------------------------------------
 */

/*
 * Runs corral with args (NULL-terminated, without argv[0]) and the extra
 * "NAME=value" strings of env (may be NULL); stderr lands in err_text.
 * Returns the exit status.
 */
static int run_env(char *const *args, char *const *env)
{
  return harness_run_bin(args, NULL, env, err_text, sizeof(err_text));
}

static int run(char *const *args)
{
  return run_env(args, NULL);
}

/* ---- the nginx site -----------------------------------------------------
 */

static size_t file_size(unsigned k)
{
  return 65536 + k * 1000;
}

static unsigned char file_byte(unsigned k, size_t i)
{
  return (unsigned char)((i * 13 + k * 31) & 0xff);
}

/* Returns 1 if path holds exactly the content of site file fK.bin. */
static int file_matches(const char *path, unsigned k)
{
  FILE *f = fopen(path, "rb");
  size_t i, n = file_size(k);
  int c, ok = 0;

  if (!f)
    return 0;
  for (i = 0; i < n; i++) {
    c = getc(f);
    if (c != file_byte(k, i))
      goto out;
  }
  ok = getc(f) == EOF;
out:
  fclose(f);
  return ok;
}

static int out_matches(unsigned k)
{
  char path[700];

  snprintf(path, sizeof(path), "%s/f%u.bin", out, k);
  return file_matches(path, k);
}

static void make_site(void)
{
  char path[700];
  unsigned char *buf = malloc(file_size(NFILES));
  unsigned k;
  size_t i;

  ck_assert_ptr_nonnull(buf);
  snprintf(path, sizeof(path), "%s/www", dir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof(path), "%s/tmp", dir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  for (k = 1; k <= NFILES; k++) {
    for (i = 0; i < file_size(k); i++)
      buf[i] = file_byte(k, i);
    snprintf(path, sizeof(path), "%s/www/f%u.bin", dir, k);
    harness_write(path, buf, file_size(k));
  }
  free(buf);
}

/* A CA (ca.pem) and a server certificate for IP 127.0.0.1 signed by it. */
static void make_certs(void)
{
  static const char ca_cnf[] = "[req]\ndistinguished_name = dn\nprompt = no\n"
                               "[dn]\nCN = corral test CA\n"
                               "[v3ca]\nbasicConstraints = critical,CA:TRUE\n"
                               "keyUsage = critical,keyCertSign,cRLSign\n"
                               "subjectKeyIdentifier = hash\n";
  static const char srv_cnf[] = "[req]\ndistinguished_name = dn\nprompt = no\n"
                                "[dn]\nCN = 127.0.0.1\n";
  static const char srv_ext[] = "basicConstraints = CA:FALSE\n"
                                "keyUsage = critical,digitalSignature\n"
                                "extendedKeyUsage = serverAuth\n"
                                "subjectAltName = IP:127.0.0.1\n";
  char path[700], cmd[2048];

  snprintf(path, sizeof(path), "%s/ca.cnf", dir);
  harness_write(path, ca_cnf, strlen(ca_cnf));
  snprintf(path, sizeof(path), "%s/srv.cnf", dir);
  harness_write(path, srv_cnf, strlen(srv_cnf));
  snprintf(path, sizeof(path), "%s/srv.ext", dir);
  harness_write(path, srv_ext, strlen(srv_ext));
  snprintf(cmd, sizeof(cmd),
           "cd '%s' && exec 2>openssl.log && "
           "openssl req -x509 -config ca.cnf -extensions v3ca -newkey ec "
           "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
           "-keyout ca.key -out ca.pem && "
           "openssl req -new -config srv.cnf -newkey ec "
           "-pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           "-keyout srv.key -out srv.csr && "
           "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
           "-CAcreateserial -days 2 -extfile srv.ext -out srv.pem",
           dir);
  ck_assert_msg(system(cmd) == 0, "openssl failed, see %s/openssl.log", dir);
}

/* Paths in the config are relative to the prefix (-p), the temp dir. */
static void write_conf(unsigned port)
{
  char path[700], conf[4096];
  int n;

  n = snprintf(
      conf, sizeof(conf),
      "worker_processes 1;\ndaemon off;\nmaster_process on;\n"
      "pid nginx.pid;\nerror_log error.log notice;\n"
      "events { worker_connections 256; }\n"
      "http {\n"
      "  log_format t '$connection $server_protocol $request_uri $status';\n"
      "  access_log access.log t;\n"
      "  client_body_temp_path tmp/body;\n"
      "  proxy_temp_path tmp/proxy;\n"
      "  fastcgi_temp_path tmp/fastcgi;\n"
      "  uwsgi_temp_path tmp/uwsgi;\n"
      "  scgi_temp_path tmp/scgi;\n"
      "  default_type application/octet-stream;\n"
      "  server {\n"
      "    listen 127.0.0.1:%u ssl http2;\n"
      "    ssl_certificate srv.pem;\n"
      "    ssl_certificate_key srv.key;\n"
      "    root www;\n"
      "  }\n"
      "}\n",
      port);
  ck_assert(n > 0 && (size_t)n < sizeof(conf));
  snprintf(path, sizeof(path), "%s/nginx.conf", dir);
  harness_write(path, conf, (size_t)n);
}

/* ---- the nginx process --------------------------------------------------
 */

static int port_accepts(unsigned port)
{
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

  if (fd < 0)
    return 0;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  close(fd);
  return ok;
}

static void nginx_exec(void)
{
  const char *bin = getenv("CORRAL_NGINX");
  char conf[700], elog[700];

  snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
  snprintf(elog, sizeof(elog), "%s/error.log", dir);
  /* Its own group, so teardown reaches the workers too. */
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  dup2(open("/dev/null", O_RDONLY), 0);
  if (!bin)
    bin = access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
  execlp(bin, "nginx", "-e", elog, "-p", dir, "-c", conf, (char *)NULL);
  _exit(127);
}

/*
 * Waits (up to 15 s) until nginx accepts on nginx_port.  Returns 1 when it
 * does, 0 when nginx exited first (reaped; nginx_pid is -1).
 */
static int nginx_wait_ready(void)
{
  int i, status;

  for (i = 0; i < 750; i++) {
    if (waitpid(nginx_pid, &status, WNOHANG) == nginx_pid) {
      nginx_pid = -1;
      return 0;
    }
    if (port_accepts(nginx_port))
      return 1;
    harness_sleep_ms(20);
  }
  ck_abort_msg("nginx did not listen on %u within 15 s", nginx_port);
  return 0;
}

static void nginx_stop(void)
{
  int i, status;

  if (nginx_pid < 0)
    return;
  kill(-nginx_pid, SIGTERM);
  for (i = 0; i < 250; i++) {
    if (waitpid(nginx_pid, &status, WNOHANG) == nginx_pid)
      break;
    harness_sleep_ms(20);
  }
  if (i == 250) {
    kill(-nginx_pid, SIGKILL);
    waitpid(nginx_pid, &status, 0);
  }
  nginx_pid = -1;
}

/* Starts nginx on a free port, again on another one if that got taken. */
static void nginx_start(void)
{
  char log[8192], path[700];
  int try;

  snprintf(path, sizeof(path), "%s/error.log", dir);
  for (try = 0; try < START_TRIES; try++) {
    nginx_port = harness_free_port();
    write_conf(nginx_port);
    nginx_pid = fork();
    ck_assert_int_ge(nginx_pid, 0);
    if (!nginx_pid)
      nginx_exec();
    if (nginx_wait_ready())
      return;
    if (read_file(path, log, sizeof(log)) < 0 ||
        !strstr(log, "Address already in use"))
      ck_abort_msg("nginx did not start:\n%s", log);
  }
  ck_abort_msg("nginx: no free port after %d tries", START_TRIES);
}

static void tls_setup(void)
{
  make_dir();
  make_certs();
  make_site();
  nginx_start();
}

static void tls_teardown(void)
{
  nginx_stop();
  remove_dir();
}

static char *site_url(unsigned k)
{
  static char buf[NFILES + 1][128];

  snprintf(buf[k], sizeof(buf[k]), "https://127.0.0.1:%u/f%u.bin", nginx_port,
           k);
  return buf[k];
}

static char *ca_path(void)
{
  static char path[700];

  snprintf(path, sizeof(path), "%s/ca.pem", dir);
  return path;
}

/* ---- TLS and HTTP/2 -----------------------------------------------------
 */

START_TEST(test_https_with_cacert)
{
  char *args[] = {"--cacert",  ca_path(),   "-o", out,
                  site_url(1), site_url(2), NULL};

  ck_assert_msg(run(args) == 0, "%s", err_text);
  ck_assert(out_matches(1));
  ck_assert(out_matches(2));
  ck_assert_ptr_nonnull(strstr(err_text, "2 downloaded, 0 duplicate"));
}
END_TEST

static int mentions_certificate(const char *s)
{
  return strstr(s, "SSL certificate") || strstr(s, "self-signed") ||
         strstr(s, "self signed") || strstr(s, "local issuer");
}

START_TEST(test_https_without_cacert_fails_clearly)
{
  char report[700], line[4096];
  char *args[] = {"-o", out, "--report", report, site_url(3), NULL};
  long n;

  snprintf(report, sizeof(report), "%s/report.jsonl", dir);
  ck_assert_int_eq(run(args), 1);
  ck_assert_msg(mentions_certificate(err_text), "%s", err_text);
  ck_assert_ptr_nonnull(strstr(err_text, site_url(3)));
  ck_assert(!harness_exists(out, "f3.bin"));
  ck_assert(!harness_exists(out, "f3.bin.part"));
  /* A certificate problem is permanent: one attempt, no retries. */
  n = read_file(report, line, sizeof(line));
  ck_assert_int_gt(n, 0);
  ck_assert_msg(strstr(line, "\"attempts\":1") != NULL, "%s", line);
  ck_assert_ptr_nonnull(strstr(line, "\"status\":\"failed\""));
}
END_TEST

START_TEST(test_https_insecure)
{
  char *args[] = {"-k", "-o", out, site_url(4), NULL};

  ck_assert_msg(run(args) == 0, "%s", err_text);
  ck_assert(out_matches(4));
}
END_TEST

/* Waits (up to 5 s) for n lines in nginx's access log; returns the text. */
static const char *access_log(int n)
{
  static char text[1 << 16];
  char path[700];
  int i, lines = 0;
  const char *p;

  snprintf(path, sizeof(path), "%s/access.log", dir);
  for (i = 0; i < 250; i++) {
    lines = 0;
    if (read_file(path, text, sizeof(text)) >= 0)
      for (p = text; (p = strchr(p, '\n')); p++)
        lines++;
    if (lines >= n)
      break;
    harness_sleep_ms(20);
  }
  ck_assert_msg(lines == n, "%d access log lines, want %d:\n%s", lines, n,
                text);
  return text;
}

START_TEST(test_http2_one_connection)
{
  char *args[9 + NFILES] = {"-j",       "8",       "--per-host", "8",
                            "--cacert", ca_path(), "-o",         out};
  char proto[32], uri[64], seen[NFILES + 1] = {0};
  unsigned long conn, first = 0;
  const char *p;
  unsigned k;
  int status, i = 0;

  for (k = 1; k <= NFILES; k++)
    args[7 + k] = site_url(k);
  args[8 + NFILES] = NULL;
  ck_assert_msg(run(args) == 0, "%s", err_text);
  for (k = 1; k <= NFILES; k++)
    ck_assert_msg(out_matches(k), "f%u.bin", k);
  for (p = access_log(NFILES); *p; p = strchr(p, '\n') + 1, i++) {
    ck_assert_int_eq(sscanf(p, "%lu %31s %63s %d", &conn, proto, uri, &status),
                     4);
    ck_assert_str_eq(proto, "HTTP/2.0");
    ck_assert_int_eq(status, 200);
    ck_assert_int_eq(sscanf(uri, "/f%u.bin", &k), 1);
    ck_assert(k >= 1 && k <= NFILES && !seen[k]);
    seen[k] = 1;
    if (!i)
      first = conn;
    ck_assert_msg(conn == first, "request %s on connection %lu, not %lu", uri,
                  conn, first);
  }
  ck_assert_int_eq(i, NFILES);
}
END_TEST

/* ---- plain HTTP against testsrv -----------------------------------------
 */

static void http_setup(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ck_assert_int_eq(testsrv_start(&srv, 2), 0);
  make_dir();
}

static void http_teardown(void)
{
  testsrv_stop(&srv);
  remove_dir();
  curl_global_cleanup();
}

static char *url(unsigned port_index, const char *target)
{
  return harness_url(&srv, port_index, target);
}

/* Asserts the JSON log of target has one request carrying each of want. */
static void assert_logged(const char *target, const char *const *want)
{
  char *log = testsrv_log(&srv, target);
  size_t i;

  ck_assert_ptr_nonnull(log);
  ck_assert_msg(strstr(log, "\"t\":") &&
                    !strstr(strstr(log, "\"t\":") + 1, "\"t\":"),
                "want one request for %s: %s", target, log);
  for (i = 0; want[i]; i++)
    ck_assert_msg(strstr(log, want[i]) != NULL, "%s not in %s", want[i], log);
  free(log);
}

START_TEST(test_headers_and_user_agent_reach_the_server)
{
  char *args[] = {"-o",
                  out,
                  "-H",
                  "X-Test: 1",
                  "-H",
                  "X-Other: two words",
                  "-A",
                  "myagent/1",
                  url(0, "/bytes/10/h.bin"),
                  url(0, "/redirect/1/r.bin"),
                  NULL};
  const char *const want[] = {"\"X-Test\": \"1\"",
                              "\"X-Other\": \"two words\"",
                              "\"User-Agent\": \"myagent/1\"", NULL};

  ck_assert_msg(run(args) == 0, "%s", err_text);
  assert_logged("/bytes/10/h.bin", want);
  /* Every redirect hop carries them too. */
  assert_logged("/redirect/1/r.bin", want);
  assert_logged("/redirect/0/r.bin", want);
  assert_logged("/bytes/64/r.bin", want);
}
END_TEST

START_TEST(test_default_user_agent)
{
  char *args[] = {"-o", out, url(0, "/bytes/10/ua.bin"), NULL};
  const char *const want[] = {"\"User-Agent\": \"corral/" CORRAL_VERSION "\"",
                              NULL};
  char *log;

  ck_assert_msg(run(args) == 0, "%s", err_text);
  assert_logged("/bytes/10/ua.bin", want);
  log = testsrv_log(&srv, "/bytes/10/ua.bin");
  ck_assert_ptr_nonnull(log);
  ck_assert_ptr_null(strstr(log, "X-Test"));
  free(log);
}
END_TEST

START_TEST(test_limit_rate_is_a_total_cap)
{
  char *args[] = {"-o",
                  out,
                  "--limit-rate",
                  "1M",
                  url(0, "/bytes/1048576/r1.bin"),
                  url(0, "/bytes/1048576/r2.bin"),
                  url(1, "/bytes/1048576/r3.bin"),
                  url(1, "/bytes/1048576/r4.bin"),
                  NULL};
  double t0, secs;

  t0 = harness_now_s();
  ck_assert_msg(run(args) == 0, "%s", err_text);
  secs = harness_now_s() - t0;
  ck_assert(
      harness_file_matches(out, "r4.bin", "/bytes/1048576/r4.bin", 1048576));
  /* 4 MiB at 1 MiB/s: about 4 s.  Only a lower bound on a shared box. */
  ck_assert_msg(secs >= 3.0, "4 MiB at --limit-rate 1M took %.2f s", secs);
}
END_TEST

START_TEST(test_http_proxy_variable)
{
  char proxy[64], target[600], *env[] = {proxy, NULL};
  char *args[] = {"-o", out, "--retries", "0", url(0, "/bytes/10/px.bin"),
                  NULL};

  snprintf(proxy, sizeof(proxy), "http_proxy=http://127.0.0.1:%u",
           srv.port[1]);
  /*
   * testsrv does not act as a proxy: it counts the absolute-form target
   * and answers 404, so the entry fails, but the request went to port 2.
   */
  ck_assert_int_eq(run_env(args, env), 1);
  testsrv_url(&srv, 0, "/bytes/10/px.bin", target, sizeof(target));
  ck_assert_int_eq(testsrv_requests(&srv, target), 1);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/10/px.bin"), 0);
  ck_assert_int_ge(testsrv_max_conns(&srv, 1), 1);
  ck_assert_int_eq(testsrv_max_conns(&srv, 0), 0);
}
END_TEST

START_TEST(test_no_proxy_goes_direct)
{
  char proxy[64], *env[] = {proxy, "no_proxy=127.0.0.1", NULL};
  char *args[] = {"-o", out, url(0, "/bytes/10/np.bin"), NULL};

  snprintf(proxy, sizeof(proxy), "http_proxy=http://127.0.0.1:%u",
           srv.port[1]);
  ck_assert_msg(run_env(args, env) == 0, "%s", err_text);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/10/np.bin"), 1);
  ck_assert_int_eq(testsrv_max_conns(&srv, 1), 0);
  ck_assert(harness_file_matches(out, "np.bin", "/bytes/10/np.bin", 10));
}
END_TEST

static Suite *http_suite(void)
{
  Suite *s = suite_create("http");
  TCase *tls = tcase_create("tls");
  TCase *http = tcase_create("http");

  tcase_add_checked_fixture(tls, tls_setup, tls_teardown);
  tcase_set_timeout(tls, 120);
  tcase_add_test(tls, test_https_with_cacert);
  tcase_add_test(tls, test_https_without_cacert_fails_clearly);
  tcase_add_test(tls, test_https_insecure);
  tcase_add_test(tls, test_http2_one_connection);
  suite_add_tcase(s, tls);
  tcase_add_checked_fixture(http, http_setup, http_teardown);
  tcase_set_timeout(http, 120);
  tcase_add_test(http, test_headers_and_user_agent_reach_the_server);
  tcase_add_test(http, test_default_user_agent);
  tcase_add_test(http, test_limit_rate_is_a_total_cap);
  tcase_add_test(http, test_http_proxy_variable);
  tcase_add_test(http, test_no_proxy_goes_direct);
  suite_add_tcase(s, http);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(http_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
