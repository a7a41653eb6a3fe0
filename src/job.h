/*
 * The records behind deduplication.  A job is one key (normalized URL):
 * it is fetched at most once per run, and every input entry with that key
 * waits on it.  An entry is one input line (or corral_add call) until its
 * result has been delivered; then it is freed.  A job lives until the
 * corral is freed, so a later duplicate can take its result.
 *
 * Owned by corral.c; stored in the urlset (by key) and, while waiting, in
 * the scheduler's host queues (through the embedded sched_item).
 */
#ifndef CORRAL_JOB_H
#define CORRAL_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "scheduler.h"

enum job_state {
  JOB_PLANNED, /* dry run: never fetched */
  JOB_QUEUED,  /* waiting in its host's queue */
  JOB_ACTIVE,  /* a transfer is running */
  JOB_RETRY,   /* waiting for its retry timer; holds no slot */
  JOB_DONE,    /* file downloaded */
  JOB_SKIPPED, /* file was already there, or 304 */
  JOB_FAILED,
  JOB_ALIAS /* a redirect hop's key: see alias_of */
};

struct entry {
  struct entry *next;
  const char *path;   /* own output path (a urlset claim), or NULL for the job's */
  const char *source; /* interned by corral.c */
  unsigned line;
  bool is_owner; /* the entry that created the job */
  char url[];
};

struct retry_timer;

/*
 * A run keeps one job per distinct key to its end, so a job is kept small:
 * fields that never live at the same time share a union, times are
 * 32-bit, and the waiting entries are a ring reached through its tail.
 */
struct job {
  UT_hash_handle hh;
  struct sched_item item;
  struct entry *entries_tail; /* entries_tail->next is the first; or NULL */
  union {
    struct job *alias_of;      /* JOB_ALIAS: the job this key joined */
    struct retry_timer *retry; /* JOB_RETRY only */
  };
  union {
    char *validator; /* ETag/Last-Modified of the .part, until it ends */
    char *msg;       /* JOB_FAILED: reason */
  };
  const char *path; /* output path, relative to the output dir (a claim) */
  char *url;        /* current hop after a redirect, else NULL */
  char *sha256;     /* expected body hash (lowercase), or NULL */
  uint64_t bytes;
  uint32_t started_ms; /* ms into the run, plus one; 0 = never started */
  uint32_t ended_ms;   /* same clock */
  int err;
  int16_t http_status;
  uint16_t attempts;
  uint16_t hops;
  uint8_t state;
  bool named_by_out; /* out= named it: the server may not rename it */
  bool restarted;    /* a .part was dropped and fetched again whole */
  char key[];
};

#endif
