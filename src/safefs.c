/*
 * safefs: walks relative paths one component at a time from a directory fd,
 * never following a symlink and never accepting "..", so every file it
 * opens, creates, links or renames is inside the root.  Links and copies go
 * through a "<to>.part" name and a rename, so a reader never sees half a
 * file and an existing name (file or symlink) is replaced, not written
 * through.
 */
#include "safefs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

#define PART_SUFFIX ".part"
#define COPY_BUF 16384

/* Both ends of a link or copy, each as a parent dir fd and a leaf name. */
struct pair {
  int fromdir, todir;
  const char *fromleaf, *toleaf;
  struct stat st; /* of from */
  char part[NAME_MAX + 1];
};

static bool is_skipped(const char *s, size_t n)
{
  return n == 0 || (n == 1 && s[0] == '.');
}

static bool is_dotdot(const char *s, size_t n)
{
  return n == 2 && s[0] == '.' && s[1] == '.';
}

/* Validates relpath (see safefs.h) and finds its last component. */
static int check_path(const char *relpath, const char **leaf)
{
  const char *s = relpath;
  size_t n;

  if (*relpath == '/')
    return -EINVAL;
  for (;;) {
    n = strcspn(s, "/");
    if (is_dotdot(s, n))
      return -EINVAL;
    if (n > NAME_MAX)
      return -ENAMETOOLONG;
    if (!s[n])
      break;
    s += n + 1;
  }
  if (is_skipped(s, n))
    return -EINVAL;
  *leaf = s;
  return 0;
}

static int open_dir(int cur, const char *name)
{
  return openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Opens directory name under cur (making it if create) into *next. */
static int walk_step(int cur, const char *name, bool create, int *next)
{
  int fd = open_dir(cur, name);

  if (fd < 0 && errno == ENOENT && create) {
    if (mkdirat(cur, name, 0777) < 0 && errno != EEXIST)
      return -errno;
    fd = open_dir(cur, name);
  }
  if (fd < 0)
    return -errno;
  *next = fd;
  return 0;
}

int safefs_open_parent(int rootfd, const char *relpath, bool create,
                       int *dirfd, const char **leaf)
{
  char name[NAME_MAX + 1];
  const char *s, *last = NULL;
  int cur = -1, next = -1, err;
  size_t n;

  *dirfd = -1;
  err = check_path(relpath, &last);
  if (err)
    goto out;
  cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) {
    err = -errno;
    goto out;
  }
  for (s = relpath; s < last; s += n + 1) {
    n = strcspn(s, "/");
    if (is_skipped(s, n))
      continue;
    memcpy(name, s, n);
    name[n] = '\0';
    err = walk_step(cur, name, create, &next);
    if (err)
      goto out;
    close(cur);
    cur = next;
  }
  *dirfd = cur;
  *leaf = last;
  cur = -1;
out:
  if (cur >= 0)
    close(cur);
  return err;
}

bool safefs_is_empty(int rootfd)
{
  int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct dirent *d;
  bool empty = true;
  DIR *dir;

  if (fd < 0 || !(dir = fdopendir(fd))) {
    if (fd >= 0)
      close(fd);
    return false;
  }
  while (empty && (d = readdir(dir)))
    empty = !strcmp(d->d_name, ".") || !strcmp(d->d_name, "..");
  closedir(dir);
  return empty;
}

int safefs_check_name(const char *name)
{
  const char *leaf;

  if (strchr(name, '/'))
    return -EINVAL;
  return check_path(name, &leaf);
}

/* mkdir -p: intermediate failures show up as the final mkdir's error. */
static int mkdir_p(const char *dir)
{
  char *copy = strdup(dir);
  char *p;
  int err = 0;

  if (!copy)
    return -ENOMEM;
  for (p = copy + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    mkdir(copy, 0777);
    *p = '/';
  }
  if (mkdir(copy, 0777) < 0 && errno != EEXIST)
    err = -errno;
  free(copy);
  return err;
}

int safefs_open_root(const char *dir, bool create, int *rootfd)
{
  int err;

  *rootfd = -1;
  if (!*dir)
    return -ENOENT;
  if (create) {
    err = mkdir_p(dir);
    if (err)
      return err;
  }
  *rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return *rootfd < 0 ? -errno : 0;
}

/* 1 for a regular file, else the error safefs.h documents for its kind. */
static int file_kind(const struct stat *st)
{
  if (S_ISREG(st->st_mode))
    return 1;
  if (S_ISLNK(st->st_mode))
    return -ELOOP;
  if (S_ISDIR(st->st_mode))
    return -EISDIR;
  return -EINVAL;
}

int safefs_validators(int rootfd, const char *relpath, const char *attr,
                      int64_t *mtime, char *value, size_t value_len)
{
  struct stat st;
  const char *leaf;
  ssize_t n = -1;
  int dfd = -1, fd, ret;

  value[0] = '\0';
  ret = safefs_open_parent(rootfd, relpath, false, &dfd, &leaf);
  if (ret)
    return ret == -ENOENT ? 0 : ret;
  fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    ret = errno == ENOENT ? 0 : -errno;
  else if (fstat(fd, &st) < 0)
    ret = -errno;
  else if ((ret = file_kind(&st)) == 1) {
    *mtime = (int64_t)st.st_mtime;
    n = fgetxattr(fd, attr, value, value_len - 1);
  }
  value[n > 0 ? n : 0] = '\0';
  if (fd >= 0)
    close(fd);
  close(dfd);
  return ret;
}

