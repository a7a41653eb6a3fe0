/*
 * sink: one open "<leaf>.part" file in its parent directory (held as an fd,
 * so the final rename happens in the directory that was checked when the
 * sink was opened, whatever happens to the path later), its byte count and
 * an optional running SHA-256 (OpenSSL EVP).  The leaf name and the .part
 * name live in the same allocation as the struct.
 */
#include "sink.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/xattr.h>

#include <openssl/evp.h>

#include "safefs.h"

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

#define PART_SUFFIX ".part"
#define HASH_BUF 16384

struct sink {
  int fd, dirfd;
  bool owns_dirfd; /* false: dirfd is the caller's root */
  uint64_t size;
  EVP_MD_CTX *md;  /* NULL without SINK_SHA256 */
  size_t part_off; /* names + part_off is "<leaf>.part" */
  char names[];    /* "<leaf>\0<leaf>.part\0" */
};

static const char *part_name(const struct sink *s)
{
  return s->names + s->part_off;
}

/* Closes and frees everything; keeps errno.  NULL is a no-op. */
static void sink_release(struct sink *s)
{
  int saved = errno;

  if (!s)
    return;
  if (s->fd >= 0)
    close(s->fd);
  if (s->dirfd >= 0 && s->owns_dirfd)
    close(s->dirfd);
  EVP_MD_CTX_free(s->md);
  free(s);
  errno = saved;
}

static int hash_restart(struct sink *s)
{
  if (s->md && !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL))
    return -ENOMEM;
  return 0;
}

/* Allocates a sink for leaf; it takes dirfd only when it returns 0. */
static int sink_alloc(struct sink **out, int dirfd, const char *leaf,
                      unsigned flags)
{
  size_t n = strlen(leaf);
  struct sink *s;

  if (n + strlen(PART_SUFFIX) > NAME_MAX)
    return -ENAMETOOLONG;
  s = calloc(1, sizeof(*s) + 2 * n + sizeof(PART_SUFFIX) + 1);
  if (!s)
    return -ENOMEM;
  s->fd = -1;
  s->dirfd = -1;
  s->part_off = n + 1;
  memcpy(s->names, leaf, n);
  memcpy(s->names + n + 1, leaf, n);
  memcpy(s->names + 2 * n + 1, PART_SUFFIX, sizeof(PART_SUFFIX));
  if (flags & SINK_SHA256) {
    s->md = EVP_MD_CTX_new();
    if (!s->md || hash_restart(s)) {
      sink_release(s);
      return -ENOMEM;
    }
  }
  s->dirfd = dirfd;
  *out = s;
  return 0;
}

static int hash_bytes(struct sink *s, const void *buf, size_t len)
{
  if (s->md && !EVP_DigestUpdate(s->md, buf, len))
    return -EIO;
  return 0;
}

