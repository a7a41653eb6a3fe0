/*
 * corral: download a list of URLs concurrently, each distinct resource once.
 *
 * Calling sequence:
 *
 *   struct corral_opts o;
 *   corral_opts_init(&o);            fill defaults, then adjust fields
 *   corral_new(&c, loop, &o);        borrows the loop; copies the options
 *   corral_add(c, &entry) ...        any number, any time before input end
 *   corral_read(c, fd, name)         optional: stream a URL list from fd
 *   corral_input_end(c)              no more entries will be added
 *   uv_run(loop, UV_RUN_DEFAULT)     returns once every entry has finished
 *   corral_free(c)
 *
 * Every entry ends in exactly one call of o.on_done, in the order entries
 * finish (not input order).  corral_stop() cancels what is active and
 * finishes the remaining entries as failed with CORRAL_ECANCELED.
 *
 * Errors: functions that can fail return 0 or a negative CORRAL_E* code;
 * codes that match an errno are -errno.  corral_strerror() names them all.
 * The library never prints and never exits; it reports through return
 * values, on_done and the optional on_log hook.
 *
 * Thread safety: a corral object is used from its loop's thread only.
 */
#ifndef CORRAL_H
#define CORRAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORRAL_VERSION "0.1.0"

struct uv_loop_s;
struct corral;

/* Our own error codes sit below -5000, clear of every -errno. */
enum corral_error {
  CORRAL_EURL = -5001,      /* URL does not parse */
  CORRAL_ESCHEME = -5002,   /* scheme other than http or https */
  CORRAL_EINPUT = -5003,    /* bad input line (see result msg) */
  CORRAL_EHTTP = -5004,     /* HTTP status that is not a success */
  CORRAL_ECURL = -5005,     /* transport error (see result msg) */
  CORRAL_ESHORT = -5006,    /* body shorter than Content-Length */
  CORRAL_ESTALL = -5007,    /* no byte received for --stall-timeout */
  CORRAL_ETOOBIG = -5008,   /* body over --max-filesize */
  CORRAL_ESHA256 = -5009,   /* body does not match sha256= */
  CORRAL_EREDIRS = -5010,   /* more than --max-redirs redirects */
  CORRAL_ELOOP = -5011,     /* redirect loop */
  CORRAL_ECANCELED = -5012, /* stopped by corral_stop() */
  CORRAL_ECONFLICT = -5013, /* entry conflicts with an earlier one */
  CORRAL_ERANGE = -5014,    /* a 206 that does not continue the .part */
  CORRAL_ENOMEM = -12       /* -ENOMEM */
};

enum corral_layout {
  CORRAL_LAYOUT_FLAT = 0, /* DIR/NAME */
  CORRAL_LAYOUT_MIRROR    /* DIR/HOST[_PORT]/PATH */
};

enum corral_status {
  CORRAL_STATUS_OK = 0,    /* downloaded */
  CORRAL_STATUS_DUPLICATE, /* joined another entry's download */
  CORRAL_STATUS_SKIPPED,   /* file already present, nothing fetched */
  CORRAL_STATUS_FAILED
};

/*
 * The outcome of one input entry.  Every pointer is borrowed and valid only
 * for the duration of the on_done call.
 */
struct corral_result {
  const char *url;       /* as written in the input */
  const char *key;       /* normalized URL; NULL when it did not parse */
  const char *final_url; /* last hop after redirects; NULL if none */
  const char *path;      /* relative to the output dir; NULL if none */
  const char *source;    /* input name ("-" for stdin), NULL for API use */
  unsigned line;         /* 1-based input line, 0 for API use */
  enum corral_status status;
  int err;           /* 0, or a CORRAL_E* code when failed */
  long http_status;  /* last HTTP status seen, 0 if none */
  uint64_t bytes;    /* body bytes of the download */
  unsigned attempts; /* requests sent for this entry's key */
  uint64_t ms;       /* from the first request to the end */
  const char *msg;   /* reason when failed, else NULL */
};

typedef void (*corral_done_cb)(const struct corral_result *r, void *data);

enum corral_log_level { CORRAL_LOG_ERROR, CORRAL_LOG_INFO, CORRAL_LOG_DEBUG };
typedef void (*corral_log_cb)(enum corral_log_level level, const char *msg,
                              void *data);

