/*
 * corral: the facade.  It turns entries into jobs (one per key), gives every
 * entry its output path, feeds the scheduler, runs transfers on the engine
 * and turns each transfer's outcome into a result for every entry that
 * waited on it: done, retried later, redirected (and perhaps merged into
 * another job), or failed.  All of it runs on the caller's loop thread.
 */
#include "corral.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "engine.h"
#include "job.h"
#include "listfile.h"
#include "names.h"
#include "ratelimit.h"
#include "reader.h"
#include "safefs.h"
#include "scheduler.h"
#include "urlnorm.h"
#include "urlset.h"
#include "xfer.h"

/* Longest ETag or Last-Modified we keep with a file. */
#define VALIDATOR_MAX 256

#define container_of(ptr, type, member)                                       \
  ((type *)((char *)(ptr)-offsetof(type, member)))

/* A job slot: one reusable transfer and the job it runs, if any. */
struct slot {
  struct xfer *xfer;
  struct job *job;
  struct corral *c;
};

struct retry_timer {
  uv_timer_t timer;
  struct job *job;
  struct corral *c;
};

struct input {
  struct input *next;
  struct corral *c;
  struct reader *reader;
  const char *source;
};

struct corral {
  uv_loop_t *loop;
  struct corral_opts o;
  struct curl_slist *headers;
  int rootfd;
  struct engine engine;
  struct sched sched;
  struct urlset set;
  struct slot *slots;
  unsigned *free_slots; /* stack of indexes into slots */
  unsigned n_free;
  uv_timer_t tick; /* stalls and the rate limit, while transfers run */
  struct ratelimit limit;
  unsigned next_resume; /* slot the rate limit resumes first */
  uint64_t tick_ms;
  uint64_t epoch_ms; /* uv_now() when the corral was made */
  struct input *inputs;
  char **sources;
  size_t n_sources;
  struct corral_stats stats;
  size_t pending; /* jobs queued, active or waiting to retry */
  unsigned open_handles;
  bool input_ended, stopping, finished;
  bool dir_was_empty; /* no file can be "already present" */
  bool inputs_paused; /* back-pressure: enough work is queued */
};

static void maybe_finish(struct corral *c);
static void pump(struct corral *c);

void corral_opts_init(struct corral_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->output_dir = ".";
  o->jobs = 16;
  o->per_host = 6;
  o->layout = CORRAL_LAYOUT_FLAT;
  o->retries = 3;
  o->retry_delay = 1;
  o->connect_timeout = 30;
  o->stall_timeout = 60;
  o->max_redirs = 10;
  o->user_agent = "corral/" CORRAL_VERSION;
}

const char *corral_strerror(int err)
{
  switch (err) {
  case 0:
    return "success";
  case CORRAL_EURL:
    return "bad URL";
  case CORRAL_ESCHEME:
    return "unsupported scheme";
  case CORRAL_EINPUT:
    return "bad input line";
  case CORRAL_EHTTP:
    return "HTTP error";
  case CORRAL_ECURL:
    return "transfer failed";
  case CORRAL_ESHORT:
    return "body shorter than Content-Length";
  case CORRAL_ESTALL:
    return "transfer stalled";
  case CORRAL_ETOOBIG:
    return "body larger than --max-filesize";
  case CORRAL_ESHA256:
    return "sha256 mismatch";
  case CORRAL_EREDIRS:
    return "too many redirects";
  case CORRAL_ELOOP:
    return "redirect loop";
  case CORRAL_ECANCELED:
    return "canceled";
  case CORRAL_ECONFLICT:
    return "conflicts with an earlier entry";
  case CORRAL_ERANGE:
    return "range does not continue the .part";
  default:
    return err < 0 && err > -5000 ? strerror(-err) : "unknown error";
  }
}

/* ---- results ---------------------------------------------------------- */

static void count(struct corral *c, enum corral_status status)
{
  switch (status) {
  case CORRAL_STATUS_OK:
    c->stats.downloaded++;
    break;
  case CORRAL_STATUS_DUPLICATE:
    c->stats.duplicate++;
    break;
  case CORRAL_STATUS_SKIPPED:
    c->stats.skipped++;
    break;
  case CORRAL_STATUS_FAILED:
    c->stats.failed++;
    break;
  }
}

static void emit(struct corral *c, struct corral_result *r)
{
  count(c, r->status);
  c->o.on_done(r, c->o.data);
}

/* Reports an entry that never became part of a job (a bad line). */
static void emit_bad(struct corral *c, const char *url, const char *source,
                     unsigned line, int err, const char *msg)
{
  struct corral_result r;

  memset(&r, 0, sizeof(r));
  r.url = url;
  r.source = source;
  r.line = line;
  r.status = CORRAL_STATUS_FAILED;
  r.err = err;
  r.msg = msg;
  c->stats.entries++;
  emit(c, &r);
}

/*
 * Gives an entry of a successful job its own file when it asked for another
 * path than the job's.  Returns the status the entry ends with.
 */
static enum corral_status place_copy(struct corral *c, struct job *job,
                                     struct entry *e, struct corral_result *r)
{
  static char msg[512];
  int err;

  if (!c->o.overwrite && safefs_stat(c->rootfd, e->path, NULL) == 1)
    return CORRAL_STATUS_SKIPPED;
  err = safefs_link_or_copy(c->rootfd, job->path, e->path);
  if (!err)
    return CORRAL_STATUS_DUPLICATE;
  snprintf(msg, sizeof(msg), "%s: %s", e->path, corral_strerror(err));
  r->err = err;
  r->msg = msg;
  return CORRAL_STATUS_FAILED;
}

