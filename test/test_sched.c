/*
 * Scheduler tests: limits, FIFO order per host, round-robin between hosts,
 * and the backoff formula.  Pure: no clock, no sleeps.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "scheduler.h"

#define container_of(ptr, type, member)                                       \
  ((type *)((char *)(ptr)-offsetof(type, member)))

struct work {
  struct sched_item item;
  int id;
};

static int next_id(struct sched *s)
{
  struct sched_item *item = sched_next(s);

  return item ? container_of(item, struct work, item)->id : -1;
}

START_TEST(test_total_limit)
{
  struct sched s;
  struct work w[5];
  struct sched_host *h;
  int i;

  sched_init(&s, 2, 10);
  h = sched_host(&s, "a:80");
  for (i = 0; i < 5; i++) {
    w[i].id = i;
    sched_push(&s, h, &w[i].item, false);
  }
  ck_assert_int_eq(next_id(&s), 0);
  ck_assert_int_eq(next_id(&s), 1);
  ck_assert_int_eq(next_id(&s), -1); /* -j 2 reached */
  sched_done(&s, h);
  ck_assert_int_eq(next_id(&s), 2);
  ck_assert_uint_eq(s.queued, 2);
  sched_release(&s);
}
END_TEST

START_TEST(test_per_host_limit_and_round_robin)
{
  struct sched s;
  struct work a[4], b[2];
  struct sched_host *ha, *hb;
  int i;

  sched_init(&s, 10, 2);
  ha = sched_host(&s, "a:80");
  hb = sched_host(&s, "b:80");
  ck_assert_ptr_eq(sched_host(&s, "a:80"), ha);
  for (i = 0; i < 4; i++) {
    a[i].id = i;
    sched_push(&s, ha, &a[i].item, false);
  }
  for (i = 0; i < 2; i++) {
    b[i].id = 10 + i;
    sched_push(&s, hb, &b[i].item, false);
  }
  /* Hosts alternate; a is held at 2 even though it has more work. */
  ck_assert_int_eq(next_id(&s), 0);
  ck_assert_int_eq(next_id(&s), 10);
  ck_assert_int_eq(next_id(&s), 1);
  ck_assert_int_eq(next_id(&s), 11);
  ck_assert_int_eq(next_id(&s), -1);
  ck_assert_uint_eq(sched_host_active(ha), 2);
  sched_done(&s, ha);
  ck_assert_int_eq(next_id(&s), 2);
  ck_assert_int_eq(next_id(&s), -1);
  sched_release(&s);
}
END_TEST

START_TEST(test_urgent_goes_first)
{
  struct sched s;
  struct work w[3];
  struct sched_host *h;

  sched_init(&s, 10, 10);
  h = sched_host(&s, "a:80");
  w[0].id = 0;
  w[1].id = 1;
  w[2].id = 2;
  sched_push(&s, h, &w[0].item, false);
  sched_push(&s, h, &w[1].item, false);
  sched_push(&s, h, &w[2].item, true);
  ck_assert_int_eq(next_id(&s), 2);
  ck_assert_int_eq(next_id(&s), 0);
  ck_assert_int_eq(next_id(&s), 1);
  sched_release(&s);
}
END_TEST

START_TEST(test_drain_reaches_blocked_hosts)
{
  struct sched s;
  struct work w[3];
  struct sched_host *h;
  int i, n = 0;

  sched_init(&s, 10, 1);
  h = sched_host(&s, "a:80");
  for (i = 0; i < 3; i++)
    sched_push(&s, h, &w[i].item, false);
  ck_assert_ptr_nonnull(sched_next(&s));
  /* The host is at its limit, so not in the ready ring, yet has work. */
  while (sched_drain(&s))
    n++;
  ck_assert_int_eq(n, 2);
  ck_assert_uint_eq(s.queued, 0);
  sched_release(&s);
}
END_TEST

START_TEST(test_many_hosts_fair)
{
  enum { HOSTS = 50, PER = 20 };
  static struct work w[HOSTS * PER];
  struct sched s;
  char name[32];
  int seen[HOSTS] = {0};
  int i, j;

  sched_init(&s, HOSTS, 1);
  for (i = 0; i < HOSTS; i++) {
    struct sched_host *h;

    snprintf(name, sizeof(name), "h%d:80", i);
    h = sched_host(&s, name);
    for (j = 0; j < PER; j++) {
      w[i * PER + j].id = i;
      sched_push(&s, h, &w[i * PER + j].item, false);
    }
  }
  /* The first round starts one transfer on every host. */
  for (i = 0; i < HOSTS; i++)
    seen[next_id(&s)]++;
  for (i = 0; i < HOSTS; i++)
    ck_assert_int_eq(seen[i], 1);
  ck_assert_int_eq(next_id(&s), -1);
  sched_release(&s);
}
END_TEST

static const struct {
  unsigned attempt;
  double base;
  uint64_t retry_after;
  double rand01;
  uint64_t want;
} delays[] = {
    {1, 1.0, 0, 0.0, 500},     {1, 1.0, 0, 0.999999, 999},
    {2, 1.0, 0, 0.0, 1000},    {3, 1.0, 0, 0.5, 3000},
    {10, 1.0, 0, 0.0, 30000},  {10, 1.0, 0, 0.999999, 59999},
    {30, 1.0, 0, 0.0, 30000},  {1, 0.2, 0, 0.0, 100},
    {1, 1.0, 5000, 0.0, 5000}, {3, 1.0, 1000, 0.5, 3000},
    {1, 0.0, 0, 0.5, 0},       {64, 2.0, 0, 0.999999, 59999},
};

START_TEST(test_retry_delay)
{
  ck_assert_uint_eq(sched_retry_delay_ms(delays[_i].attempt, delays[_i].base,
                                         delays[_i].retry_after,
                                         delays[_i].rand01),
                    delays[_i].want);
}
END_TEST

static Suite *sched_suite(void)
{
  Suite *s = suite_create("sched");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, test_total_limit);
  tcase_add_test(tc, test_per_host_limit_and_round_robin);
  tcase_add_test(tc, test_urgent_goes_first);
  tcase_add_test(tc, test_drain_reaches_blocked_hosts);
  tcase_add_test(tc, test_many_hosts_fair);
  tcase_add_loop_test(tc, test_retry_delay, 0,
                      sizeof(delays) / sizeof(delays[0]));
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(sched_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