struct corral_opts {
  const char *output_dir; /* created if missing; default "." */
  unsigned jobs;          /* transfers at once; default 16 */
  unsigned per_host;      /* transfers at once per host:port; default 6 */
  enum corral_layout layout;
  unsigned retries;       /* default 3 */
  double retry_delay;     /* seconds, default 1 */
  double connect_timeout; /* seconds, default 30 */
  double stall_timeout;   /* seconds, default 60 */
  unsigned max_redirs;    /* default 10 */
  uint64_t max_filesize;  /* bytes, 0 = no limit */
  uint64_t limit_rate;    /* bytes/s across all transfers, 0 = none */
  bool refresh, overwrite, content_disposition, insecure, dry_run;
  const char *const *headers; /* n_headers "Name: value" strings */
  size_t n_headers;
  const char *user_agent; /* default "corral/VERSION" */
  const char *cacert;     /* NULL = system store */
  corral_done_cb on_done; /* required */
  corral_log_cb on_log;   /* optional */
  void *data;             /* passed to the callbacks */
};

/* One input entry; strings are copied by corral_add. */
struct corral_entry {
  const char *url;
  const char *out;    /* output path relative to the output dir, or NULL */
  const char *sha256; /* 64 hex digits, or NULL */
  const char *source; /* input name for messages, or NULL */
  unsigned line;
};

struct corral_stats {
  uint64_t entries, downloaded, duplicate, skipped, failed;
  uint64_t bytes;    /* body bytes of the completed downloads */
  uint64_t received; /* body bytes received so far, active ones included */
  unsigned active;   /* transfers running now */
  unsigned waiting;  /* keys queued or waiting to retry */
};

/* One running transfer, for a progress display. */
struct corral_transfer {
  const char *url;   /* the URL being fetched (a redirect hop, maybe) */
  const char *path;  /* output path, relative to the output dir */
  uint64_t received; /* bytes of the file so far, resumed ones included */
  int64_t total;     /* expected size of the file, -1 when unknown */
  uint64_t ms;       /* since this attempt started */
  unsigned attempt;  /* 1 for the first request */
};

typedef void (*corral_transfer_cb)(const struct corral_transfer *t,
                                   void *data);

/* Fills *o with the defaults above. */
void corral_opts_init(struct corral_opts *o);

/*
 * Creates a downloader on a loop the caller owns.  Creates the output dir
 * unless o->dry_run.  Returns 0 and sets *out, or a negative code
 * (-errno for an unusable output dir) and leaves *out NULL.
 */
int corral_new(struct corral **out, struct uv_loop_s *loop,
               const struct corral_opts *o);

/*
 * Adds one entry.  Returns 0, after which on_done is called exactly once for
 * it; or CORRAL_EURL/ESCHEME/EINPUT/ECONFLICT/ENOMEM, in which case on_done
 * is never called for it and *why (if not NULL) points to a static reason.
 */
int corral_add(struct corral *c, const struct corral_entry *e,
               const char **why);

/*
 * Streams a URL list (SPEC input format) from fd, adding entries as lines
 * arrive.  A bad line becomes a failed entry whose msg is "NAME:LINE:
 * reason".  The fd stays the caller's; it is not closed.  Input ends when
 * every stream reached EOF and corral_input_end() was called.
 */
int corral_read(struct corral *c, int fd, const char *name);

/* Declares that the caller adds nothing more. */
void corral_input_end(struct corral *c);

/*
 * Starts nothing new, stops active transfers (their .part files are kept)
 * and fails every unfinished entry with CORRAL_ECANCELED.  Safe to call from
 * any loop callback, more than once.
 */
void corral_stop(struct corral *c);

void corral_get_stats(const struct corral *c, struct corral_stats *s);

/*
 * Calls cb once for every active transfer, in slot order.  The pointers
 * are borrowed for the duration of the call.  Cheap: at most -j calls.
 */
void corral_each_transfer(const struct corral *c, corral_transfer_cb cb,
                          void *data);

/*
 * Releases everything.  If the loop has not finished the job, closes the
 * library's handles and runs the loop until their close callbacks ran.
 * corral_free(NULL) does nothing.
 */
void corral_free(struct corral *c);

/* A static description of a CORRAL_E* or -errno code. */
const char *corral_strerror(int err);

#endif
