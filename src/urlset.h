/*
 * The dedup set: every key seen in a run, mapped to its job, plus the
 * output paths claimed so far, mapped to the job that claimed them (so two
 * keys never write one file).  Iteration follows insertion order, which is
 * input order.
 *
 * Ownership: the set stores job pointers; the jobs belong to the caller and
 * are freed through the callback given to urlset_release().  Path strings
 * are copied and owned by the set.
 */
#ifndef CORRAL_URLSET_H
#define CORRAL_URLSET_H

#include "job.h"

struct path_claim;

struct urlset {
  struct job *jobs;
  struct path_claim *paths;
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

/* The job that claimed path, or NULL. */
struct job *urlset_path_owner(struct urlset *set, const char *path);

/* Records that owner writes path.  0 or -ENOMEM. */
int urlset_claim_path(struct urlset *set, const char *path, struct job *owner);

/* Forgets everything, calling free_job on every job. */
void urlset_release(struct urlset *set, void (*free_job)(struct job *));

#endif