static enum corral_status entry_status(struct corral *c, struct job *job,
                                       struct entry *e,
                                       struct corral_result *r)
{
  if (job->state == JOB_FAILED) {
    r->err = job->err;
    r->msg = job->msg;
    return CORRAL_STATUS_FAILED;
  }
  if (e->path && job->state != JOB_PLANNED)
    return place_copy(c, job, e, r);
  if (!e->is_owner)
    return CORRAL_STATUS_DUPLICATE;
  return job->state == JOB_SKIPPED ? CORRAL_STATUS_SKIPPED : CORRAL_STATUS_OK;
}

/* Tells the caller how entry e of a finished job ended, and frees e. */
static void deliver(struct corral *c, struct job *job, struct entry *e)
{
  struct corral_result r;

  memset(&r, 0, sizeof(r));
  r.url = e->url;
  r.key = job->key;
  r.final_url = job->url;
  r.path = e->path ? e->path : job->path;
  r.source = e->source;
  r.line = e->line;
  r.http_status = job->http_status;
  r.bytes = job->bytes;
  r.attempts = job->attempts;
  if (job->ended_ms > job->started_ms && job->started_ms)
    r.ms = job->ended_ms - job->started_ms;
  r.status = entry_status(c, job, e, &r);
  emit(c, &r);
  free(e);
}

/* Detaches job's waiting entries: a NULL-ended list, in input order. */
static struct entry *take_entries(struct job *job)
{
  struct entry *first;

  if (!job->entries_tail)
    return NULL;
  first = job->entries_tail->next;
  job->entries_tail->next = NULL;
  job->entries_tail = NULL;
  return first;
}

static void deliver_all(struct corral *c, struct job *job)
{
  struct entry *e = take_entries(job), *next;

  for (; e; e = next) {
    next = e->next;
    deliver(c, job, e);
  }
}

/* Milliseconds into the run, plus one so that 0 can mean "never". */
static uint32_t run_ms(const struct corral *c)
{
  return (uint32_t)(uv_now(c->loop) - c->epoch_ms + 1);
}

/*
 * Moves job to a final state, with msg (malloc'd, or NULL) as the reason
 * for JOB_FAILED, and reports every entry waiting on it.
 */
static void end_job(struct corral *c, struct job *job, enum job_state state,
                    char *msg)
{
  if (job->state == JOB_QUEUED || job->state == JOB_ACTIVE ||
      job->state == JOB_RETRY)
    c->pending--;
  job->state = state;
  job->ended_ms = run_ms(c);
  /* Only a .part being resumed needs it, and msg shares its storage. */
  free(job->validator);
  job->msg = msg;
  deliver_all(c, job);
}

static void finish_job(struct corral *c, struct job *job, enum job_state state)
{
  end_job(c, job, state, NULL);
}

static void fail_job(struct corral *c, struct job *job, int err,
                     const char *msg)
{
  job->err = err;
  end_job(c, job, JOB_FAILED, strdup(msg ? msg : corral_strerror(err)));
}

