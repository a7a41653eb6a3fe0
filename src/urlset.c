/*
 * The dedup set.  Jobs sit in a uthash table keyed by their inline key
 * string, through the job's own UT_hash_handle.
 *
 * Path claims are as many as jobs, and a UT_hash_handle (56 bytes) plus a
 * separate string per claim was a quarter of the memory a key costs.  So
 * claims are one allocation each (owner and path inline) in an
 * open-addressing table of pointers with linear probing, kept at most
 * half full.  Claims are never removed, so there are no tombstones.  The
 * hash is uthash's own HASH_FUNCTION.
 */
#include "urlset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool hash_oom_flag;

#define CLAIMS_MIN_CAP 1024

void urlset_init(struct urlset *set)
{
  memset(set, 0, sizeof(*set));
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

static size_t path_hash(const char *path, size_t len)
{
  unsigned hashv;

  HASH_FUNCTION(path, len, hashv);
  return hashv;
}

/* The slot holding path, or the free slot where it would go. */
static struct path_claim **claim_slot(struct path_claim **claims, size_t cap,
                                      const char *path, size_t len)
{
  size_t i = path_hash(path, len) & (cap - 1);

  while (claims[i] && strcmp(claims[i]->path, path))
    i = (i + 1) & (cap - 1);
  return &claims[i];
}

const struct path_claim *urlset_claim_of(const struct urlset *set,
                                         const char *path)
{
  if (!set->claims_cap)
    return NULL;
  return *claim_slot(set->claims, set->claims_cap, path, strlen(path));
}

static int grow_claims(struct urlset *set)
{
  size_t cap = set->claims_cap ? set->claims_cap * 2 : CLAIMS_MIN_CAP;
  struct path_claim **claims = calloc(cap, sizeof(*claims));
  size_t i;

  if (!claims)
    return -ENOMEM;
  for (i = 0; i < set->claims_cap; i++) {
    struct path_claim *claim = set->claims[i];

    if (claim)
      *claim_slot(claims, cap, claim->path, strlen(claim->path)) = claim;
  }
  free(set->claims);
  set->claims = claims;
  set->claims_cap = cap;
  return 0;
}

const char *urlset_claim_path(struct urlset *set, const char *path,
                              struct job *owner)
{
  size_t len = strlen(path);
  struct path_claim *claim;

  if ((set->n_claims + 1) * 2 > set->claims_cap && grow_claims(set))
    return NULL;
  if (!(claim = malloc(sizeof(*claim) + len + 1)))
    return NULL;
  claim->owner = owner;
  memcpy(claim->path, path, len + 1);
  *claim_slot(set->claims, set->claims_cap, path, len) = claim;
  set->n_claims++;
  return claim->path;
}

void urlset_release(struct urlset *set, void (*free_job)(struct job *))
{
  struct job *job, *jtmp;
  size_t i;

  for (i = 0; i < set->claims_cap; i++)
    free(set->claims[i]);
  free(set->claims);
  HASH_ITER(hh, set->jobs, job, jtmp)
  {
    HASH_DEL(set->jobs, job);
    free_job(job);
  }
  urlset_init(set);
}
