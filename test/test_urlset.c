/*
 * The dedup set: jobs found by key and iterated in insertion order; path
 * claims found again after the claim table has grown many times, each
 * with its owner and one stable copy of the path.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "urlset.h"

static struct job *job_new(const char *key)
{
  struct job *job = calloc(1, sizeof(*job) + strlen(key) + 1);

  ck_assert_ptr_nonnull(job);
  strcpy(job->key, key);
  return job;
}

static void job_free(struct job *job)
{
  free(job);
}

START_TEST(test_jobs_by_key_in_order)
{
  struct urlset set;
  struct job *job;
  char key[64];
  int i;

  urlset_init(&set);
  for (i = 0; i < 3000; i++) {
    snprintf(key, sizeof(key), "http://h/%d", i);
    ck_assert_int_eq(urlset_add(&set, job_new(key)), 0);
  }
  ck_assert_uint_eq(set.count, 3000);
  ck_assert_str_eq(urlset_find(&set, "http://h/2999")->key, "http://h/2999");
  ck_assert_ptr_null(urlset_find(&set, "http://h/3000"));
  for (i = 0, job = urlset_first(&set); job; job = urlset_next(job), i++) {
    snprintf(key, sizeof(key), "http://h/%d", i);
    ck_assert_str_eq(job->key, key);
  }
  ck_assert_int_eq(i, 3000);
  urlset_release(&set, job_free);
  ck_assert_ptr_null(urlset_first(&set));
}
END_TEST

START_TEST(test_claims_survive_growth)
{
  enum { N = 5000 }; /* the table starts at 1024 slots: it grows 3 times */
  struct urlset set;
  struct job *owners[2];
  const char *copies[N];
  const struct path_claim *claim;
  char path[64];
  int i;

  urlset_init(&set);
  owners[0] = job_new("http://a/");
  owners[1] = job_new("http://b/");
  ck_assert_ptr_null(urlset_claim_of(&set, "f.bin"));
  for (i = 0; i < N; i++) {
    snprintf(path, sizeof(path), "d/f.%d.bin", i);
    copies[i] = urlset_claim_path(&set, path, owners[i % 2]);
    ck_assert_ptr_nonnull(copies[i]);
    ck_assert_ptr_ne(copies[i], path);
    ck_assert_str_eq(copies[i], path);
  }
  ck_assert_uint_eq(set.n_claims, N);
  ck_assert_uint_ge(set.claims_cap, 2 * N);
  for (i = 0; i < N; i++) {
    snprintf(path, sizeof(path), "d/f.%d.bin", i);
    claim = urlset_claim_of(&set, path);
    ck_assert_ptr_nonnull(claim);
    ck_assert_ptr_eq(claim->owner, owners[i % 2]);
    ck_assert_ptr_eq(claim->path, copies[i]); /* the same copy, not moved */
  }
  ck_assert_ptr_null(urlset_claim_of(&set, "d/f.5000.bin"));
  ck_assert_ptr_null(urlset_claim_of(&set, "d/f.1.bi"));
  ck_assert_ptr_null(urlset_claim_of(&set, ""));
  urlset_release(&set, job_free);
  job_free(owners[0]);
  job_free(owners[1]);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("urlset");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_jobs_by_key_in_order);
  tcase_add_test(tc, test_claims_survive_growth);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