/* Hashes the s->size bytes already in the file. */
static int hash_file(struct sink *s)
{
  char buf[HASH_BUF];
  uint64_t off = 0;
  ssize_t n;
  int err = 0;

  while (!err && off < s->size) {
    n = pread(s->fd, buf, sizeof(buf), (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : -EIO;
    err = hash_bytes(s, buf, (size_t)n);
    off += (uint64_t)n;
  }
  return err;
}

/*
 * Reopens an existing .part to append to it.  -ENOENT asks the caller for a
 * fresh file: when there is none, or when it has other hard links (its
 * bytes could be changed through a name outside our control).
 */
static int open_resume(struct sink *s)
{
  struct stat st;
  int mode = s->md ? O_RDWR : O_WRONLY;

  s->fd = openat(s->dirfd, part_name(s),
                 mode | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (s->fd < 0)
    return -errno;
  if (fstat(s->fd, &st) < 0)
    return -errno;
  if (!S_ISREG(st.st_mode))
    return -EINVAL;
  if (st.st_nlink > 1) {
    close(s->fd);
    s->fd = -1;
    return -ENOENT;
  }
  s->size = (uint64_t)st.st_size;
  if (lseek(s->fd, 0, SEEK_END) < 0)
    return -errno;
  return s->md ? hash_file(s) : 0;
}

/* Replaces whatever is at the .part name with a new empty file. */
static int create_part(struct sink *s)
{
  s->fd = openat(s->dirfd, part_name(s),
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  return s->fd < 0 ? -errno : 0;
}

static int open_fresh(struct sink *s)
{
  /* Usually nothing is there: try first, unlink only when needed. */
  int err = create_part(s);

  if (err == -EEXIST) {
    if (unlinkat(s->dirfd, part_name(s), 0) < 0 && errno != ENOENT)
      return -errno;
    err = create_part(s);
  }
  if (!err)
    s->size = 0;
  return err;
}

int sink_open(struct sink **out, int rootfd, const char *relpath,
              unsigned flags, uint64_t *have)
{
  struct sink *s = NULL;
  const char *leaf;
  int dirfd = -1, err;

  *out = NULL;
  if (have)
    *have = 0;
  if (strchr(relpath, '/')) {
    err = safefs_open_parent(rootfd, relpath, true, &dirfd, &leaf);
    if (err)
      goto out;
  }
  else if ((err = safefs_check_name(relpath)))
    goto out;
  else
    leaf = relpath; /* a bare name: no walk, and no dup of rootfd */
  err = sink_alloc(&s, dirfd >= 0 ? dirfd : rootfd, leaf, flags);
  if (err)
    goto out;
  s->owns_dirfd = dirfd >= 0;
  dirfd = -1;
  err = (flags & SINK_RESUME) ? open_resume(s) : -ENOENT;
  if (err == -ENOENT)
    err = open_fresh(s);
  if (err)
    goto out;
  if (have)
    *have = s->size;
  *out = s;
  s = NULL;
out:
  if (dirfd >= 0)
    close(dirfd);
  sink_release(s);
  return err;
}

int sink_write(struct sink *s, const void *buf, size_t len)
{
  const char *p = buf;
  ssize_t n;
  int err;

  while (len) {
    n = write(s->fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : -EIO;
    s->size += (uint64_t)n;
    err = hash_bytes(s, p, (size_t)n);
    if (err)
      return err;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void sink_set_attr(struct sink *s, const char *name, const char *value)
{
  if (value && *value)
    (void)fsetxattr(s->fd, name, value, strlen(value), 0);
}

uint64_t sink_size(const struct sink *s)
{
  return s->size;
}

int sink_truncate(struct sink *s)
{
  if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
    return -errno;
  s->size = 0;
  return hash_restart(s);
}

void sink_sha256_hex(struct sink *s, char out[65])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int i, n = 0;
  EVP_MD_CTX *copy = NULL;

  out[0] = '\0';
  if (!s->md)
    return;
  copy = EVP_MD_CTX_new();
  if (copy && EVP_MD_CTX_copy_ex(copy, s->md) &&
      EVP_DigestFinal_ex(copy, md, &n) && n == 32) {
    for (i = 0; i < n; i++) {
      out[2 * i] = hex[md[i] >> 4];
      out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
  }
  EVP_MD_CTX_free(copy);
}

static int set_mtime(int fd, int64_t mtime)
{
  struct timespec times[2];

  times[0].tv_sec = (time_t)mtime;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  return futimens(fd, times) < 0 ? -errno : 0;
}

int sink_commit(struct sink **sp, int64_t mtime)
{
  struct sink *s = *sp;
  int err = 0;

  assert(s);
  *sp = NULL;
  if (mtime >= 0)
    err = set_mtime(s->fd, mtime);
  if (close(s->fd) < 0 && !err)
    err = -errno;
  s->fd = -1;
  if (!err && renameat(s->dirfd, part_name(s), s->dirfd, s->names) < 0)
    err = -errno;
  sink_release(s);
  if (err)
    errno = -err;
  return err;
}

void sink_abort(struct sink **sp, bool keep_part)
{
  struct sink *s = *sp;
  int saved = errno;

  if (!s)
    return;
  *sp = NULL;
  close(s->fd);
  s->fd = -1;
  if (!keep_part)
    unlinkat(s->dirfd, part_name(s), 0);
  sink_release(s);
  errno = saved;
}
