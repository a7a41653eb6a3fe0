/*
 * Rate limit: a token bucket whose balance may dip below zero by the last
 * chunk taken.  Taking never splits a chunk: libcurl hands us whole
 * buffers, and pausing a transfer is cheaper than re-buffering.
 */
#include "ratelimit.h"

void ratelimit_init(struct ratelimit *r, uint64_t rate, uint64_t now_ms)
{
  r->rate = (double)rate;
  r->balance = r->rate / 10;
  r->last_ms = now_ms;
}

void ratelimit_refill(struct ratelimit *r, uint64_t now_ms)
{
  double cap = r->rate / 10;

  if (now_ms <= r->last_ms)
    return;
  r->balance += r->rate * (double)(now_ms - r->last_ms) / 1000;
  if (r->balance > cap)
    r->balance = cap;
  r->last_ms = now_ms;
}

bool ratelimit_take(struct ratelimit *r, size_t len, uint64_t now_ms)
{
  ratelimit_refill(r, now_ms);
  if (r->balance <= 0)
    return false;
  r->balance -= (double)len;
  return true;
}
