/*
 * Tests for sink and safefs, on a fresh temporary directory per test:
 * TMP/out is the root handed to safefs, TMP/outside is a sentinel that
 * planted symlinks and hard links point at and that must stay untouched.
 * Permission and disk-error cases run in a forked child that drops root
 * (setuid) or lowers RLIMIT_FSIZE, so the real kernel errors are seen.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safefs.h"
#include "sink.h"

#define SHA_ABC                                                               \
  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_EMPTY                                                             \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* printf 'hello world\n' | sha256sum */
#define SHA_HELLO                                                             \
  "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"

/* Child exit code meaning "could not set the test up" (not a failure). */
#define CHILD_SKIP 77

static char tmp[64];
static char outdir[128];
static char outside[128];
static int root = -1;

static void rm_tree_at(int dirfd, const char *name);

/* Removes every entry of the directory open as fd, then closes it. */
static void rm_entries(int fd)
{
  DIR *d = fdopendir(fd);
  struct dirent *e;

  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      rm_tree_at(dirfd(d), e->d_name);
  }
  closedir(d);
}

static void rm_tree_at(int dirfd, const char *name)
{
  struct stat st;
  int fd;

  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    fchmodat(dirfd, name, 0700, 0);
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    ck_assert_int_ge(fd, 0);
    rm_entries(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
    return;
  }
  unlinkat(dirfd, name, 0);
}

static void setup(void)
{
  snprintf(tmp, sizeof(tmp), "/tmp/corral-sink-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp));
  snprintf(outdir, sizeof(outdir), "%s/out", tmp);
  snprintf(outside, sizeof(outside), "%s/outside", tmp);
  ck_assert_int_eq(mkdir(outside, 0755), 0);
  ck_assert_int_eq(safefs_open_root(outdir, true, &root), 0);
}

static void teardown(void)
{
  if (root >= 0)
    close(root);
  root = -1;
  rm_tree_at(AT_FDCWD, tmp);
}

/* Reads a file relative to dirfd into buf (NUL-terminated); -1 if absent. */
static ssize_t slurp(int dirfd, const char *rel, char *buf, size_t cap)
{
  int fd = openat(dirfd, rel, O_RDONLY | O_NOFOLLOW);
  ssize_t n;

  if (fd < 0)
    return -1;
  n = read(fd, buf, cap - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = '\0';
  return n;
}

static void ck_content(int dirfd, const char *rel, const char *want)
{
  char buf[256];

  ck_assert_int_eq(slurp(dirfd, rel, buf, sizeof(buf)), (ssize_t)strlen(want));
  ck_assert_str_eq(buf, want);
}

static void put(int dirfd, const char *rel, const char *content)
{
  int fd = openat(dirfd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, content, strlen(content)),
                   (ssize_t)strlen(content));
  close(fd);
}

static bool exists(int dirfd, const char *rel)
{
  struct stat st;

  return fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int count_entries(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;

  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)))
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

/* Makes TMP/outside/target ("secret") and a symlink to it at out/rel. */
static void plant_link(const char *rel)
{
  char target[160];
  int fd = open(outside, O_RDONLY | O_DIRECTORY);

  put(fd, "target", "secret");
  close(fd);
  snprintf(target, sizeof(target), "%s/target", outside);
  ck_assert_int_eq(symlinkat(target, root, rel), 0);
}

static void ck_target_untouched(void)
{
  int fd = open(outside, O_RDONLY | O_DIRECTORY);

  ck_content(fd, "target", "secret");
  close(fd);
  ck_assert_int_eq(count_entries(outside), 1);
}

static void write_commit(const char *rel, const char *content)
{
  struct sink *s = NULL;

  ck_assert_int_eq(sink_open(&s, root, rel, 0, NULL), 0);
  ck_assert_int_eq(sink_write(s, content, strlen(content)), 0);
  ck_assert_int_eq(sink_commit(&s, -1), 0);
  ck_assert_ptr_null(s);
}

