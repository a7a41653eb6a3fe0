/*
 * Engine: the glue between libcurl's multi_socket API and libuv.  libcurl
 * tells us which sockets to watch (cb_socket) and when to wake it up
 * (cb_timer); libuv tells us when a socket is ready (on_poll) or the time
 * came (on_timeout), and we hand that back with curl_multi_socket_action.
 * After every such call we drain curl_multi_info_read, remove the finished
 * handles and report them.  Nothing here calls libcurl from inside a
 * libcurl callback: that returns CURLM_RECURSIVE_API_CALL in 7.88.
 */
#include "engine.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corral.h"

/*
 * One per socket, not per easy handle: HTTP/2 streams share a socket.  It
 * lives as long as the socket, not as long as one transfer on it.
 *
 * libcurl stops watching a kept-alive connection between transfers
 * (CURL_POLL_REMOVE) and watches it again for the next one.  Stopping and
 * starting a uv_poll_t costs an epoll_ctl each, and a new uv_poll_t three
 * more syscalls, on every transfer.  So for the sockets libcurl opens
 * through cb_open_socket (all of its connections), REMOVE only marks the
 * socket unwanted and leaves it watched for reading: an idle connection
 * is silent, and if the server does send (a close, an HTTP/2 GOAWAY), the
 * first event stops the watch.  We know such a socket's end because
 * libcurl closes it through cb_close_socket, which closes the uv_poll_t
 * while the fd is still open.  Any other socket libcurl hands us (one it
 * did not open through us) is closed at REMOVE, as libcurl may close it
 * right after, and its fd number may come back as another socket.
 */
struct sock_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
  struct engine *engine;
  int events;  /* what the uv_poll_t watches now (UV_READABLE...) */
  bool wanted; /* libcurl watches it (between POLL_IN/OUT and REMOVE) */
  bool owned;  /* opened by cb_open_socket: we will see it closed */
};

static struct sock_ctx *sock_find(const struct engine *e, curl_socket_t fd)
{
  return fd >= 0 && (size_t)fd < e->n_socks ? e->socks[fd] : NULL;
}

/* Records ctx under its fd; grows the table as libcurl's fds grow. */
static int sock_keep(struct engine *e, struct sock_ctx *ctx)
{
  size_t fd = (size_t)ctx->fd;

  if (fd >= e->n_socks) {
    size_t n = e->n_socks ? e->n_socks : 64;
    struct sock_ctx **socks;

    while (n <= fd)
      n *= 2;
    socks = realloc(e->socks, n * sizeof(*socks));
    if (!socks)
      return -1;
    memset(socks + e->n_socks, 0, (n - e->n_socks) * sizeof(*socks));
    e->socks = socks;
    e->n_socks = n;
  }
  e->socks[fd] = ctx;
  return 0;
}

/* Runs on_closed once the timer and every poll handle have closed. */
static void maybe_closed(struct engine *e)
{
  engine_closed_cb cb = e->on_closed;

  if (!e->closing || e->polls || !e->timer_closed || !cb)
    return;
  e->on_closed = NULL;
  cb(e);
}

static void on_poll_closed(uv_handle_t *handle)
{
  struct sock_ctx *ctx = handle->data;
  struct engine *e = ctx->engine;

  free(ctx);
  e->polls--;
  maybe_closed(e);
}

static void on_poll(uv_poll_t *poll, int status, int events);

static struct sock_ctx *sock_ctx_new(struct engine *e, curl_socket_t fd,
                                     bool owned)
{
  struct sock_ctx *ctx = malloc(sizeof(*ctx));

  if (!ctx)
    return NULL;
  ctx->fd = fd;
  ctx->engine = e;
  ctx->events = 0;
  ctx->wanted = false;
  ctx->owned = owned;
  if (sock_keep(e, ctx) || uv_poll_init_socket(e->loop, &ctx->poll, fd)) {
    if (sock_find(e, fd) == ctx)
      e->socks[fd] = NULL;
    free(ctx);
    return NULL;
  }
  ctx->poll.data = ctx;
  e->polls++;
  return ctx;
}

static void sock_watch(struct sock_ctx *ctx, int events)
{
  if (ctx->events == events)
    return;
  ctx->events = events;
  if (events)
    uv_poll_start(&ctx->poll, events, on_poll);
  else
    uv_poll_stop(&ctx->poll);
}

static void sock_ctx_close(struct engine *e, struct sock_ctx *ctx)
{
  e->socks[ctx->fd] = NULL;
  uv_close((uv_handle_t *)&ctx->poll, on_poll_closed);
}

static curl_socket_t cb_open_socket(void *userp, curlsocktype purpose,
                                    struct curl_sockaddr *addr)
{
  struct engine *e = userp;
  curl_socket_t fd;

  (void)purpose;
  fd = socket(addr->family, addr->socktype, addr->protocol);
  if (fd == CURL_SOCKET_BAD || sock_ctx_new(e, fd, true))
    return fd;
  close(fd);
  return CURL_SOCKET_BAD;
}

/*
 * libcurl closes a socket: close its poll handle first (uv_close stops it
 * while the fd is still open), then the fd.  Called from inside libcurl,
 * which is fine: it calls libuv only.
 */
