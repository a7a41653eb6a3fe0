/*
 * harness: what the server-backed tests share, so that each test file
 * keeps only its own checks.  Three groups:
 *
 * The fixture, from a checked fixture (each forked test gets its own):
 *
 *   harness_setup(&srv, 3, dir, sizeof(dir), "engine");
 *   ... the test ...
 *   harness_teardown(&srv, dir);
 *
 * Library runs, which keep every result by input line:
 *
 *   struct harness_lib lib;
 *   harness_lib_init(&lib, 64);              in setup; got[1..64]
 *   harness_opts(&lib, &o, dir);             defaults + our on_done
 *   harness_run_urls(&lib, &o, urls, NULL, n);
 *   ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
 *   harness_lib_release(&lib);               in teardown
 *
 * Runs of the corral binary, its stderr kept as text:
 *
 *   code = harness_run_bin(args, NULL, NULL, text, sizeof(text));
 *   c = harness_spawn(args, true, NULL); ... code = harness_finish(&c, ...);
 *
 * Errors: a function whose name does not end in _plain fails the running
 * Check test (ck_assert) when something it needs fails; the _plain ones
 * never assert, so a child forked inside a test may call them.  Not
 * thread safe.  The URL and path buffers returned are static, as stated.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "corral.h"
#include "testsrv.h"

/* ---- the fixture -------------------------------------------------------- */

/*
 * curl_global_init(), testsrv_start(srv, nports) and a fresh temp dir
 * "/tmp/corral-NAME-XXXXXX" written into dir (len bytes).  Asserts each.
 */
void harness_setup(struct testsrv *srv, unsigned nports, char *dir, size_t len,
                   const char *name);

/*
 * Stops srv, removes dir (asserting that worked) and calls
 * curl_global_cleanup().
 */
void harness_teardown(struct testsrv *srv, const char *dir);

/*
 * Removes dir and everything below it, read-only dirs too (chmod -R u+rwx
 * first; links met on the way are not followed).  Returns 0 when that
 * worked, else nonzero.  Never asserts.
 */
int harness_rm_rf(const char *dir);

/* ---- library runs ------------------------------------------------------- */

/* What on_done reported for one input line; strings truncated to fit. */
struct harness_got {
  int seen; /* on_done calls for this line: 1 when it ended once */
  enum corral_status status;
  int err;
  long http_status;
  unsigned attempts;
  char path[256];
  char msg[512];
  char final_url[512];
};

struct harness_lib {
  struct harness_got *got; /* got[line], line 1..max_lines; owned */
  unsigned max_lines;
  unsigned n_done; /* on_done calls since the last reset */
  unsigned strays; /* of those, for a line outside 1..max_lines */
  const char *why; /* static text: what the last failed run met */
};

/*
 * Allocates lib->got for lines 1..max_lines, all zero.  Asserts on
 * failure.  Release with harness_lib_release().
 */
void harness_lib_init(struct harness_lib *lib, unsigned max_lines);

/* Frees lib->got; a released or zeroed lib is a no-op. */
void harness_lib_release(struct harness_lib *lib);

/* Forgets every result: got all zero, n_done and strays 0. */
void harness_lib_reset(struct harness_lib *lib);

/*
 * corral_opts_init(o), then output_dir (borrowed: it must outlive the
 * run), and on_done/data recording into lib.
 */
void harness_opts(struct harness_lib *lib, struct corral_opts *o,
                  const char *output_dir);

/*
 * Resets lib, then runs the n entries e (copied by corral_add; the caller
 * sets each line, 1..max_lines) on a fresh loop to its end: corral_new,
 * corral_add each, corral_input_end, uv_run, corral_free, uv_loop_close.
 * o must come from harness_opts().  Returns 0 when every step returned 0
 * and each entry ended exactly once (and nothing else ended); else
 * nonzero, with lib->why saying what went wrong.  Never asserts.
 */
int harness_run_plain(struct harness_lib *lib, const struct corral_opts *o,
                      const struct corral_entry *e, unsigned n);