START_TEST(test_commit)
{
  struct sink *s = NULL;
  uint64_t have = 99;

  ck_assert_int_eq(sink_open(&s, root, "f.txt", 0, &have), 0);
  ck_assert_uint_eq(have, 0);
  ck_assert_int_eq(sink_write(s, "hello world\n", 12), 0);
  ck_assert_uint_eq(sink_size(s), 12);
  ck_content(root, "f.txt.part", "hello world\n");
  ck_assert_int_eq(safefs_stat(root, "f.txt", NULL), 0);
  ck_assert_int_eq(sink_commit(&s, -1), 0);
  ck_assert_ptr_null(s);
  ck_content(root, "f.txt", "hello world\n");
  ck_assert(!exists(root, "f.txt.part"));
}
END_TEST

START_TEST(test_nested_dirs)
{
  uint64_t size = 0;

  write_commit("a/b/./c//d.bin", "xyz");
  ck_assert_int_eq(safefs_stat(root, "a/b/c/d.bin", &size), 1);
  ck_assert_uint_eq(size, 3);
}
END_TEST

START_TEST(test_abort)
{
  struct sink *s = NULL;

  ck_assert_int_eq(sink_open(&s, root, "f", 0, NULL), 0);
  ck_assert_int_eq(sink_write(s, "abc", 3), 0);
  sink_abort(&s, false);
  ck_assert_ptr_null(s);
  ck_assert(!exists(root, "f.part"));
  ck_assert(!exists(root, "f"));
  sink_abort(&s, false);
}
END_TEST

START_TEST(test_abort_keep_part)
{
  struct sink *s = NULL;

  ck_assert_int_eq(sink_open(&s, root, "f", 0, NULL), 0);
  ck_assert_int_eq(sink_write(s, "abc", 3), 0);
  sink_abort(&s, true);
  ck_assert_ptr_null(s);
  ck_content(root, "f.part", "abc");
  ck_assert(!exists(root, "f"));
}
END_TEST

START_TEST(test_resume_appends)
{
  struct sink *s = NULL;
  uint64_t have = 0;
  char hex[65];

  ck_assert_int_eq(sink_open(&s, root, "r", 0, NULL), 0);
  ck_assert_int_eq(sink_write(s, "hello ", 6), 0);
  sink_abort(&s, true);
  ck_assert_int_eq(sink_open(&s, root, "r", SINK_RESUME | SINK_SHA256, &have),
                   0);
  ck_assert_uint_eq(have, 6);
  ck_assert_uint_eq(sink_size(s), 6);
  ck_assert_int_eq(sink_write(s, "world\n", 6), 0);
  sink_sha256_hex(s, hex);
  ck_assert_str_eq(hex, SHA_HELLO);
  ck_assert_int_eq(sink_commit(&s, -1), 0);
  ck_content(root, "r", "hello world\n");
}
END_TEST

START_TEST(test_resume_absent)
{
  struct sink *s = NULL;
  uint64_t have = 99;

  ck_assert_int_eq(sink_open(&s, root, "d/r", SINK_RESUME, &have), 0);
  ck_assert_uint_eq(have, 0);
  ck_assert(exists(root, "d/r.part"));
  sink_abort(&s, false);
}
END_TEST

START_TEST(test_fresh_replaces_part)
{
  struct sink *s = NULL;
  uint64_t have = 99;

  put(root, "f.part", "old data");
  ck_assert_int_eq(sink_open(&s, root, "f", 0, &have), 0);
  ck_assert_uint_eq(have, 0);
  ck_assert_uint_eq(sink_size(s), 0);
  ck_assert_int_eq(sink_write(s, "new", 3), 0);
  ck_assert_int_eq(sink_commit(&s, -1), 0);
  ck_content(root, "f", "new");
}
END_TEST