static int cb_close_socket(void *userp, curl_socket_t fd)
{
  struct engine *e = userp;
  struct sock_ctx *ctx = sock_find(e, fd);

  if (ctx)
    sock_ctx_close(e, ctx);
  return close(fd);
}

static void drain(struct engine *e)
{
  CURLMsg *msg;
  int left;

  while ((msg = curl_multi_info_read(e->multi, &left))) {
    CURL *easy;
    CURLcode result;

    if (msg->msg != CURLMSG_DONE)
      continue;
    /* msg is invalid after remove_handle: copy what we need first. */
    easy = msg->easy_handle;
    result = msg->data.result;
    curl_multi_remove_handle(e->multi, easy);
    e->on_done(easy, result, e->data);
  }
}

static void act(struct engine *e, curl_socket_t fd, int flags)
{
  CURLMcode rc = curl_multi_socket_action(e->multi, fd, flags, &e->running);

  /*
   * The only error here that is not a bug is out of memory; the transfers
   * then time out or fail on their own, so there is nothing better to do
   * than to keep draining.
   */
  (void)rc;
  drain(e);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
  struct sock_ctx *ctx = poll->data;
  int flags = 0;

  if (!ctx->wanted) {
    /* An idle connection spoke (a close, most likely): stop listening. */
    sock_watch(ctx, 0);
    return;
  }
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  act(ctx->engine, ctx->fd, flags);
}

static void on_timeout(uv_timer_t *timer)
{
  act(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

static int cb_timer(CURLM *multi, long timeout_ms, void *userp)
{
  struct engine *e = userp;

  (void)multi;
  if (timeout_ms < 0)
    uv_timer_stop(&e->timer);
  else
    /* 0 ms runs on the next loop iteration, never inside this callback. */
    uv_timer_start(&e->timer, on_timeout, (uint64_t)timeout_ms, 0);
  return 0;
}

static int cb_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
  struct engine *e = userp;
  struct sock_ctx *ctx = socketp;
  int events = 0;

  (void)easy;
  if (!ctx)
    ctx = sock_find(e, fd);
  switch (what) {
  case CURL_POLL_IN:
  case CURL_POLL_OUT:
  case CURL_POLL_INOUT:
    if (!ctx && !(ctx = sock_ctx_new(e, fd, false)))
      return -1;
    if (!socketp)
      curl_multi_assign(e->multi, fd, ctx);
    if (what != CURL_POLL_OUT)
      events |= UV_READABLE;
    if (what != CURL_POLL_IN)
      events |= UV_WRITABLE;
    ctx->wanted = true;
    sock_watch(ctx, events);
    return 0;
  case CURL_POLL_REMOVE:
    if (!ctx)
      return 0;
    if (!ctx->owned) {
      sock_ctx_close(e, ctx);
      return 0;
    }
    ctx->wanted = false;
    if (ctx->events != UV_READABLE)
      sock_watch(ctx, 0);
    return 0;
  default:
    return -1;
  }
}

int engine_init(struct engine *e, uv_loop_t *loop, unsigned max_connects,
                engine_done_cb on_done, void *data)
{
  int err;

  e->loop = loop;
  e->on_done = on_done;
  e->on_closed = NULL;
  e->data = data;
  e->polls = 0;
  e->running = 0;
  e->closing = 0;
  e->timer_closed = 0;
  e->socks = NULL;
  e->n_socks = 0;
  e->multi = curl_multi_init();
  if (!e->multi)
    return CORRAL_ENOMEM;
  err = uv_timer_init(loop, &e->timer);
  if (err) {
    curl_multi_cleanup(e->multi);
    e->multi = NULL;
    return err;
  }
  e->timer.data = e;
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, cb_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, cb_timer);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  /*
   * Room for an idle connection to every host beside the busy ones: with
   * -j N over many hosts, a cache of only N would close the idle
   * connection to one host to open one to the next, again and again.
   */
  curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)max_connects);
  return 0;
}

void engine_prepare(struct engine *e, CURL *easy)
{
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, cb_open_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, e);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, cb_close_socket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, e);
}

int engine_add(struct engine *e, CURL *easy)
{
  CURLMcode rc = curl_multi_add_handle(e->multi, easy);

  if (rc == CURLM_OK)
    return 0;
  return rc == CURLM_OUT_OF_MEMORY ? CORRAL_ENOMEM : CORRAL_ECURL;
}

void engine_remove(struct engine *e, CURL *easy)
{
  curl_multi_remove_handle(e->multi, easy);
}

static void on_timer_closed(uv_handle_t *handle)
{
  struct engine *e = handle->data;

  e->timer_closed = 1;
  maybe_closed(e);
}

void engine_close(struct engine *e, engine_closed_cb on_closed)
{
  size_t fd;

  if (e->closing)
    return;
  e->closing = 1;
  e->on_closed = on_closed;
  /* multi_cleanup closes cached connections and so calls cb_close_socket. */
  curl_multi_cleanup(e->multi);
  e->multi = NULL;
  /* Sockets libcurl closed without telling us (none are expected). */
  for (fd = 0; fd < e->n_socks; fd++)
    if (e->socks[fd])
      sock_ctx_close(e, e->socks[fd]);
  free(e->socks);
  e->socks = NULL;
  e->n_socks = 0;
  uv_close((uv_handle_t *)&e->timer, on_timer_closed);
}