int safefs_stat(int rootfd, const char *relpath, uint64_t *size)
{
  struct stat st;
  const char *leaf;
  int dfd = -1, ret;

  /* A bare name needs no walk (and no dup of rootfd): one syscall. */
  if (!strchr(relpath, '/') && !check_path(relpath, &leaf)) {
    if (fstatat(rootfd, relpath, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return errno == ENOENT ? 0 : -errno;
    ret = file_kind(&st);
    if (ret == 1 && size)
      *size = (uint64_t)st.st_size;
    return ret;
  }
  ret = safefs_open_parent(rootfd, relpath, false, &dfd, &leaf);
  if (ret)
    return ret == -ENOENT ? 0 : ret;
  if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
    ret = errno == ENOENT ? 0 : -errno;
  else
    ret = file_kind(&st);
  if (ret == 1 && size)
    *size = (uint64_t)st.st_size;
  close(dfd);
  return ret;
}

static void pair_close(struct pair *p)
{
  if (p->fromdir >= 0)
    close(p->fromdir);
  if (p->todir >= 0)
    close(p->todir);
  p->fromdir = p->todir = -1;
}

/*
 * Opens both parents, checks that from is a regular file, builds the .part
 * name and removes a stale one.  On error everything is closed again.
 */
static int pair_open(int rootfd, const char *from, const char *to,
                     struct pair *p)
{
  int err;

  p->fromdir = p->todir = -1;
  err = safefs_open_parent(rootfd, from, false, &p->fromdir, &p->fromleaf);
  if (!err && fstatat(p->fromdir, p->fromleaf, &p->st, AT_SYMLINK_NOFOLLOW))
    err = -errno;
  if (!err && file_kind(&p->st) != 1)
    err = file_kind(&p->st);
  if (!err)
    err = safefs_open_parent(rootfd, to, true, &p->todir, &p->toleaf);
  if (!err && strlen(p->toleaf) + strlen(PART_SUFFIX) > NAME_MAX)
    err = -ENAMETOOLONG;
  if (!err) {
    memcpy(p->part, p->toleaf, strlen(p->toleaf));
    memcpy(p->part + strlen(p->toleaf), PART_SUFFIX, sizeof(PART_SUFFIX));
    if (unlinkat(p->todir, p->part, 0) < 0 && errno != ENOENT)
      err = -errno;
  }
  if (err)
    pair_close(p);
  return err;
}

/* True when `to` already is the very file `from` is. */
static bool pair_same(const struct pair *p)
{
  struct stat st;

  if (fstatat(p->todir, p->toleaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return false;
  return st.st_dev == p->st.st_dev && st.st_ino == p->st.st_ino;
}

/* Renames the .part over `to`; removes the .part if that fails. */
static int pair_commit(const struct pair *p)
{
  int err;

  if (renameat(p->todir, p->part, p->todir, p->toleaf) == 0)
    return 0;
  err = -errno;
  unlinkat(p->todir, p->part, 0);
  return err;
}

static int write_all(int fd, const char *buf, size_t len)
{
  ssize_t n;

  while (len) {
    n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : -EIO;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static int copy_fd(int in, int out)
{
  char buf[COPY_BUF];
  ssize_t n;
  int err;

  for (;;) {
    n = read(in, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : 0;
    err = write_all(out, buf, (size_t)n);
    if (err)
      return err;
  }
}

/* Copies bytes and mtime of from into the .part, then renames it. */
static int copy_at(const struct pair *p)
{
  struct timespec times[2];
  int in = -1, out = -1, err = 0;

  in = openat(p->fromdir, p->fromleaf,
              O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) {
    err = -errno;
    goto out;
  }
  out = openat(p->todir, p->part,
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (out < 0) {
    err = -errno;
    goto out;
  }
  err = copy_fd(in, out);
  times[0] = p->st.st_atim;
  times[1] = p->st.st_mtim;
  if (!err && futimens(out, times) < 0)
    err = -errno;
  if (close(out) < 0 && !err)
    err = -errno;
  out = -1;
  if (err)
    unlinkat(p->todir, p->part, 0);
  else
    err = pair_commit(p);
out:
  if (in >= 0)
    close(in);
  return err;
}

static int link_at(const struct pair *p)
{
  if (linkat(p->fromdir, p->fromleaf, p->todir, p->part, 0) < 0)
    return -errno;
  return pair_commit(p);
}

/* Errors of linkat that mean "no hard link here", not "this fails". */
static bool is_link_unsupported(int err)
{
  return err == -EXDEV || err == -EPERM || err == -EMLINK || err == -ENOTSUP ||
         err == -EOPNOTSUPP || err == -ENOSYS;
}

int safefs_link_or_copy(int rootfd, const char *from, const char *to)
{
  struct pair p;
  int err;

  err = pair_open(rootfd, from, to, &p);
  if (err)
    return err;
  if (!pair_same(&p)) {
    err = link_at(&p);
    if (is_link_unsupported(err))
      err = copy_at(&p);
  }
  pair_close(&p);
  return err;
}

int safefs_copy(int rootfd, const char *from, const char *to)
{
  struct pair p;
  int err;

  err = pair_open(rootfd, from, to, &p);
  if (err)
    return err;
  err = copy_at(&p);
  pair_close(&p);
  return err;
}
