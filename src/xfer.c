/*
 * Transfer: options, body streaming and outcome classification for one
 * request.  Bodies of non-2xx answers are read and dropped, so an error
 * page never lands in a file; a 2xx body goes to PATH.part and is renamed
 * to PATH only when its length (and sha256, when asked) checks out.
 */
#include "xfer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "corral.h"
#include "httphdr.h"
#include "ratelimit.h"
#include "safefs.h"
#include "sink.h"

static bool is_2xx(long status)
{
  return status >= 200 && status < 300;
}

static bool is_transient_status(long status)
{
  switch (status) {
  case 408:
  case 429:
  case 500:
  case 502:
  case 503:
  case 504:
    return true;
  default:
    return false;
  }
}

static bool is_transient_curl(CURLcode rc)
{
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
    return true;
  default:
    return false;
  }
}

static int open_sink(struct xfer *x)
{
  unsigned flags = x->params.sha256 ? SINK_SHA256 : 0;
  uint64_t have = 0;
  int err;

  if (x->disposition && x->cfg.choose_name) {
    /* This may free the old params.path: only the returned one is valid. */
    const char *path = x->cfg.choose_name(x, x->disposition);

    if (path) {
      x->params.path = path;
      x->resume_from = 0; /* a range would belong to another file */
    }
  }
  if (x->resume_from)
    flags |= SINK_RESUME;
  err = sink_open(&x->sink, x->cfg.rootfd, x->params.path, flags, &have);
  if (err)
    return err;
  /* So that a later run can resume this .part with If-Range. */
  if (!x->resume_from)
    sink_set_attr(x->sink, SAFEFS_VALIDATOR_XATTR, x->validator);
  if (!x->resume_from)
    return 0;
  if (x->status == 206 && x->range_start == (int64_t)x->resume_from &&
      have == x->resume_from)
    return 0;
  /*
   * The body does not continue our .part: a 200 is the whole file, so
   * start over with it; a 206 is a piece of something else (a range
   * starting elsewhere, or a .part sink_open would not trust), so ask
   * again for the whole file.
   */
  x->resume_from = 0;
  err = sink_truncate(x->sink);
  return !err && x->status == 206 ? CORRAL_ERANGE : err;
}

