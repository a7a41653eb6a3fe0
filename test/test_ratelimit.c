/*
 * Rate limit tests: the bucket's arithmetic with a fake clock.  Pure: the
 * time is passed in, nothing sleeps.
 */
#include <check.h>
#include <stdlib.h>

#include "ratelimit.h"

START_TEST(test_starts_with_a_tenth_of_a_second)
{
  struct ratelimit r;

  ratelimit_init(&r, 1000, 0);
  ck_assert(ratelimit_take(&r, 60, 0));
  ck_assert(ratelimit_take(&r, 60, 0)); /* 40 left: may dip below zero */
  ck_assert(!ratelimit_take(&r, 1, 0)); /* -20: pause */
}
END_TEST

START_TEST(test_refills_with_time_up_to_the_cap)
{
  struct ratelimit r;

  ratelimit_init(&r, 1000, 0);
  ck_assert(ratelimit_take(&r, 300, 0));  /* balance -200 */
  ck_assert(!ratelimit_take(&r, 1, 100)); /* +100: still -100 */
  ck_assert(ratelimit_take(&r, 1, 201));  /* +101: just positive */
  ratelimit_refill(&r, 100000);           /* a long idle time */
  ck_assert(r.balance <= 100.0 + 1e-9);   /* capped at rate / 10 */
}
END_TEST

START_TEST(test_average_rate_holds_for_big_chunks)
{
  struct ratelimit r;
  uint64_t now = 0, taken = 0;

  /* 64 KiB chunks against 10 KiB/s: over 100 s about 1 MB gets through. */
  ratelimit_init(&r, 10240, 0);
  for (now = 0; now <= 100000; now += 10)
    if (ratelimit_take(&r, 65536, now))
      taken += 65536;
  ck_assert_uint_ge(taken, 10240 * 100 - 65536);
  ck_assert_uint_le(taken, 10240 * 100 + 2 * 65536);
}
END_TEST

START_TEST(test_clock_going_back_is_ignored)
{
  struct ratelimit r;

  ratelimit_init(&r, 1000, 5000);
  ck_assert(ratelimit_take(&r, 200, 5000));
  ck_assert(!ratelimit_take(&r, 1, 4000));
}
END_TEST

static Suite *ratelimit_suite(void)
{
  Suite *s = suite_create("ratelimit");
  TCase *tc = tcase_create("bucket");

  tcase_add_test(tc, test_starts_with_a_tenth_of_a_second);
  tcase_add_test(tc, test_refills_with_time_up_to_the_cap);
  tcase_add_test(tc, test_average_rate_holds_for_big_chunks);
  tcase_add_test(tc, test_clock_going_back_is_ignored);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(ratelimit_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