/* harness_run_plain(), asserting that it returned 0. */
void harness_run(struct harness_lib *lib, const struct corral_opts *o,
                 const struct corral_entry *e, unsigned n);

/*
 * harness_run() of n entries where entry i is line i + 1 with url urls[i]
 * and out outs[i] (no out when outs is NULL).  The strings stay the
 * caller's.
 */
void harness_run_urls(struct harness_lib *lib, const struct corral_opts *o,
                      char *const *urls, char *const *outs, unsigned n);

/* ---- URLs, paths and files ---------------------------------------------- */

/*
 * "http://127.0.0.1:PORT<target>" for port index i of srv, in one of 64
 * static buffers used in turn: valid until 64 more calls.
 */
char *harness_url(struct testsrv *srv, unsigned i, const char *target);

/* The same URL in a malloc'd string the caller frees.  Asserts on OOM. */
char *harness_url_dup(struct testsrv *srv, unsigned i, const char *target);

/* Frees urls[0..n) (not the array itself). */
void harness_free_urls(char **urls, unsigned n);

/* Writes "dir/name" into buf of size len; asserts that it fits. */
void harness_path(char *buf, size_t len, const char *dir, const char *name);

/* 1 if dir/name holds exactly the n-byte body for target, else 0. */
int harness_file_matches(const char *dir, const char *name, const char *target,
                         size_t n);

/* True if dir/name exists (lstat: a dangling link exists). */
bool harness_exists(const char *dir, const char *name);

/* Creates or truncates path with the len bytes of data.  Asserts each. */
void harness_write(const char *path, const void *data, size_t len);

/* Creates or truncates path with printf-formatted text.  Asserts each. */
void harness_writef(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- the corral binary -------------------------------------------------- */

/* A started corral child. */
struct harness_child {
  pid_t pid;
  int in;  /* write end of its stdin, -1 when it has /dev/null */
  int err; /* read end of its stderr */
};

/*
 * The binary the tests run: corral_bin_env(), else "build/corral", made
 * absolute (children may chdir).  A static buffer.
 */
const char *harness_bin(void);

/*
 * Fills argv (cap slots) with "corral", the NULL-ended args, then NULL.
 * The strings stay the caller's.  Asserts that they fit.
 */
void harness_argv(char **argv, size_t cap, char *const *args);

/*
 * Starts corral with args (NULL-ended, without argv[0]), stdin a pipe
 * (with_stdin) or /dev/null, stderr a pipe, the proxy variables unset and
 * then the "NAME=value" strings of env (may be NULL) set.  Finish it with
 * harness_finish().
 */
struct harness_child harness_spawn(char *const *args, bool with_stdin,
                                   char *const *env);

/*
 * Closes c's stdin, reads its stderr to EOF into text (cap bytes; the
 * rest is read and dropped, so the child never blocks), NUL-terminated,
 * and reaps it.  Asserts that it exited; returns its exit code.
 */
int harness_finish(struct harness_child *c, char *text, size_t cap);

/* Spawn, write input (small, or NULL for /dev/null), finish. */
int harness_run_bin(char *const *args, const char *input, char *const *env,
                    char *text, size_t cap);

/* Reaps pid; asserts that it exited and returns its exit code. */
int harness_wait_exit(pid_t pid);

/* The last line of text, trailing newlines cut off text in place. */
const char *harness_last_line(char *text);

bool harness_starts_with(const char *s, const char *prefix);

/* ---- time and ports ----------------------------------------------------- */

void harness_sleep_ms(long ms);

/* Seconds on the monotonic clock. */
double harness_now_s(void);

/*
 * Polls srv until it counted at least n requests for target, for at most
 * timeout_ms.  Returns 1 when it did, 0 at the deadline.
 */
int harness_wait_requests(struct testsrv *srv, const char *target, long n,
                          long timeout_ms);

/*
 * A port on 127.0.0.1 that was free a moment ago: bound to port 0 and
 * closed again, so nothing listens there.  Asserts on socket errors.
 */
unsigned harness_free_port(void);

#endif /* HARNESS_H */