static void log_msg(struct corral *c, enum corral_log_level level,
                    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_msg(struct corral *c, enum corral_log_level level,
                    const char *fmt, ...)
{
  char buf[1024];
  va_list ap;

  if (!c->o.on_log)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  c->o.on_log(level, buf, c->o.data);
}

/* ---- jobs and entries --------------------------------------------------- */

static const char *intern_source(struct corral *c, const char *source)
{
  char **grown, *copy;
  size_t i;

  if (!source)
    return NULL;
  for (i = 0; i < c->n_sources; i++)
    if (!strcmp(c->sources[i], source))
      return c->sources[i];
  grown = realloc(c->sources, (c->n_sources + 1) * sizeof(*grown));
  if (!grown)
    return NULL;
  c->sources = grown;
  if (!(copy = strdup(source)))
    return NULL;
  c->sources[c->n_sources++] = copy;
  return copy;
}

static struct entry *entry_new(struct corral *c, const struct corral_entry *ce)
{
  size_t len = strlen(ce->url);
  struct entry *e = malloc(sizeof(*e) + len + 1);

  if (!e)
    return NULL;
  e->next = NULL;
  e->path = NULL;
  e->source = intern_source(c, ce->source);
  e->line = ce->line;
  e->is_owner = false;
  memcpy(e->url, ce->url, len + 1);
  return e;
}

static void job_free(struct job *job)
{
  struct entry *e = take_entries(job), *next;

  for (; e; e = next) {
    next = e->next;
    free(e);
  }
  free(job->url);
  free(job->sha256);
  free(job->validator); /* or msg: they share storage */
  free(job);
}

static struct job *job_new(const char *key)
{
  size_t len = strlen(key);
  struct job *job = calloc(1, sizeof(*job) + len + 1);

  if (!job)
    return NULL;
  memcpy(job->key, key, len + 1);
  return job;
}

static struct job *resolve(struct job *job)
{
  while (job && job->state == JOB_ALIAS)
    job = job->alias_of;
  return job;
}

static void append_entry(struct job *job, struct entry *e)
{
  struct entry *tail = job->entries_tail;

  e->next = tail ? tail->next : e;
  if (tail)
    tail->next = e;
  job->entries_tail = e;
}

/*
 * Picks the output path for job from the wanted one: the wanted path when
 * it is free or already the job's, else the first free NAME.N.EXT.  The
 * returned string is the urlset's claim, or NULL when out of memory.
 */
static const char *claim_free_path(struct corral *c, struct job *job,
                                   const char *want, bool avoid_present);

static const char *claim_path(struct corral *c, struct job *job,
                              const char *want)
{
  return claim_free_path(c, job, want, false);
}

/*
 * claim_path(), and with avoid_present also passing over names of files
 * already on disk: for a name that comes from the server, found only
 * after the check for a present file was made with the URL's name.
 */
static const char *claim_free_path(struct corral *c, struct job *job,
                                   const char *want, bool avoid_present)
{
  const struct path_claim *claim;
  const char *path = want, *claimed;
  char *numbered = NULL;
  unsigned n = 0;

  for (;;) {
    claim = urlset_claim_of(&c->set, path);
    if (claim && resolve(claim->owner) == job) {
      claimed = claim->path;
      break;
    }
    if (!claim &&
        !(avoid_present && safefs_stat(c->rootfd, path, NULL) == 1)) {
      claimed = urlset_claim_path(&c->set, path, job);
      break;
    }
    free(numbered);
    if (!(path = numbered = names_numbered(want, ++n)))
      return NULL;
  }
  free(numbered);
  return claimed;
}

/* The path an entry asks for: its out=, else the layout's name. */
static char *wanted_path(struct corral *c, const char *key, const char *out)
{
  if (out)
    return names_clean(out);
  if (c->o.layout == CORRAL_LAYOUT_MIRROR)
    return names_mirror(key);
  return names_flat(key);
}

static int check_sha256(const char *hex, char **out)
{
  size_t i;

  *out = NULL;
  if (!hex)
    return 0;
  for (i = 0; hex[i]; i++)
    if (!strchr("0123456789abcdefABCDEF", hex[i]))
      return CORRAL_EINPUT;
  if (i != 64)
    return CORRAL_EINPUT;
  if (!(*out = strdup(hex)))
    return CORRAL_ENOMEM;
  for (i = 0; i < 64; i++)
    (*out)[i] =
        (char)(((*out)[i] >= 'A' && (*out)[i] <= 'F') ? (*out)[i] - 'A' + 'a'
                                                      : (*out)[i]);
  return 0;
}

/* Queues a job on its host.  0 or -ENOMEM. */
/*
 * Back-pressure: with this many keys waiting, stop reading input until
 * the queue has drained to the low mark.  Memory then follows the number
 * of keys seen, not the length of the list still unread.
 */
#define BACKLOG_HIGH 8192
#define BACKLOG_LOW 4096

static void throttle_inputs(struct corral *c)
{
  struct input *in;
  bool pause = c->pending >= BACKLOG_HIGH;
  bool resume = c->pending <= BACKLOG_LOW;

  if ((pause && c->inputs_paused) || (resume && !c->inputs_paused) ||
      (!pause && !resume))
    return;
  c->inputs_paused = pause;
  for (in = c->inputs; in; in = in->next)
    if (pause)
      reader_pause(in->reader);
    else
      reader_resume(in->reader);
}

static int enqueue(struct corral *c, struct job *job, bool urgent)
{
  char hostport[512];
  struct sched_host *host;

  if (urlnorm_hostport(job->url ? job->url : job->key, hostport,
                       sizeof(hostport)) < 0)
    return CORRAL_EURL;
  host = sched_host(&c->sched, hostport);
  if (!host)
    return CORRAL_ENOMEM;
  if (job->state != JOB_QUEUED && job->state != JOB_ACTIVE &&
      job->state != JOB_RETRY)
    c->pending++;
  job->state = JOB_QUEUED;
  sched_push(&c->sched, host, &job->item, urgent);
  return 0;
}

static int add_first(struct corral *c, char *key, struct entry *e,
                     const char *out, char *sha256)
{
  struct job *job = job_new(key);
  char *want = NULL;
  int err = CORRAL_ENOMEM;

  if (!job)
    goto fail;
  job->sha256 = sha256;
  sha256 = NULL;
  if (!(want = wanted_path(c, key, out)) ||
      !(job->path = claim_path(c, job, want)) || urlset_add(&c->set, job))
    goto fail;
  free(want);
  e->is_owner = true;
  job->named_by_out = out != NULL;
  append_entry(job, e);
  if (c->o.dry_run) {
    job->state = JOB_PLANNED;
    return 0;
  }
  if (!c->o.overwrite && !c->o.refresh && !c->dir_was_empty &&
      safefs_stat(c->rootfd, job->path, &job->bytes) == 1) {
    finish_job(c, job, JOB_SKIPPED);
    return 0;
  }
  job->bytes = 0;
  if ((err = enqueue(c, job, false)))
    fail_job(c, job, err, NULL);
  pump(c);
  return 0;
fail:
  /* The job is in the set only if urlset_add succeeded, the last step. */
  free(want);
  free(sha256);
  if (job)
    job_free(job);
  return err;
}

static bool is_final(const struct job *job)
{
  return job->state == JOB_DONE || job->state == JOB_SKIPPED ||
         job->state == JOB_FAILED;
}

static int add_duplicate(struct corral *c, struct job *job, struct entry *e,
                         const char *out, char *sha256, const char **why)
{
  const char *path;
  char *want;

  if (sha256 && (!job->sha256 || strcmp(sha256, job->sha256))) {
    bool adopt = !job->sha256 &&
                 (job->state == JOB_QUEUED || job->state == JOB_PLANNED);

    if (!adopt) {
      free(sha256);
      *why = "sha256= differs from an earlier entry for the same URL";
      return CORRAL_ECONFLICT;
    }
    job->sha256 = sha256;
    sha256 = NULL;
  }
  free(sha256);
  if (!(want = wanted_path(c, job->key, out)))
    return CORRAL_ENOMEM;
  path = claim_path(c, job, want);
  free(want);
  if (!path)
    return CORRAL_ENOMEM;
  if (path != job->path)
    e->path = path;
  if (is_final(job))
    deliver(c, job, e);
  else
    append_entry(job, e);
  return 0;
}

int corral_add(struct corral *c, const struct corral_entry *ce,
               const char **why)
{
  const char *reason = NULL;
  struct entry *e = NULL;
  char *key = NULL, *sha256 = NULL;
  struct job *job;
  int err;

  if (!why)
    why = &reason;
  *why = NULL;
  if (c->stopping || c->finished) {
    *why = "the run is over";
    return CORRAL_ECANCELED;
  }
  if (!(key = urlnorm(ce->url, why))) {
    err = *why && !strcmp(*why, "unsupported scheme") ? CORRAL_ESCHEME
                                                      : CORRAL_EURL;
    goto out;
  }
  err = CORRAL_EINPUT;
  if (ce->out && names_check_out(ce->out, why))
    goto out;
  if ((err = check_sha256(ce->sha256, &sha256))) {
    *why = "bad sha256 (want 64 hex digits)";
    goto out;
  }
  err = CORRAL_ENOMEM;
  if (!(e = entry_new(c, ce)))
    goto out;
  job = resolve(urlset_find(&c->set, key));
  if (job)
    err = add_duplicate(c, job, e, ce->out, sha256, why);
  else
    err = add_first(c, key, e, ce->out, sha256);
  sha256 = NULL;
  if (!err) {
    e = NULL;
    c->stats.entries++;
  }
out:
  if (err && !*why)
    *why = corral_strerror(err);
  free(sha256);
  free(e);
  free(key);
  maybe_finish(c);
  return err;
}

/* ---- transfers -----------------------------------------------------------
 */

static void on_tick(uv_timer_t *timer);

/* --content-disposition: the job's file takes the server's name. */
static const char *choose_name(struct xfer *x, const char *disposition)
{
  struct slot *s = x->owner;
  struct job *job = s->job;
  const char *slash = strrchr(job->path, '/');
  size_t dir_len = slash ? (size_t)(slash - job->path) + 1 : 0;
  const char *path;
  char *name, *want;

  /* out= is the user's choice, and wins over the server's (like curl -o). */
  if (job->named_by_out || !(name = names_from_disposition(disposition)))
    return NULL;
  want = malloc(dir_len + strlen(name) + 1);
  if (want) {
    memcpy(want, job->path, dir_len);
    memcpy(want + dir_len, name, strlen(name) + 1);
  }
  free(name);
  path = want ? claim_free_path(s->c, job, want,
                                !s->c->o.overwrite && !s->c->o.refresh)
              : NULL;
  free(want);
  if (!path)
    return NULL;
  job->path = path;
  return path;
}

/*
 * libcurl's receive buffer for each transfer.  A big buffer means fewer
 * reads, and on a fast link fewer window updates for the kernel to send:
 * on loopback, 4 x 256 MiB took ~45% more system time with 16 KiB than
 * with 64 KiB or more.  But every active transfer holds one, so they
 * share a budget: 100 KiB each (curl's size) up to 10 transfers at once,
 * down to 16 KiB (libcurl's default) from 64 on.  Under --limit-rate,
 * small reads keep the shared bucket smooth.
 */
static long receive_buffer_size(const struct corral *c)
{
  const long budget = 1024 * 1024, least = 16 * 1024, most = 100 * 1024;
  long size = budget / (long)c->o.jobs;

  if (c->o.limit_rate || size < least)
    return least;
  return size > most ? most : size & ~4095L;
}

static int take_slot(struct corral *c, struct slot **out)
{
  struct xfer_config cfg;
  struct slot *s;
  int err;

  s = &c->slots[c->free_slots[c->n_free - 1]];
  if (!s->xfer) {
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = c->loop;
    cfg.rootfd = c->rootfd;
    cfg.headers = c->headers;
    cfg.user_agent = c->o.user_agent;
    cfg.cacert = c->o.cacert;
    cfg.insecure = c->o.insecure;
    cfg.connect_timeout_ms = (long)(c->o.connect_timeout * 1000);
    cfg.buffer_size = receive_buffer_size(c);
    cfg.max_filesize = c->o.max_filesize;
    cfg.choose_name = c->o.content_disposition ? choose_name : NULL;
    cfg.limit = c->o.limit_rate ? &c->limit : NULL;
    if ((err = xfer_new(&s->xfer, &cfg)))
      return err;
    engine_prepare(&c->engine, s->xfer->easy);
    s->xfer->owner = s;
    s->c = c;
  }
  c->n_free--;
  *out = s;
  return 0;
}

/* Returns a slot taken by a job that is no longer running. */
static void give_slot(struct corral *c, struct slot *s)
{
  sched_done(&c->sched, s->job->item.host);
  s->job = NULL;
  c->free_slots[c->n_free++] = (unsigned)(s - c->slots);
}

/* The validator a .part left by an earlier run was fetched with, if any. */
static bool part_validator(struct corral *c, const char *path, char *buf,
                           size_t len)
{
  size_t n = strlen(path);
  char *part = malloc(n + sizeof(".part"));
  int64_t mtime;
  bool found;

  if (!part)
    return false;
  memcpy(part, path, n);
  memcpy(part + n, ".part", sizeof(".part"));
  found = safefs_validators(c->rootfd, part, SAFEFS_VALIDATOR_XATTR, &mtime,
                            buf, len) == 1 &&
          buf[0];
  free(part);
  return found;
}

static bool is_etag(const char *v)
{
  return v[0] == '"' || !strncmp(v, "W/\"", 3);
}

/*
 * What to ask for: resume a .part (with If-Range when its validator is
 * known) or, with --refresh and a file present, ask only if it changed.
 * The two buffers must live until xfer_start() returns.
 */
static void fill_params(struct corral *c, struct job *job,
                        struct xfer_params *p, char *etag, char *validator)
{
  memset(p, 0, sizeof(*p));
  p->url = job->url ? job->url : job->key;
  p->path = job->path;
  p->sha256 = job->sha256;
  p->validator = job->validator;
  /*
   * With --content-disposition the file's name is known only later.  In
   * a dir that was empty at the start, only an earlier attempt of this job
   * can have left a .part: no need to look for one before.
   */
  p->resume = !c->o.overwrite && !c->o.content_disposition &&
              (!c->dir_was_empty || job->attempts);
  if (p->resume && !p->validator &&
      part_validator(c, job->path, validator, VALIDATOR_MAX))
    p->validator = validator;
  if (c->o.refresh &&
      safefs_validators(c->rootfd, job->path, SAFEFS_VALIDATOR_XATTR,
                        &p->if_modified_since, etag, VALIDATOR_MAX) == 1) {
    /* The kept validator is an ETag, or else a Last-Modified date. */
    p->if_none_match = is_etag(etag) ? etag : NULL;
    p->resume = false;
  }
}

static int start_job(struct corral *c, struct job *job)
{
  char etag[VALIDATOR_MAX], validator[VALIDATOR_MAX];
  struct xfer_params p;
  struct slot *s;
  int err;

  if ((err = take_slot(c, &s)))
    return err;
  fill_params(c, job, &p, etag, validator);
  if (!(err = xfer_start(s->xfer, &p)) &&
      !(err = engine_add(&c->engine, s->xfer->easy))) {
    s->job = job;
    job->state = JOB_ACTIVE;
    job->attempts++;
    if (!job->started_ms)
      job->started_ms = run_ms(c);
    if (!uv_is_active((uv_handle_t *)&c->tick))
      uv_timer_start(&c->tick, on_tick, c->tick_ms, c->tick_ms);
    return 0;
  }
  c->free_slots[c->n_free++] = (unsigned)(s - c->slots);
  return err;
}

/* Starts queued jobs while slots are free. */
static void pump(struct corral *c)
{
  struct sched_item *item;
  int err;

  while (!c->stopping && (item = sched_next(&c->sched))) {
    struct job *job = container_of(item, struct job, item);

    if ((err = start_job(c, job))) {
      sched_done(&c->sched, item->host);
      fail_job(c, job, err, NULL);
    }
  }
  throttle_inputs(c);
}

/* ---- outcomes: retry, redirect, done ------------------------------------ */

static void on_retry_closed(uv_handle_t *handle)
{
  struct retry_timer *rt = handle->data;

  rt->c->open_handles--;
  free(rt);
}

static void cancel_retry(struct corral *c, struct job *job)
{
  (void)c;
  if (!job->retry)
    return;
  uv_close((uv_handle_t *)&job->retry->timer, on_retry_closed);
  job->retry = NULL;
}

static void on_retry(uv_timer_t *timer)
{
  struct retry_timer *rt = timer->data;
  struct corral *c = rt->c;
  struct job *job = rt->job;
  int err;

  cancel_retry(c, job);
  if ((err = enqueue(c, job, true)))
    fail_job(c, job, err, NULL);
  pump(c);
  maybe_finish(c);
}

/* Waits before trying job again, holding no slot.  0 or -errno. */
static int schedule_retry(struct corral *c, struct job *job,
                          const struct xfer_outcome *o)
{
  struct retry_timer *rt = malloc(sizeof(*rt));
  uint64_t delay;
  int err;

  if (!rt)
    return CORRAL_ENOMEM;
  if ((err = uv_timer_init(c->loop, &rt->timer))) {
    free(rt);
    return err;
  }
  rt->timer.data = rt;
  rt->job = job;
  rt->c = c;
  c->open_handles++;
  job->retry = rt;
  job->state = JOB_RETRY;
  delay =
      sched_retry_delay_ms(job->attempts, c->o.retry_delay, o->retry_after_ms,
                           (double)rand() / ((double)RAND_MAX + 1));
  uv_timer_start(&rt->timer, on_retry, delay, 0);
  log_msg(c, CORRAL_LOG_INFO, "retry %u/%u in %.1f s: %s (%s)", job->attempts,
          c->o.retries, (double)delay / 1000, job->url ? job->url : job->key,
          o->msg);
  return 0;
}

/* Hands job's entries to target, which fetches (or fetched) the same. */
static void merge_into(struct corral *c, struct job *job, struct job *target)
{
  struct entry *e = take_entries(job), *next;

  c->pending--;
  job->state = JOB_ALIAS;
  job->alias_of = target;
  for (; e; e = next) {
    next = e->next;
    e->next = NULL;
    e->is_owner = false;
    if (!e->path && strcmp(job->path, target->path))
      e->path = job->path;
    if (is_final(target))
      deliver(c, target, e);
    else
      append_entry(target, e);
  }
}

/* Records that key (a redirect hop) belongs to job.  0 or -ENOMEM. */
static int add_alias(struct corral *c, const char *key, struct job *job)
{
  struct job *alias = job_new(key);

  if (!alias)
    return CORRAL_ENOMEM;
  alias->state = JOB_ALIAS;
  alias->alias_of = job;
  if (urlset_add(&c->set, alias)) {
    job_free(alias);
    return CORRAL_ENOMEM;
  }
  return 0;
}

static void follow_redirect(struct corral *c, struct job *job, char *location)
{
  const char *why = NULL;
  char msg[512];
  char *key = NULL;
  struct job *other;
  int err;

  if (++job->hops > c->o.max_redirs) {
    snprintf(msg, sizeof(msg), "too many redirects (more than %u)",
             c->o.max_redirs);
    fail_job(c, job, CORRAL_EREDIRS, msg);
    goto out;
  }
  if (!(key = urlnorm(location, &why))) {
    snprintf(msg, sizeof(msg), "bad redirect to %.400s: %s", location, why);
    fail_job(c, job, CORRAL_EURL, msg);
    goto out;
  }
  other = resolve(urlset_find(&c->set, key));
  if (other == job) {
    snprintf(msg, sizeof(msg), "redirect loop at %.400s", location);
    fail_job(c, job, CORRAL_ELOOP, msg);
    goto out;
  }
  log_msg(c, CORRAL_LOG_INFO, "redirect %s -> %s",
          job->url ? job->url : job->key, location);
  free(job->url);
  job->url = location;
  location = NULL;
  if (other) {
    merge_into(c, job, other);
    goto out;
  }
  if ((err = add_alias(c, key, job)) || (err = enqueue(c, job, true)))
    fail_job(c, job, err, NULL);
out:
  free(key);
  free(location);
}

static void keep_validator(struct job *job, struct xfer_outcome *o)
{
  if (!o->validator)
    return;
  free(job->validator);
  job->validator = o->validator;
  o->validator = NULL;
}

/* Retries spent so far: every request after the first, but a restart. */
static unsigned retries_used(const struct job *job)
{
  return job->attempts - 1u - (job->restarted ? 1u : 0u);
}

/* Decides what becomes of job after one request ended with outcome o. */
static void handle_outcome(struct corral *c, struct job *job,
                           struct xfer_outcome *o)
{
  int err;

  job->http_status = (int16_t)o->http_status;
  job->bytes = o->bytes;
  keep_validator(job, o);
  if (o->redirect) {
    follow_redirect(c, job, o->redirect);
    o->redirect = NULL;
  }
  else if (o->not_modified)
    finish_job(c, job, JOB_SKIPPED);
  else if (!o->err) {
    c->stats.bytes += o->bytes;
    finish_job(c, job, JOB_DONE);
  }
  else if (o->restart && !job->restarted && !c->stopping) {
    /* Not a failure of the server: start over at once, once. */
    job->restarted = true;
    log_msg(c, CORRAL_LOG_INFO, "%s; starting over", o->msg);
    if ((err = enqueue(c, job, true)))
      fail_job(c, job, err, NULL);
  }
  else if (o->transient && retries_used(job) < c->o.retries && !c->stopping &&
           !schedule_retry(c, job, o))
    ;
  else
    fail_job(c, job, o->err, o->msg);
  free(o->validator);
}

static void on_xfer_done(CURL *easy, CURLcode result, void *data)
{
  struct corral *c = data;
  struct xfer_outcome o;
  struct xfer *x = NULL;
  struct slot *s;
  struct job *job;

  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
  s = x->owner;
  job = s->job;
  xfer_finish(x, result, &o);
  give_slot(c, s);
  handle_outcome(c, job, &o);
  pump(c);
  maybe_finish(c);
}

/* Stops slot s's transfer now, for reason err. */
static void abort_slot(struct corral *c, struct slot *s, int err,
                       bool transient, const char *msg)
{
  struct xfer_outcome o;
  struct job *job = s->job;

  engine_remove(&c->engine, s->xfer->easy);
  xfer_cancel(s->xfer, err, transient, msg, &o);
  give_slot(c, s);
  handle_outcome(c, job, &o);
}

/* Aborts transfers that received nothing for --stall-timeout. */
static void check_stalls(struct corral *c)
{
  uint64_t limit = (uint64_t)(c->o.stall_timeout * 1000);
  char msg[128];
  unsigned i;

  snprintf(msg, sizeof(msg), "stalled: no data for %g s", c->o.stall_timeout);
  for (i = 0; i < c->o.jobs; i++) {
    struct slot *s = &c->slots[i];

    /* A transfer the rate limit paused is waiting for us, not stalled. */
    if (s->job && !s->xfer->paused && xfer_idle_ms(s->xfer) >= limit)
      abort_slot(c, s, CORRAL_ESTALL, true, msg);
  }
}

/*
 * Lets paused transfers go on while the shared bucket has bytes, starting
 * after the last one resumed, so that every transfer gets its turn.
 */
static void resume_paused(struct corral *c)
{
  unsigned i, n = c->o.jobs;

  ratelimit_refill(&c->limit, uv_now(c->loop));
  for (i = 0; i < n && c->limit.balance > 0; i++) {
    unsigned k = (c->next_resume + i) % n;
    struct slot *s = &c->slots[k];

    if (s->job && xfer_resume(s->xfer))
      c->next_resume = (k + 1) % n;
  }
}

static void on_tick(uv_timer_t *timer)
{
  struct corral *c = timer->data;

  if (!c->sched.active) {
    uv_timer_stop(timer);
    return;
  }
  if (c->o.limit_rate)
    resume_paused(c);
  check_stalls(c);
  pump(c);
  maybe_finish(c);
}

/* ---- input streams --------------------------------------------------- */

static void on_line(char *line, size_t len, unsigned lineno, bool too_long,
                    void *data)
{
  struct input *in = data;
  struct corral *c = in->c;
  struct listfile_entry le;
  struct corral_entry ce;
  char why[LISTFILE_WHY_MAX], msg[LISTFILE_WHY_MAX + 600];
  const char *reason = why;
  int rc;

  if (too_long) {
    snprintf(why, sizeof(why), "%s", LISTFILE_TOO_LONG);
    rc = -1;
  }
  else
    rc = listfile_parse_line(line, len, &le, why, sizeof(why));
  if (!rc || c->stopping)
    return;
  if (rc > 0) {
    memset(&ce, 0, sizeof(ce));
    ce.url = le.url;
    ce.out = le.out;
    ce.sha256 = le.sha256;
    ce.source = in->source;
    ce.line = lineno;
    if (!(rc = corral_add(c, &ce, &reason)))
      return;
  }
  snprintf(msg, sizeof(msg), "%s:%u: %s%s%.500s", in->source, lineno, reason,
           rc > 0 || rc < -1 ? ": " : "", rc > 0 || rc < -1 ? le.url : "");
  emit_bad(c, rc == -1 ? NULL : le.url, in->source, lineno,
           rc == -1 ? CORRAL_EINPUT : rc, msg);
}

static void remove_input(struct corral *c, struct input *in)
{
  struct input **p;

  for (p = &c->inputs; *p != in; p = &(*p)->next)
    ;
  *p = in->next;
  reader_close(in->reader);
  free(in);
}

static void on_input_end(struct reader *r, int err, void *data)
{
  struct input *in = data;
  struct corral *c = in->c;

  (void)r;
  if (err)
    log_msg(c, CORRAL_LOG_ERROR, "%s: %s", in->source, uv_strerror(err));
  remove_input(c, in);
  maybe_finish(c);
}

int corral_read(struct corral *c, int fd, const char *name)
{
  struct input *in = calloc(1, sizeof(*in));
  int err;

  if (!in)
    return CORRAL_ENOMEM;
  in->c = c;
  in->source = intern_source(c, name ? name : "-");
  err = in->source
            ? reader_start(&in->reader, c->loop, fd, on_line, on_input_end, in)
            : CORRAL_ENOMEM;
  if (err) {
    free(in);
    return err;
  }
  in->next = c->inputs;
  c->inputs = in;
  return 0;
}

void corral_input_end(struct corral *c)
{
  c->input_ended = true;
  maybe_finish(c);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
  struct corral *c = handle->data;

  c->open_handles--;
}

static void on_engine_closed(struct engine *e)
{
  struct corral *c = container_of(e, struct corral, engine);

  c->open_handles--;
}

static void emit_plan(struct corral *c)
{
  struct job *job;

  for (job = urlset_first(&c->set); job; job = urlset_next(job))
    if (job->state == JOB_PLANNED)
      deliver_all(c, job);
}

static void maybe_finish(struct corral *c)
{
  if (c->finished || !c->input_ended || c->inputs || c->pending)
    return;
  c->finished = true;
  if (c->o.dry_run)
    emit_plan(c);
  uv_close((uv_handle_t *)&c->tick, on_handle_closed);
  engine_close(&c->engine, on_engine_closed);
}

void corral_stop(struct corral *c)
{
  struct sched_item *item;
  struct job *job;
  unsigned i;

  if (c->stopping || c->finished)
    return;
  c->stopping = true;
  c->input_ended = true;
  while (c->inputs)
    remove_input(c, c->inputs);
  for (i = 0; i < c->o.jobs; i++)
    if (c->slots[i].job)
      abort_slot(c, &c->slots[i], CORRAL_ECANCELED, false, "interrupted");
  while ((item = sched_drain(&c->sched)))
    fail_job(c, container_of(item, struct job, item), CORRAL_ECANCELED,
             "interrupted");
  for (job = urlset_first(&c->set); job; job = urlset_next(job))
    if (job->state == JOB_RETRY) {
      cancel_retry(c, job);
      fail_job(c, job, CORRAL_ECANCELED, "interrupted");
    }
  maybe_finish(c);
}

void corral_get_stats(const struct corral *c, struct corral_stats *s)
{
  unsigned i;

  *s = c->stats;
  s->active = c->sched.active;
  s->waiting = (unsigned)(c->pending - c->sched.active);
  s->received = c->stats.bytes;
  for (i = 0; c->slots && i < c->o.jobs; i++) {
    uint64_t got;
    int64_t total;

    if (!c->slots[i].job)
      continue;
    xfer_progress(c->slots[i].xfer, &got, &total);
    s->received += got;
  }
}

void corral_each_transfer(const struct corral *c, corral_transfer_cb cb,
                          void *data)
{
  struct corral_transfer t;
  unsigned i;

  for (i = 0; i < c->o.jobs; i++) {
    const struct slot *s = &c->slots[i];

    if (!s->job)
      continue;
    t.url = s->job->url ? s->job->url : s->job->key;
    t.path = s->xfer->params.path;
    xfer_progress(s->xfer, &t.received, &t.total);
    t.ms = uv_now(c->loop) - s->xfer->started_ms;
    t.attempt = s->job->attempts;
    cb(&t, data);
  }
}

static int copy_opts(struct corral *c, const struct corral_opts *o)
{
  size_t i;

  c->o = *o;
  if (!c->o.jobs)
    c->o.jobs = 1;
  if (!c->o.output_dir)
    c->o.output_dir = ".";
  if (!c->o.user_agent)
    c->o.user_agent = "corral/" CORRAL_VERSION;
  /* Strings are copied; keep only what libcurl copies itself. */
  if (!(c->o.output_dir = strdup(c->o.output_dir)) ||
      !(c->o.user_agent = strdup(c->o.user_agent)) ||
      (o->cacert && !(c->o.cacert = strdup(o->cacert))))
    return CORRAL_ENOMEM;
  for (i = 0; i < o->n_headers; i++) {
    struct curl_slist *l = curl_slist_append(c->headers, o->headers[i]);

    if (!l)
      return CORRAL_ENOMEM;
    c->headers = l;
  }
  c->o.headers = NULL;
  c->o.n_headers = 0;
  return 0;
}

/* Descriptors open now (Linux /proc); a guess where that is missing. */
static unsigned fds_in_use(void)
{
  DIR *dir = opendir("/proc/self/fd");
  unsigned n = 0;

  if (!dir)
    return 32;
  while (readdir(dir))
    n++;
  closedir(dir);
  return n > 3 ? n - 3 : 0; /* ".", ".." and the DIR's own fd */
}

/*
 * Every active transfer holds a socket, its .part and, for a nested path,
 * the .part's folder.  Rather than fail transfers with EMFILE, run fewer
 * at once; refuse to start when not even one fits.
 */
static int fit_fd_limit(struct corral *c)
{
  const rlim_t per_transfer = 3, spare = 8;
  struct rlimit rl;
  rlim_t used = fds_in_use(), budget;

  if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
    return 0;
  budget = rl.rlim_cur > used + spare
               ? (rl.rlim_cur - used - spare) / per_transfer
               : 0;
  if (!budget) {
    log_msg(c, CORRAL_LOG_ERROR,
            "corral: the open-file limit (%llu, ulimit -n) leaves no room "
            "for a transfer",
            (unsigned long long)rl.rlim_cur);
    return -EMFILE;
  }
  if (c->o.jobs <= budget)
    return 0;
  log_msg(c, CORRAL_LOG_ERROR,
          "corral: warning: %u transfers at once instead of %u: the "
          "open-file limit is %llu (ulimit -n)",
          (unsigned)budget, c->o.jobs, (unsigned long long)rl.rlim_cur);
  c->o.jobs = (unsigned)budget;
  return 0;
}

static int alloc_slots(struct corral *c)
{
  unsigned i;

  c->slots = calloc(c->o.jobs, sizeof(*c->slots));
  c->free_slots = calloc(c->o.jobs, sizeof(*c->free_slots));
  if (!c->slots || !c->free_slots)
    return CORRAL_ENOMEM;
  for (i = 0; i < c->o.jobs; i++)
    c->free_slots[i] = c->o.jobs - 1 - i;
  c->n_free = c->o.jobs;
  return 0;
}

static void release(struct corral *c)
{
  unsigned i;
  size_t k;

  if (c->slots)
    for (i = 0; i < c->o.jobs; i++)
      xfer_free(c->slots[i].xfer);
  free(c->slots);
  free(c->free_slots);
  urlset_release(&c->set, job_free);
  sched_release(&c->sched);
  curl_slist_free_all(c->headers);
  for (k = 0; k < c->n_sources; k++)
    free(c->sources[k]);
  free(c->sources);
  if (c->rootfd >= 0)
    close(c->rootfd);
  free((char *)c->o.output_dir);
  free((char *)c->o.user_agent);
  free((char *)c->o.cacert);
  free(c);
}

static int open_handles(struct corral *c)
{
  int err;

  if ((err = uv_timer_init(c->loop, &c->tick)))
    return err;
  c->tick.data = c;
  c->open_handles++;
  if ((err = engine_init(&c->engine, c->loop, c->o.jobs * 2 + 16, on_xfer_done,
                         c))) {
    uv_close((uv_handle_t *)&c->tick, on_handle_closed);
    return err;
  }
  c->open_handles++;
  return 0;
}

int corral_new(struct corral **out, struct uv_loop_s *loop,
               const struct corral_opts *o)
{
  struct corral *c = calloc(1, sizeof(*c));
  int err = CORRAL_ENOMEM;

  *out = NULL;
  if (!c)
    return err;
  c->loop = loop;
  c->epoch_ms = uv_now(loop);
  c->rootfd = -1;
  urlset_init(&c->set);
  if ((err = copy_opts(c, o)))
    goto fail;
  if ((err = fit_fd_limit(c)))
    goto fail;
  sched_init(&c->sched, c->o.jobs, c->o.per_host);
  c->tick_ms = c->o.limit_rate ? 20 : 100;
  ratelimit_init(&c->limit, c->o.limit_rate, uv_now(loop));
  if ((err = alloc_slots(c)))
    goto fail;
  if (!c->o.dry_run &&
      (err = safefs_open_root(c->o.output_dir, true, &c->rootfd)))
    goto fail;
  if ((err = open_handles(c)))
    goto fail;
  c->dir_was_empty = c->rootfd >= 0 && safefs_is_empty(c->rootfd);
  *out = c;
  return 0;
fail:
  while (c->open_handles)
    uv_run(loop, UV_RUN_ONCE);
  release(c);
  return err;
}

void corral_free(struct corral *c)
{
  if (!c)
    return;
  if (!c->finished) {
    corral_stop(c);
    maybe_finish(c);
  }
  while (c->open_handles)
    uv_run(c->loop, UV_RUN_ONCE);
  release(c);
}