START_TEST(test_truncate)
{
  struct sink *s = NULL;
  char hex[65];

  put(root, "t.part", "stale ");
  ck_assert_int_eq(sink_open(&s, root, "t", SINK_RESUME | SINK_SHA256, NULL),
                   0);
  ck_assert_int_eq(sink_write(s, "garbage", 7), 0);
  ck_assert_int_eq(sink_truncate(s), 0);
  ck_assert_uint_eq(sink_size(s), 0);
  ck_assert_int_eq(sink_write(s, "abc", 3), 0);
  sink_sha256_hex(s, hex);
  ck_assert_str_eq(hex, SHA_ABC);
  ck_assert_int_eq(sink_commit(&s, -1), 0);
  ck_content(root, "t", "abc");
}
END_TEST

START_TEST(test_sha256)
{
  struct sink *s = NULL;
  char hex[65];

  ck_assert_int_eq(sink_open(&s, root, "h", SINK_SHA256, NULL), 0);
  sink_sha256_hex(s, hex);
  ck_assert_str_eq(hex, SHA_EMPTY);
  ck_assert_int_eq(sink_write(s, "a", 1), 0);
  sink_sha256_hex(s, hex);
  ck_assert_int_eq(sink_write(s, "bc", 2), 0);
  sink_sha256_hex(s, hex);
  ck_assert_str_eq(hex, SHA_ABC);
  sink_abort(&s, false);
  ck_assert_int_eq(sink_open(&s, root, "h", 0, NULL), 0);
  ck_assert_int_eq(sink_write(s, "abc", 3), 0);
  sink_sha256_hex(s, hex);
  ck_assert_str_eq(hex, "");
  sink_abort(&s, false);
}
END_TEST

START_TEST(test_mtime_and_replace)
{
  struct sink *s = NULL;
  struct stat st;

  put(root, "m", "old");
  ck_assert_int_eq(sink_open(&s, root, "m", 0, NULL), 0);
  ck_assert_int_eq(sink_write(s, "new", 3), 0);
  ck_assert_int_eq(sink_commit(&s, 1000000000), 0);
  ck_content(root, "m", "new");
  ck_assert_int_eq(fstatat(root, "m", &st, 0), 0);
  ck_assert_int_eq((long long)st.st_mtime, 1000000000LL);
}
END_TEST

START_TEST(test_commit_onto_dir_fails)
{
  struct sink *s = NULL;

  ck_assert_int_eq(mkdirat(root, "d", 0755), 0);
  ck_assert_int_eq(mkdirat(root, "d/x", 0755), 0);
  ck_assert_int_eq(sink_open(&s, root, "d", 0, NULL), 0);
  ck_assert_int_eq(sink_write(s, "abc", 3), 0);
  ck_assert_int_lt(sink_commit(&s, -1), 0);
  ck_assert_ptr_null(s);
  ck_content(root, "d.part", "abc");
}
END_TEST

START_TEST(test_symlink_dir_component)
{
  struct sink *s = NULL;
  int err;

  ck_assert_int_eq(symlinkat(outside, root, "link"), 0);
  err = sink_open(&s, root, "link/f", 0, NULL);
  ck_assert_msg(err == -ELOOP || err == -ENOTDIR, "err %d", err);
  ck_assert_ptr_null(s);
  err = sink_open(&s, root, "link/sub/f", SINK_RESUME, NULL);
  ck_assert_msg(err == -ELOOP || err == -ENOTDIR, "err %d", err);
  err = safefs_stat(root, "link/f", NULL);
  ck_assert_msg(err == -ELOOP || err == -ENOTDIR, "err %d", err);
  put(root, "src", "data");
  err = safefs_link_or_copy(root, "src", "link/g");
  ck_assert_msg(err == -ELOOP || err == -ENOTDIR, "err %d", err);
  ck_assert_int_eq(count_entries(outside), 0);
}
END_TEST

