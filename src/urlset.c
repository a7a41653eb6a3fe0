/*
 * The dedup set on uthash: jobs keyed by their inline key string, and path
 * claims keyed by their inline path.  Both tables hold one allocation per
 * record; the job tables use the job's own UT_hash_handle.
 */
#include "urlset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool hash_oom_flag;

struct path_claim {
  UT_hash_handle hh;
  struct job *owner;
  char path[];
};

void urlset_init(struct urlset *set)
{
  set->jobs = NULL;
  set->paths = NULL;
  set->count = 0;
}

struct job *urlset_find(struct urlset *set, const char *key)
{
  struct job *job;

  HASH_FIND_STR(set->jobs, key, job);
  return job;
}

int urlset_add(struct urlset *set, struct job *job)
{
  hash_oom_clear();
  HASH_ADD_KEYPTR(hh, set->jobs, job->key, strlen(job->key), job);
  if (hash_oom_take())
    return -ENOMEM;
  set->count++;
  return 0;
}

struct job *urlset_first(struct urlset *set)
{
  return set->jobs;
}

struct job *urlset_next(struct job *job)
{
  return job->hh.next;
}

struct job *urlset_path_owner(struct urlset *set, const char *path)
{
  struct path_claim *claim;

  HASH_FIND_STR(set->paths, path, claim);
  return claim ? claim->owner : NULL;
}

int urlset_claim_path(struct urlset *set, const char *path, struct job *owner)
{
  size_t len = strlen(path);
  struct path_claim *claim = malloc(sizeof(*claim) + len + 1);

  if (!claim)
    return -ENOMEM;
  claim->owner = owner;
  memcpy(claim->path, path, len + 1);
  hash_oom_clear();
  HASH_ADD_KEYPTR(hh, set->paths, claim->path, len, claim);
  if (hash_oom_take()) {
    free(claim);
    return -ENOMEM;
  }
  return 0;
}

void urlset_release(struct urlset *set, void (*free_job)(struct job *))
{
  struct job *job, *jtmp;
  struct path_claim *claim, *ctmp;

  HASH_ITER(hh, set->paths, claim, ctmp)
  {
    HASH_DEL(set->paths, claim);
    free(claim);
  }
  HASH_ITER(hh, set->jobs, job, jtmp)
  {
    HASH_DEL(set->jobs, job);
    free_job(job);
  }
  set->count = 0;
}
