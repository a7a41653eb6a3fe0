/*
 * Rate limit: one token bucket shared by every transfer, for --limit-rate
 * as a total cap.  A transfer may take bytes while the bucket is not empty
 * (the balance may go below zero by one chunk, so any rate works with any
 * chunk size); otherwise it pauses until a refill makes the balance
 * positive again.  The burst is capped at a tenth of a second's worth.
 *
 * Pure: callers pass the time in milliseconds.  The struct is the
 * caller's storage; nothing to release.
 */
#ifndef CORRAL_RATELIMIT_H
#define CORRAL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit {
  double rate;    /* bytes per second */
  double balance; /* bytes that may be taken now; may be negative */
  uint64_t last_ms;
};

void ratelimit_init(struct ratelimit *r, uint64_t rate, uint64_t now_ms);

/* Adds what accrued since the last refill, up to the burst cap. */
void ratelimit_refill(struct ratelimit *r, uint64_t now_ms);

/* Takes len bytes and returns true if the balance is positive now. */
bool ratelimit_take(struct ratelimit *r, size_t len, uint64_t now_ms);

#endif