START_TEST(test_file_as_dir_component)
{
  struct sink *s = NULL;

  put(root, "plain", "x");
  ck_assert_int_eq(sink_open(&s, root, "plain/f", 0, NULL), -ENOTDIR);
  ck_assert_int_eq(safefs_stat(root, "plain/f", NULL), -ENOTDIR);
}
END_TEST

START_TEST(test_symlink_at_part)
{
  struct sink *s = NULL;
  struct stat st;

  plant_link("f.part");
  ck_assert_int_eq(sink_open(&s, root, "f", SINK_RESUME, NULL), -ELOOP);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(sink_open(&s, root, "f", 0, NULL), 0);
  ck_assert_int_eq(sink_write(s, "mine", 4), 0);
  ck_assert_int_eq(sink_commit(&s, -1), 0);
  ck_assert_int_eq(fstatat(root, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
  ck_assert(S_ISREG(st.st_mode));
  ck_content(root, "f", "mine");
  ck_target_untouched();
}
END_TEST

START_TEST(test_symlink_at_final)
{
  struct stat st;

  plant_link("f");
  ck_assert_int_eq(safefs_stat(root, "f", NULL), -ELOOP);
  write_commit("f", "mine");
  ck_assert_int_eq(fstatat(root, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
  ck_assert(S_ISREG(st.st_mode));
  ck_content(root, "f", "mine");
  ck_target_untouched();
}
END_TEST

START_TEST(test_hardlinked_part_not_resumed)
{
  struct sink *s = NULL;
  char target[160];
  uint64_t have = 99;

  plant_link("unused");
  snprintf(target, sizeof(target), "%s/target", outside);
  ck_assert_int_eq(linkat(AT_FDCWD, target, root, "h.part", 0), 0);
  ck_assert_int_eq(sink_open(&s, root, "h", SINK_RESUME, &have), 0);
  ck_assert_uint_eq(have, 0);
  ck_assert_int_eq(sink_write(s, "mine", 4), 0);
  ck_assert_int_eq(sink_commit(&s, -1), 0);
  ck_content(root, "h", "mine");
  ck_target_untouched();
}
END_TEST

static const char *const bad_paths[] = {
    "../x", "a/../../x", "..", "a/..", "/tmp/x", "", "a/", "a/.", ".",
};

START_TEST(test_bad_paths)
{
  struct sink *s = NULL;
  const char *p = bad_paths[_i];

  ck_assert_int_eq(sink_open(&s, root, p, 0, NULL), -EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(safefs_stat(root, p, NULL), -EINVAL);
  ck_assert(!exists(AT_FDCWD, "/tmp/x.part"));
  ck_assert_int_eq(count_entries(tmp), 2);
  ck_assert_int_eq(count_entries(outdir), 0);
}
END_TEST

START_TEST(test_name_too_long)
{
  struct sink *s = NULL;
  char name[300];

  memset(name, 'n', 251);
  name[251] = '\0';
  ck_assert_int_eq(sink_open(&s, root, name, 0, NULL), -ENAMETOOLONG);
  memset(name, 'n', 299);
  name[299] = '\0';
  ck_assert_int_eq(safefs_stat(root, name, NULL), -ENAMETOOLONG);
  name[250] = '\0';
  write_commit(name, "ok");
}
END_TEST

START_TEST(test_stat)
{
  uint64_t size = 0;

  ck_assert_int_eq(safefs_stat(root, "nothing", &size), 0);
  ck_assert_int_eq(safefs_stat(root, "no/such/dir", &size), 0);
  put(root, "reg", "12345");
  ck_assert_int_eq(safefs_stat(root, "reg", &size), 1);
  ck_assert_uint_eq(size, 5);
  ck_assert_int_eq(safefs_stat(root, "./reg", NULL), 1);
  ck_assert_int_eq(mkdirat(root, "dir", 0755), 0);
  ck_assert_int_eq(safefs_stat(root, "dir", NULL), -EISDIR);
  ck_assert_int_eq(mkfifoat(root, "fifo", 0644), 0);
  ck_assert_int_eq(safefs_stat(root, "fifo", NULL), -EINVAL);
}
END_TEST

START_TEST(test_open_root)
{
  char path[192];
  int fd = -1;

  snprintf(path, sizeof(path), "%s/x/y/z", tmp);
  ck_assert_int_eq(safefs_open_root(path, false, &fd), -ENOENT);
  ck_assert_int_eq(fd, -1);
  ck_assert_int_eq(safefs_open_root(path, true, &fd), 0);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(safefs_open_root(path, true, &fd), 0);
  close(fd);
  snprintf(path, sizeof(path), "%s/outside/file", tmp);
  put(AT_FDCWD, path, "x");
  ck_assert_int_eq(safefs_open_root(path, true, &fd), -ENOTDIR);
  ck_assert_int_eq(safefs_open_root(path, false, &fd), -ENOTDIR);
}
END_TEST

START_TEST(test_link_or_copy)
{
  struct stat a, b;

  put(root, "src", "payload");
  ck_assert_int_eq(safefs_link_or_copy(root, "src", "d/e/dst"), 0);
  ck_content(root, "d/e/dst", "payload");
  ck_assert_int_eq(fstatat(root, "src", &a, 0), 0);
  ck_assert_int_eq(fstatat(root, "d/e/dst", &b, 0), 0);
  ck_assert(a.st_ino == b.st_ino);
  ck_assert_int_eq(safefs_link_or_copy(root, "src", "d/e/dst"), 0);
  ck_assert_int_eq(safefs_link_or_copy(root, "src", "src"), 0);
  put(root, "old", "old");
  put(root, "old.part", "stale");
  ck_assert_int_eq(safefs_link_or_copy(root, "src", "old"), 0);
  ck_content(root, "old", "payload");
  ck_assert(!exists(root, "old.part"));
  ck_assert(!exists(root, "d/e/dst.part"));
  ck_assert_int_eq(safefs_link_or_copy(root, "absent", "x"), -ENOENT);
  ck_assert_int_eq(safefs_link_or_copy(root, "src", "../x"), -EINVAL);
  ck_assert_int_eq(safefs_link_or_copy(root, "d", "x"), -EISDIR);
}
END_TEST

START_TEST(test_link_or_copy_symlinks)
{
  struct stat st;

  plant_link("t");
  ck_assert_int_eq(safefs_link_or_copy(root, "t", "copy"), -ELOOP);
  ck_assert(!exists(root, "copy"));
  put(root, "src", "payload");
  ck_assert_int_eq(safefs_link_or_copy(root, "src", "t"), 0);
  ck_assert_int_eq(fstatat(root, "t", &st, AT_SYMLINK_NOFOLLOW), 0);
  ck_assert(S_ISREG(st.st_mode));
  ck_content(root, "t", "payload");
  ck_target_untouched();
}
END_TEST

START_TEST(test_copy)
{
  struct timespec times[2] = {{1234567, 0}, {1234567, 0}};
  struct stat a, b;
  int fd;

  put(root, "src", "payload");
  fd = openat(root, "src", O_RDONLY);
  ck_assert_int_eq(futimens(fd, times), 0);
  close(fd);
  put(root, "c.part", "stale");
  ck_assert_int_eq(safefs_copy(root, "src", "c"), 0);
  ck_content(root, "c", "payload");
  ck_assert(!exists(root, "c.part"));
  ck_assert_int_eq(fstatat(root, "src", &a, 0), 0);
  ck_assert_int_eq(fstatat(root, "c", &b, 0), 0);
  ck_assert(a.st_ino != b.st_ino);
  ck_assert_int_eq((long long)b.st_mtime, 1234567LL);
}
END_TEST

/* Runs fn in a child; returns its exit status (CHILD_SKIP: not possible). */
static int in_child(int (*fn)(void))
{
  pid_t pid = fork();
  int status = 0;

  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(fn());
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static int child_eacces(void)
{
  struct sink *s = NULL;

  if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
    return CHILD_SKIP;
  if (geteuid() == 0)
    return CHILD_SKIP;
  if (sink_open(&s, root, "ro/f", 0, NULL) != -EACCES)
    return 1;
  if (sink_open(&s, root, "ro/sub/f", 0, NULL) != -EACCES)
    return 2;
  if (safefs_link_or_copy(root, "ro/src", "ro/dst") != -EACCES)
    return 3;
  return s ? 4 : 0;
}

START_TEST(test_eacces)
{
  int rc;

  ck_assert_int_eq(chmod(tmp, 0755), 0);
  ck_assert_int_eq(fchmod(root, 0755), 0);
  ck_assert_int_eq(mkdirat(root, "ro", 0755), 0);
  put(root, "ro/src", "x");
  ck_assert_int_eq(fchmodat(root, "ro", 0555, 0), 0);
  rc = in_child(child_eacces);
  if (rc == CHILD_SKIP) {
    fprintf(stderr, "test_eacces: SKIPPED, cannot drop root privileges\n");
    return;
  }
  ck_assert_int_eq(rc, 0);
  ck_assert(!exists(root, "ro/f.part"));
}
END_TEST

static int child_efbig(void)
{
  struct rlimit rl = {10, 10};
  struct sink *s = NULL;
  int rc = 0;

  signal(SIGXFSZ, SIG_IGN);
  if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
    return CHILD_SKIP;
  if (sink_open(&s, root, "big", SINK_SHA256, NULL))
    return 1;
  if (sink_write(s, "0123456789abcdefghij", 20) != -EFBIG)
    rc = 2;
  else if (sink_size(s) != 10)
    rc = 3;
  sink_abort(&s, true);
  return rc;
}

START_TEST(test_write_error)
{
  int rc = in_child(child_efbig);

  if (rc == CHILD_SKIP) {
    fprintf(stderr, "test_write_error: SKIPPED, setrlimit failed\n");
    return;
  }
  ck_assert_int_eq(rc, 0);
  ck_content(root, "big.part", "0123456789");
  ck_assert(!exists(root, "big"));
}
END_TEST

static Suite *sink_suite(void)
{
  Suite *s = suite_create("sink");
  TCase *tc = tcase_create("sink");
  TCase *tf = tcase_create("safefs");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_commit);
  tcase_add_test(tc, test_nested_dirs);
  tcase_add_test(tc, test_abort);
  tcase_add_test(tc, test_abort_keep_part);
  tcase_add_test(tc, test_resume_appends);
  tcase_add_test(tc, test_resume_absent);
  tcase_add_test(tc, test_fresh_replaces_part);
  tcase_add_test(tc, test_truncate);
  tcase_add_test(tc, test_sha256);
  tcase_add_test(tc, test_mtime_and_replace);
  tcase_add_test(tc, test_commit_onto_dir_fails);
  tcase_add_test(tc, test_symlink_dir_component);
  tcase_add_test(tc, test_file_as_dir_component);
  tcase_add_test(tc, test_symlink_at_part);
  tcase_add_test(tc, test_symlink_at_final);
  tcase_add_test(tc, test_hardlinked_part_not_resumed);
  tcase_add_loop_test(tc, test_bad_paths, 0,
                      (int)(sizeof(bad_paths) / sizeof(bad_paths[0])));
  tcase_add_test(tc, test_name_too_long);
  tcase_add_test(tc, test_eacces);
  tcase_add_test(tc, test_write_error);
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(tf, setup, teardown);
  tcase_add_test(tf, test_stat);
  tcase_add_test(tf, test_open_root);
  tcase_add_test(tf, test_link_or_copy);
  tcase_add_test(tf, test_link_or_copy_symlinks);
  tcase_add_test(tf, test_copy);
  suite_add_tcase(s, tf);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(sink_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
