/*
 * Transfer: one request for one key, on a reusable easy handle.  Sets the
 * options, streams a 2xx body into a sink (PATH.part), and when libcurl says
 * the transfer ended, decides what happened: a complete file (committed to
 * PATH), a redirect to follow, a 304, or a failure that is transient (worth
 * a retry) or permanent.  It knows nothing of dedup, queues or retries.
 *
 * Calling sequence:
 *   xfer_new(&x, &cfg)                 once per job slot; reused
 *   xfer_start(x, &params)             then engine_add(x->easy)
 *   xfer_finish(x, result, &outcome)   when the engine says it ended
 *   xfer_cancel(x, err, &outcome)      instead, after engine_remove()
 *   xfer_free(x)
 *
 * Ownership: cfg and its strings are borrowed and must outlive the xfer.
 * params is copied; its strings are borrowed until xfer_finish/xfer_cancel.
 * The outcome's redirect string is malloc'd and owned by the caller.
 */
#ifndef CORRAL_XFER_H
#define CORRAL_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

struct xfer;
struct ratelimit;

/*
 * --content-disposition: given the header's value, returns the path the
 * body should go to instead of params.path (owned by the caller and valid
 * until the transfer ends), or NULL to keep params.path.
 */
typedef const char *(*xfer_name_cb)(struct xfer *x, const char *disposition);

struct xfer_config {
  uv_loop_t *loop;            /* for uv_now(), the stall clock */
  int rootfd;                 /* output dir */
  struct curl_slist *headers; /* user headers, shared */
  const char *user_agent;
  const char *cacert;
  bool insecure;
  long connect_timeout_ms;
  long buffer_size;         /* libcurl's receive buffer, per transfer */
  uint64_t max_filesize;    /* 0 = none */
  struct ratelimit *limit;  /* shared --limit-rate bucket, or NULL */
  xfer_name_cb choose_name; /* NULL unless --content-disposition */
};

struct xfer_params {
  const char *url;
  const char *path;          /* relative output path */
  const char *sha256;        /* expected lowercase hex, or NULL */
  const char *validator;     /* ETag or Last-Modified of the .part, or NULL */
  bool resume;               /* continue an existing PATH.part */
  int64_t if_modified_since; /* --refresh: the file's mtime, or 0 */
  const char *if_none_match; /* --refresh: the file's ETag, or NULL */
};

struct xfer_outcome {
  int err;           /* 0 = file committed, or CORRAL_E* / -errno */
  bool transient;    /* worth a retry */
  bool not_modified; /* 304 */
  bool restart;      /* the .part was dropped: ask again, whole */
  long http_status;
  uint64_t bytes;          /* size of the file (resumed bytes included) */
  uint64_t retry_after_ms; /* from Retry-After, 0 if none */
  char *redirect;          /* absolute Location of a 3xx, caller frees */
  char *validator;         /* ETag/Last-Modified seen, caller frees */
  char msg[256];           /* reason when err != 0 */
};

struct xfer {
  CURL *easy;
  void *owner; /* the caller's record; never touched here */
  struct xfer_config cfg;
  struct sink *sink;
  struct curl_slist *request_headers; /* user headers + this request's */
  struct xfer_params params;          /* strings borrowed from the caller */
  uint64_t resume_from;
  uint64_t last_rx_ms;
  uint64_t started_ms;
  int64_t range_start;   /* from Content-Range, -1 if none */
  int64_t last_modified; /* from Last-Modified, -1 if none */
  uint64_t retry_after_ms;
  long status;   /* of the response being received */
  int write_err; /* why cb_write refused data */
  char *validator;
  char *disposition; /* Content-Disposition of a 2xx, when asked for */
  bool paused;       /* by the rate limit; see xfer_resume() */
  char errbuf[CURL_ERROR_SIZE];
};

int xfer_new(struct xfer **out, const struct xfer_config *cfg);
void xfer_free(struct xfer *x);

/* Prepares x for params.  0 or a negative code (then nothing to undo). */
int xfer_start(struct xfer *x, const struct xfer_params *params);

void xfer_finish(struct xfer *x, CURLcode result, struct xfer_outcome *o);
/* Ends x after the caller removed its handle: err with msg; the .part is
 * kept so a later run can resume it. */
void xfer_cancel(struct xfer *x, int err, bool transient, const char *msg,
                 struct xfer_outcome *o);

/*
 * Body bytes of the file so far (resumed ones included) and the expected
 * size, -1 while unknown.
 */
void xfer_progress(const struct xfer *x, uint64_t *received, int64_t *total);

/*
 * Lets a transfer the rate limit paused take data again.  Call from loop
 * context only (not from a libcurl callback).  Returns whether it was
 * paused.
 */
bool xfer_resume(struct xfer *x);

/* Milliseconds since the last byte arrived (or the transfer started). */
uint64_t xfer_idle_ms(const struct xfer *x);

#endif
