/*
 * testsrv: run test/testsrv.py, the loopback HTTP/1.1 test server, as a
 * child process and ask it what it saw.
 *
 * Calling sequence:
 *
 *   struct testsrv srv;
 *   testsrv_start(&srv, 2);                  fork + exec python3, wait for
 *                                            the "PORTS p1 p2" line
 *   testsrv_url(&srv, 0, "/bytes/10", url, sizeof(url));
 *   ... transfers against url ...
 *   testsrv_requests(&srv, "/bytes/10");     ask the server's counters
 *   testsrv_stop(&srv);                      close stdin, SIGTERM, reap
 *
 * The script is $CORRAL_TESTSRV (the full path of testsrv.py; meson sets
 * it) or "test/testsrv.py" relative to the working directory.  The child
 * keeps only its stdin pipe, its stdout pipe and the inherited stderr.  The
 * server exits when its stdin reaches EOF, so it also goes away when the
 * process that started it dies without calling testsrv_stop().  Stop the
 * server from the process that started it (for Check, start it in a
 * checked fixture so each forked test gets its own).
 *
 * Bodies are deterministic: for request target T (path + query, exactly
 * as sent) byte i is (i * 7 + s) & 0xff with s = (sum of the bytes of T)
 * & 0xff; testsrv_body() computes them.  Routes are listed at the top of
 * testsrv.py.
 *
 * The query functions use libcurl easy handles; call curl_global_init()
 * before the first one.  Errors: functions return -1 (or NULL) on any
 * failure.  Not thread safe: use one struct testsrv from one thread.
 */
#ifndef TESTSRV_H
#define TESTSRV_H

#include <stddef.h>
#include <sys/types.h>

#define TESTSRV_MAX_PORTS 8

struct testsrv {
  pid_t pid;    /* the python child, -1 when not running */
  int to_child; /* write end of the child's stdin, -1 when closed */
  unsigned nports;
  unsigned port[TESTSRV_MAX_PORTS];
};

/*
 * Starts the server with nports (1..8) listening ports on 127.0.0.1 and
 * waits (up to 15 s) until it has printed its ports.  Returns 0, or -1 with
 * s->pid == -1 and nothing left running.
 */
int testsrv_start(struct testsrv *s, unsigned nports);

/*
 * Stops the server: closes its stdin, sends SIGTERM (SIGKILL if it is
 * still there after 5 s) and reaps it.  A stopped or never started server
 * (pid -1) is a no-op.
 */
void testsrv_stop(struct testsrv *s);

/*
 * Number of requests the server counted for target (path + query, as
 * sent), over all ports since the start or the last reset; 0 for a target
 * never requested; -1 on error.  Control requests are never counted.
 */
long testsrv_requests(struct testsrv *s, const char *target);

/* Total counted requests over all targets and ports; -1 on error. */
long testsrv_total(struct testsrv *s);

/*
 * Most connections open at once, on port index port_index, or over all
 * ports when port_index is -1; -1 on error.  A connection counts from its
 * first counted request until it closes.
 */
long testsrv_max_conns(struct testsrv *s, int port_index);

/*
 * Zeroes the request counters and logs; the connection maxima restart from
 * the connections open now.  Returns 0 or -1.
 */
int testsrv_reset(struct testsrv *s);

/* Fills buf with the first n bytes of the body for target. */
void testsrv_body(const char *target, unsigned char *buf, size_t n);

/*
 * Returns 1 if the file at path holds exactly the n-byte body for target,
 * else 0 (also when it cannot be read).
 */
int testsrv_file_matches(const char *path, const char *target, size_t n);

/*
 * Writes "http://127.0.0.1:PORT<target>" for port index i into buf of
 * size len (truncated and NUL-terminated if it does not fit).
 */
void testsrv_url(struct testsrv *s, unsigned i, const char *target, char *buf,
                 size_t len);

/*
 * Returns the server's JSON log for target: a list of objects
 * {"t": epoch seconds, "range": ..., "if_range": ..., "headers": {...}},
 * one per request.  The caller frees it.  NULL on error.
 */
char *testsrv_log(struct testsrv *s, const char *target);

/*
 * The corral binary the tests run: $CORRAL_BIN when set (test/all.sh
 * points it at a valgrind wrapper), else $CORRAL_BIN_DEFAULT (meson sets
 * it to the build's binary; meson's own test env cannot be overridden from
 * outside, hence two names), else NULL.
 */
const char *corral_bin_env(void);

#endif /* TESTSRV_H */
