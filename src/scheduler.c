/*
 * Scheduler: per-host FIFO queues, a ring of hosts ready to start work, and
 * the retry backoff formula.  Hosts are kept in a hash table by
 * "host:port"; the ring holds exactly the hosts that have waiting items and
 * a free per-host slot, which is what makes sched_next() O(1).
 */
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct sched_host {
  UT_hash_handle hh;
  struct sched_host *ring_prev, *ring_next;
  struct sched_item *head, *tail;
  unsigned active;
  bool in_ring;
  char name[];
};

void sched_init(struct sched *s, unsigned jobs, unsigned per_host)
{
  memset(s, 0, sizeof(*s));
  s->jobs = jobs ? jobs : 1;
  s->per_host = per_host ? per_host : 1;
}

void sched_release(struct sched *s)
{
  struct sched_host *h, *tmp;

  HASH_ITER(hh, s->hosts, h, tmp)
  {
    HASH_DEL(s->hosts, h);
    free(h);
  }
  s->ring = NULL;
}

struct sched_host *sched_host(struct sched *s, const char *hostport)
{
  struct sched_host *h;
  size_t len = strlen(hostport);

  HASH_FIND(hh, s->hosts, hostport, len, h);
  if (h)
    return h;
  h = calloc(1, sizeof(*h) + len + 1);
  if (!h)
    return NULL;
  memcpy(h->name, hostport, len + 1);
  hash_oom_clear();
  HASH_ADD_KEYPTR(hh, s->hosts, h->name, len, h);
  if (hash_oom_take()) {
    free(h);
    return NULL;
  }
  return h;
}

static bool is_ready(const struct sched *s, const struct sched_host *h)
{
  return h->head && h->active < s->per_host;
}

static void ring_append(struct sched *s, struct sched_host *h)
{
  if (!s->ring) {
    h->ring_prev = h->ring_next = h;
    s->ring = h;
  }
  else {
    h->ring_prev = s->ring->ring_prev;
    h->ring_next = s->ring;
    s->ring->ring_prev->ring_next = h;
    s->ring->ring_prev = h;
  }
  h->in_ring = true;
}

static void ring_remove(struct sched *s, struct sched_host *h)
{
  if (h->ring_next == h)
    s->ring = NULL;
  else {
    h->ring_prev->ring_next = h->ring_next;
    h->ring_next->ring_prev = h->ring_prev;
    if (s->ring == h)
      s->ring = h->ring_next;
  }
  h->ring_prev = h->ring_next = NULL;
  h->in_ring = false;
}

/* Puts h in or out of the ring to match whether it is ready. */
static void ring_update(struct sched *s, struct sched_host *h)
{
  bool ready = is_ready(s, h);

  if (ready && !h->in_ring)
    ring_append(s, h);
  else if (!ready && h->in_ring)
    ring_remove(s, h);
}

void sched_push(struct sched *s, struct sched_host *h, struct sched_item *item,
                bool urgent)
{
  item->host = h;
  item->next = NULL;
  if (!h->head)
    h->head = h->tail = item;
  else if (urgent) {
    item->next = h->head;
    h->head = item;
  }
  else {
    h->tail->next = item;
    h->tail = item;
  }
  s->queued++;
  ring_update(s, h);
}

static struct sched_item *pop_front(struct sched *s, struct sched_host *h)
{
  struct sched_item *item = h->head;

  h->head = item->next;
  if (!h->head)
    h->tail = NULL;
  item->next = NULL;
  s->queued--;
  return item;
}

struct sched_item *sched_next(struct sched *s)
{
  struct sched_host *h = s->ring;
  struct sched_item *item;

  if (!h || s->active >= s->jobs)
    return NULL;
  item = pop_front(s, h);
  h->active++;
  s->active++;
  /* Rotate: this host goes to the back of the line if still ready. */
  ring_remove(s, h);
  ring_update(s, h);
  return item;
}

void sched_done(struct sched *s, struct sched_host *h)
{
  if (h->active)
    h->active--;
  if (s->active)
    s->active--;
  ring_update(s, h);
}

struct sched_item *sched_drain(struct sched *s)
{
  struct sched_host *h = s->ring;
  struct sched_host *tmp;
  struct sched_item *item;

  if (!h) {
    /* Hosts at their per-host limit can still hold waiting items. */
    HASH_ITER(hh, s->hosts, h, tmp)
    {
      if (h->head)
        break;
    }
    if (!h)
      return NULL;
  }
  item = pop_front(s, h);
  ring_update(s, h);
  return item;
}

unsigned sched_host_active(const struct sched_host *h)
{
  return h->active;
}

uint64_t sched_retry_delay_ms(unsigned attempt, double base_s,
                              uint64_t retry_after_ms, double rand01)
{
  const double cap_ms = 60000.0;
  double full_ms = base_s * 1000.0;
  double ms;
  unsigned i;

  for (i = 1; i < attempt && full_ms < cap_ms; i++)
    full_ms *= 2;
  if (full_ms > cap_ms)
    full_ms = cap_ms;
  ms = full_ms / 2 + full_ms / 2 * rand01;
  if (ms < 0)
    ms = 0;
  if ((double)retry_after_ms > ms)
    return retry_after_ms;
  return (uint64_t)ms;
}
