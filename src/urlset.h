/*
 * The dedup set: every key seen in a run, mapped to its job, plus the
 * output paths claimed so far, mapped to the job that claimed them (so two
 * keys never write one file).  Iteration follows insertion order, which is
 * input order.
 *
 * Ownership: the set stores job pointers; the jobs belong to the caller and
 * are freed through the callback given to urlset_release().  Claimed path
 * strings are copied and owned by the set; jobs and entries point at those
 * copies, which live until urlset_release(), instead of keeping their own.
 */
#ifndef CORRAL_URLSET_H
#define CORRAL_URLSET_H

#include "job.h"

struct path_claim {
  struct job *owner;
  char path[];
};

struct urlset {
  struct job *jobs;
  struct path_claim **claims; /* open addressing; NULL marks a free slot */
  size_t claims_cap;          /* a power of two, or 0 */
  size_t n_claims;
  size_t count;
};

void urlset_init(struct urlset *set);

/* The job for key, or NULL. */
struct job *urlset_find(struct urlset *set, const char *key);

/* Adds job under job->key (which must not be present).  0 or -ENOMEM. */
int urlset_add(struct urlset *set, struct job *job);

/* Insertion-order iteration: first, then next until NULL. */
struct job *urlset_first(struct urlset *set);
struct job *urlset_next(struct job *job);

/* The claim on path, or NULL when nobody claimed it. */
const struct path_claim *urlset_claim_of(const struct urlset *set,
                                         const char *path);

/*
 * Records that owner writes path, which must be unclaimed.  Returns the
 * set's copy of path, or NULL when out of memory.
 */
const char *urlset_claim_path(struct urlset *set, const char *path,
                              struct job *owner);

/* Forgets everything, calling free_job on every job. */
void urlset_release(struct urlset *set, void (*free_job)(struct job *));

#endif