static size_t cb_write(char *data, size_t size, size_t n, void *userp)
{
  struct xfer *x = userp;
  size_t len = size * n;
  int err;

  x->last_rx_ms = uv_now(x->cfg.loop);
  if (x->cfg.limit && !ratelimit_take(x->cfg.limit, len, x->last_rx_ms)) {
    /* libcurl keeps this chunk and offers it again after xfer_resume(). */
    x->paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (!is_2xx(x->status))
    return len;
  if (!x->sink && (err = open_sink(x))) {
    x->write_err = err;
    return CURL_WRITEFUNC_ERROR;
  }
  if (x->cfg.max_filesize && sink_size(x->sink) + len > x->cfg.max_filesize) {
    x->write_err = CORRAL_ETOOBIG;
    return CURL_WRITEFUNC_ERROR;
  }
  err = sink_write(x->sink, data, len);
  if (err) {
    x->write_err = err;
    return CURL_WRITEFUNC_ERROR;
  }
  return len;
}

static void keep_validator(struct xfer *x, const char *v, size_t len)
{
  free(x->validator);
  x->validator = strndup(v, len);
}

static void on_header(struct xfer *x, const char *line, size_t n)
{
  const char *v;
  size_t len;

  if (n > 5 && !strncmp(line, "HTTP/", 5)) {
    /* A new response (after a 1xx): forget the previous one's headers. */
    const char *sp = memchr(line, ' ', n);

    x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    x->range_start = -1;
    x->last_modified = -1;
    x->retry_after_ms = 0;
    return;
  }
  if ((v = httphdr_value(line, n, "Content-Range", &len)))
    x->range_start = httphdr_range_start(v, len);
  else if ((v = httphdr_value(line, n, "Retry-After", &len)))
    x->retry_after_ms = httphdr_retry_after_ms(v, len, time(NULL));
  else if (x->cfg.choose_name &&
           (v = httphdr_value(line, n, "Content-Disposition", &len))) {
    free(x->disposition);
    x->disposition = strndup(v, len);
  }
  else if ((v = httphdr_value(line, n, "ETag", &len)))
    keep_validator(x, v, len);
  else if ((v = httphdr_value(line, n, "Last-Modified", &len))) {
    /* Ours, not CURLOPT_FILETIME: libcurl's date parser is slow. */
    x->last_modified = httphdr_date(v, len);
    if (!x->validator)
      keep_validator(x, v, len);
  }
}

static size_t cb_header(char *data, size_t size, size_t n, void *userp)
{
  struct xfer *x = userp;
  size_t len = size * n;

  x->last_rx_ms = uv_now(x->cfg.loop);
  on_header(x, data, len);
  return len;
}

static void set_fixed_options(struct xfer *x)
{
  CURL *e = x->easy;

  curl_easy_setopt(e, CURLOPT_PRIVATE, x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cb_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, cb_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, x->cfg.buffer_size);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_USERAGENT, x->cfg.user_agent);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, x->cfg.connect_timeout_ms);
  if (x->cfg.cacert)
    curl_easy_setopt(e, CURLOPT_CAINFO, x->cfg.cacert);
  if (x->cfg.insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

int xfer_new(struct xfer **out, const struct xfer_config *cfg)
{
  struct xfer *x = calloc(1, sizeof(*x));

  *out = NULL;
  if (!x)
    return CORRAL_ENOMEM;
  x->easy = curl_easy_init();
  if (!x->easy) {
    free(x);
    return CORRAL_ENOMEM;
  }
  x->cfg = *cfg;
  set_fixed_options(x);
  *out = x;
  return 0;
}

void xfer_free(struct xfer *x)
{
  if (!x)
    return;
  sink_abort(&x->sink, true);
  curl_slist_free_all(x->request_headers);
  curl_easy_cleanup(x->easy);
  free(x->validator);
  free(x->disposition);
  free(x);
}

/* Size of an existing PATH.part, 0 if there is none. */
static uint64_t part_size(int rootfd, const char *path)
{
  uint64_t size = 0;
  size_t len = strlen(path);
  char *part = malloc(len + sizeof(".part"));

  if (!part)
    return 0;
  memcpy(part, path, len);
  memcpy(part + len, ".part", sizeof(".part"));
  if (safefs_stat(rootfd, part, &size) != 1)
    size = 0;
  free(part);
  return size;
}

/* Adds "Name: value" to this request's own copy of the user headers. */
static int add_header(struct xfer *x, const char *name, const char *value)
{
  struct curl_slist *h, *l;
  size_t len = strlen(name) + strlen(value) + 3;
  char *line = malloc(len);

  if (!line)
    return CORRAL_ENOMEM;
  snprintf(line, len, "%s: %s", name, value);
  for (h = x->cfg.headers; !x->request_headers && h; h = h->next) {
    if (!(l = curl_slist_append(x->request_headers, h->data)))
      goto nomem;
    x->request_headers = l;
  }
  if (!(l = curl_slist_append(x->request_headers, line)))
    goto nomem;
  x->request_headers = l;
  free(line);
  curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, l);
  return 0;
nomem:
  free(line);
  return CORRAL_ENOMEM;
}

/* Sets Range (and If-Range when we know a validator) to continue a .part. */
static int set_range(struct xfer *x, const struct xfer_params *p)
{
  char range[32];

  x->resume_from = part_size(x->cfg.rootfd, p->path);
  if (!x->resume_from)
    return 0;
  snprintf(range, sizeof(range), "%llu-", (unsigned long long)x->resume_from);
  curl_easy_setopt(x->easy, CURLOPT_RANGE, range);
  return p->validator ? add_header(x, "If-Range", p->validator) : 0;
}

