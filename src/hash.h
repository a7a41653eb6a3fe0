/*
 * The one place that configures uthash.  Every module that keeps a hash
 * table includes this instead of <uthash.h>, so that an allocation failure
 * inside a HASH_ADD sets a flag the caller checks, instead of uthash's
 * default exit(-1): the library must never exit on a runtime error.
 *
 * Calling sequence: hash_oom_clear(); HASH_ADD...(); if (hash_oom_take())
 * the add did not happen.  Single-threaded, like the rest of the library.
 */
#ifndef CORRAL_HASH_H
#define CORRAL_HASH_H

#include <stdbool.h>

extern bool hash_oom_flag;

#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom_flag = true)

#include <uthash.h>

static inline void hash_oom_clear(void)
{
  hash_oom_flag = false;
}

/* Returns whether an add failed since hash_oom_clear(), and clears it. */
static inline bool hash_oom_take(void)
{
  bool was = hash_oom_flag;

  hash_oom_flag = false;
  return was;
}

#endif
