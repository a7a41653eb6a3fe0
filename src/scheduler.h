/*
 * Scheduler: which queued transfer runs next, under a total limit (-j) and
 * a per-host limit (--per-host), and how long a retry waits.
 *
 * Each host ("host:port") has a FIFO of waiting items.  Hosts that have
 * waiting items and a free per-host slot form a ready ring; sched_next()
 * takes the head host's first item and moves that host to the ring's tail,
 * so hosts with work take turns and one big host never starves the others.
 * Every operation is O(1) apart from the host lookup (a hash).
 *
 * Calling sequence:
 *   sched_init(&s, jobs, per_host);
 *   h = sched_host(&s, "example.com:443");    find or create, owned by s
 *   sched_push(&s, h, &item);                  item is caller storage
 *   while ((item = sched_next(&s))) start it;  takes a slot
 *   sched_done(&s, h) when it ends;            gives the slot back
 *   sched_release(&s);
 *
 * The module is pure: no I/O and no clock; callers pass time in.
 */
#ifndef CORRAL_SCHEDULER_H
#define CORRAL_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_host;

/* Embed in the caller's record; use container_of to get back to it. */
struct sched_item {
  struct sched_item *next;
  struct sched_host *host;
};

struct sched {
  struct sched_host *hosts; /* hash table of every host seen */
  struct sched_host *ring;  /* ready hosts; ring->ring_prev is the tail */
  unsigned jobs, per_host;
  unsigned active; /* slots taken */
  size_t queued;   /* items waiting */
};

void sched_init(struct sched *s, unsigned jobs, unsigned per_host);
void sched_release(struct sched *s);

/*
 * Finds or creates the host named hostport.  Returns NULL only when out of
 * memory.  The host lives until sched_release().
 */
struct sched_host *sched_host(struct sched *s, const char *hostport);

/* Appends item to host's queue (or its front when urgent). */
void sched_push(struct sched *s, struct sched_host *h, struct sched_item *item,
                bool urgent);

/*
 * Removes and returns the next item to start, taking one total and one
 * per-host slot, or NULL when no slot is free or nothing waits.
 */
struct sched_item *sched_next(struct sched *s);

/* Gives back the slots taken by an item of host h. */
void sched_done(struct sched *s, struct sched_host *h);

/* Removes and returns any waiting item (for cancellation), or NULL. */
struct sched_item *sched_drain(struct sched *s);

unsigned sched_host_active(const struct sched_host *h);

/*
 * Milliseconds to wait before retry number `attempt` (1 for the first
 * retry): a value in [half, all] of base_s * 2^(attempt-1) chosen by
 * rand01 in [0,1), capped at 60 s; retry_after_ms replaces it when longer.
 */
uint64_t sched_retry_delay_ms(unsigned attempt, double base_s,
                              uint64_t retry_after_ms, double rand01);

#endif