/* --refresh: ask for the body only if it changed since we fetched it. */
static int set_conditions(struct xfer *x, const struct xfer_params *p)
{
  if (p->if_modified_since > 0) {
    curl_easy_setopt(x->easy, CURLOPT_TIMECONDITION,
                     (long)CURL_TIMECOND_IFMODSINCE);
    curl_easy_setopt(x->easy, CURLOPT_TIMEVALUE_LARGE,
                     (curl_off_t)p->if_modified_since);
  }
  return p->if_none_match ? add_header(x, "If-None-Match", p->if_none_match)
                          : 0;
}

int xfer_start(struct xfer *x, const struct xfer_params *params)
{
  int err;

  x->params = *params;
  x->status = 0;
  x->write_err = 0;
  x->paused = false;
  x->range_start = -1;
  x->last_modified = -1;
  x->retry_after_ms = 0;
  x->resume_from = 0;
  x->errbuf[0] = '\0';
  free(x->validator);
  x->validator = NULL;
  free(x->disposition);
  x->disposition = NULL;
  x->last_rx_ms = x->started_ms = uv_now(x->cfg.loop);
  curl_easy_setopt(x->easy, CURLOPT_URL, params->url);
  curl_easy_setopt(x->easy, CURLOPT_RANGE, NULL);
  curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->cfg.headers);
  curl_easy_setopt(x->easy, CURLOPT_TIMECONDITION, (long)CURL_TIMECOND_NONE);
  if (params->resume && (err = set_range(x, params)))
    return err;
  err = set_conditions(x, params);
  /* Copied into the request already; the caller's buffers may go away. */
  x->params.if_none_match = NULL;
  x->params.validator = NULL;
  return err;
}

/* Ends the request: drops per-request state; keeps the handle. */
static void end_request(struct xfer *x, struct xfer_outcome *o)
{
  o->validator = x->validator;
  x->validator = NULL;
  curl_slist_free_all(x->request_headers);
  x->request_headers = NULL;
}

static void fail(struct xfer_outcome *o, int err, bool transient,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(struct xfer_outcome *o, int err, bool transient,
                 const char *fmt, ...)
{
  va_list ap;

  o->err = err;
  o->transient = transient;
  va_start(ap, fmt);
  vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
  va_end(ap);
}

/* A 2xx that ended cleanly: check it and commit PATH.part to PATH. */
static void complete_body(struct xfer *x, struct xfer_outcome *o)
{
  curl_off_t expect = -1;
  char got[65];
  int err;

  if (!x->sink && (err = open_sink(x))) {
    fail(o, err, false, "%s.part: %s", x->params.path, corral_strerror(err));
    return;
  }
  curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expect);
  o->bytes = sink_size(x->sink);
  if (expect >= 0 && o->bytes != x->resume_from + (uint64_t)expect) {
    fail(o, CORRAL_ESHORT, true, "body is %llu bytes, expected %llu",
         (unsigned long long)o->bytes,
         (unsigned long long)(x->resume_from + (uint64_t)expect));
    return;
  }
  if (x->params.sha256) {
    sink_sha256_hex(x->sink, got);
    if (strcmp(got, x->params.sha256)) {
      sink_abort(&x->sink, false);
      {
        fail(o, CORRAL_ESHA256, false, "sha256 mismatch: expected %s, got %s",
             x->params.sha256, got);
        return;
      }
    }
  }
  err = sink_commit(&x->sink, x->last_modified);
  if (err)
    fail(o, err, false, "%s: %s", x->params.path, corral_strerror(err));
}

/*
 * A 416 to our Range: the .part is not a prefix of what the server has now
 * (or already all of it, which we cannot tell apart).  Drop it, and let
 * the retry fetch the file whole.
 */
