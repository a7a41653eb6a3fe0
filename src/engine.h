/*
 * Engine: libcurl's multi interface driven by a libuv loop.  The only code
 * that calls curl_multi_* and owns the uv_poll_t/uv_timer_t that serve
 * libcurl.  It knows nothing of URLs, files or retries: it runs easy handles
 * and says when each one ends.
 *
 * Calling sequence:
 *   engine_init(&e, loop, opts, on_done, data);
 *   engine_prepare(&e, easy)          once per easy handle, before its first
 *                                     engine_add: the engine owns the
 *                                     sockets' lifetime (their close)
 *   engine_add(&e, easy) ...          from loop context only (never from a
 *                                     libcurl callback)
 *   on_done(easy, result, data)       called from loop context after the
 *                                     handle was removed from the multi; it
 *                                     may call engine_add again
 *   engine_remove(&e, easy)           aborts an active handle; no on_done
 *   engine_close(&e, on_closed)       cleans up the multi and closes the
 *                                     timer; on_closed runs from the loop
 *                                     once every engine handle is closed
 *
 * Errors: engine_init and engine_add return 0 or a negative CORRAL_E* /
 * -errno code.  Easy handles stay owned by the caller.
 */
#ifndef CORRAL_ENGINE_H
#define CORRAL_ENGINE_H

#include <curl/curl.h>
#include <uv.h>

struct engine;

typedef void (*engine_done_cb)(CURL *easy, CURLcode result, void *data);
typedef void (*engine_closed_cb)(struct engine *e);

struct engine {
  uv_timer_t timer; /* curl's timeout; timer.data points back here */
  uv_loop_t *loop;
  CURLM *multi;
  engine_done_cb on_done;
  engine_closed_cb on_closed;
  void *data;
  struct sock_ctx **socks; /* indexed by fd: libcurl's live sockets */
  size_t n_socks;
  unsigned polls; /* open uv_poll_t handles, for teardown */
  int running;    /* transfers libcurl reports as running */
  int closing;
  int timer_closed;
};

int engine_init(struct engine *e, uv_loop_t *loop, unsigned max_connects,
                engine_done_cb on_done, void *data);
void engine_prepare(struct engine *e, CURL *easy);
int engine_add(struct engine *e, CURL *easy);
void engine_remove(struct engine *e, CURL *easy);
void engine_close(struct engine *e, engine_closed_cb on_closed);

#endif