static void restart_part(struct xfer *x, struct xfer_outcome *o)
{
  int err = sink_open(&x->sink, x->cfg.rootfd, x->params.path, 0, NULL);

  if (!err)
    sink_abort(&x->sink, false);
  fail(o, CORRAL_EHTTP, true, "HTTP 416: the server refused to resume %s.part",
       x->params.path);
  o->restart = true;
}

static void finish_http(struct xfer *x, struct xfer_outcome *o)
{
  char *location = NULL;

  if (is_2xx(o->http_status)) {
    complete_body(x, o);
    return;
  }
  if (o->http_status == 304) {
    o->not_modified = true;
    return;
  }
  curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &location);
  if (o->http_status >= 300 && o->http_status < 400 && location) {
    o->redirect = strdup(location);
    if (!o->redirect)
      fail(o, CORRAL_ENOMEM, false, "out of memory");
    return;
  }
  if (o->http_status == 416 && x->resume_from) {
    restart_part(x, o);
    return;
  }
  o->retry_after_ms = x->retry_after_ms;
  fail(o, CORRAL_EHTTP, is_transient_status(o->http_status), "HTTP %ld",
       o->http_status);
}

static void finish_error(struct xfer *x, CURLcode result,
                         struct xfer_outcome *o)
{
  if (x->write_err == CORRAL_ERANGE) {
    fail(o, CORRAL_ERANGE, true,
         "the server's range does not continue %s.part", x->params.path);
    o->restart = true;
  }
  else if (x->write_err == CORRAL_ETOOBIG)
    fail(o, CORRAL_ETOOBIG, false, "body larger than %llu bytes",
         (unsigned long long)x->cfg.max_filesize);
  else if (x->write_err)
    /* Out of descriptors passes; a full or read-only disk does not. */
    fail(o, x->write_err, x->write_err == -EMFILE || x->write_err == -ENFILE,
         "%s.part: %s", x->params.path, corral_strerror(x->write_err));
  else
    fail(o, CORRAL_ECURL, is_transient_curl(result), "%s",
         x->errbuf[0] ? x->errbuf : curl_easy_strerror(result));
}

void xfer_finish(struct xfer *x, CURLcode result, struct xfer_outcome *o)
{
  long status = 0;

  memset(o, 0, sizeof(*o));
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  o->http_status = status;
  if (result == CURLE_OK)
    finish_http(x, o);
  else
    finish_error(x, result, o);
  if (x->sink) {
    /* Still open means it failed: keep bytes worth resuming. */
    o->bytes = sink_size(x->sink);
    sink_abort(&x->sink, o->transient);
  }
  end_request(x, o);
}

void xfer_cancel(struct xfer *x, int err, bool transient, const char *msg,
                 struct xfer_outcome *o)
{
  long status = 0;

  memset(o, 0, sizeof(*o));
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  o->http_status = status;
  fail(o, err, transient, "%s", msg);
  if (x->sink) {
    o->bytes = sink_size(x->sink);
    sink_abort(&x->sink, true);
  }
  end_request(x, o);
}

bool xfer_resume(struct xfer *x)
{
  if (!x->paused)
    return false;
  x->paused = false;
  x->last_rx_ms = uv_now(x->cfg.loop);
  curl_easy_pause(x->easy, CURLPAUSE_CONT);
  return true;
}

void xfer_progress(const struct xfer *x, uint64_t *received, int64_t *total)
{
  curl_off_t length = -1;

  *received = x->sink ? sink_size(x->sink) : 0;
  curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  *total = is_2xx(x->status) && length >= 0
               ? (int64_t)(length + (curl_off_t)x->resume_from)
               : -1;
}

uint64_t xfer_idle_ms(const struct xfer *x)
{
  uint64_t now = uv_now(x->cfg.loop);

  return now > x->last_rx_ms ? now - x->last_rx_ms : 0;
}
