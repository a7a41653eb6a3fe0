/*
 * sink: writes one download to "<path>.part" and renames it to "<path>" when
 * complete, so a final path never holds a partial file (SPEC "Output
 * files").  Modelled on git's lockfile.h.
 *
 * Calling sequence:
 *
 *   struct sink *s;
 *   uint64_t have;
 *   err = sink_open(&s, rootfd, "dir/file", SINK_RESUME | SINK_SHA256,
 *                   &have);                      ask for Range: have- ...
 *   sink_write(s, buf, len) ...                  from the write callback
 *   sink_truncate(s)                             server ignored the Range
 *   sink_size(s), sink_sha256_hex(s, hex)        checks before committing
 *   then exactly one of:
 *   sink_commit(&s, mtime)                       rename .part -> final
 *   sink_abort(&s, keep_part)                    drop or keep the .part
 *
 * Both sink_commit and sink_abort set the caller's pointer to NULL, so a
 * sink is released exactly once; sink_abort(&s) with s == NULL is a no-op.
 *
 * Paths are relative to rootfd and go through safefs: parents are created,
 * nothing is followed through a symlink and ".." or an absolute path gives
 * -EINVAL.  The .part of a fresh (non-resumed) sink is always a new file:
 * a stale .part, whatever it is (file, symlink, hard link to elsewhere), is
 * unlinked first and the new one is created with O_CREAT | O_EXCL, so no
 * byte is ever written through a name planted in the output dir.  The
 * final name is replaced by rename(2): when it is a symlink, the link
 * itself is replaced and its target is left alone.
 *
 * Error handling: functions return 0 or -errno (-ENOSPC, -EIO, -EACCES...).
 * After a failed sink_write the sink's size and hash still describe the
 * bytes that did reach the file; the caller normally aborts.  sink_commit
 * and sink_abort keep errno as the failing call left it (git tempfile.c),
 * so a caller may still report it.
 *
 * Durability: there is no fsync, neither of the file nor of its directory,
 * like curl and wget.  fsync per file costs a disk flush per download and
 * would dominate the time of a list of small files; the rename still makes
 * the final name appear atomically for readers, and after a power loss a
 * rerun re-validates what is present.
 *
 * A sink is used by one thread at a time; distinct sinks are independent.
 * The rootfd is borrowed during sink_open only.
 */
#ifndef SINK_H
#define SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink;

enum sink_flags {
  SINK_RESUME = 1 << 0, /* keep an existing .part and append to it */
  SINK_SHA256 = 1 << 1  /* hash every byte of the file */
};

/*
 * Opens "<relpath>.part" under rootfd.  Without SINK_RESUME the .part is
 * created fresh (see above) and *have is 0.  With SINK_RESUME an existing
 * regular .part is kept, writes append to it and *have gets its size; an
 * absent one is created (*have = 0); one with other hard links is not
 * trusted and is replaced by a fresh file (*have = 0); a symlink gives
 * -ELOOP and another kind of file -EINVAL.  With SINK_SHA256 the hash
 * covers every byte of the file, the kept ones included.  have may be
 * NULL.  Returns 0 and sets *out, or -errno and sets *out to NULL
 * (-ENAMETOOLONG when the last component plus ".part" exceeds NAME_MAX).
 */
int sink_open(struct sink **out, int rootfd, const char *relpath,
              unsigned flags, uint64_t *have);

/* Writes all len bytes (retrying short writes).  0 or -errno. */
int sink_write(struct sink *s, const void *buf, size_t len);

/* Bytes in the .part now (kept ones included). */
uint64_t sink_size(const struct sink *s);

/*
 * Drops every byte, back to an empty .part (a server ignored the Range
 * request), and restarts the hash.  0 or -errno.
 */
int sink_truncate(struct sink *s);

/*
 * Writes the lowercase hex SHA-256 of the bytes so far and a NUL into out;
 * the sink can still be written to afterwards.  Only for a sink opened with
 * SINK_SHA256; otherwise, or when out of memory, out is "".
 */
void sink_sha256_hex(struct sink *s, char out[65]);

/*
 * Sets extended attribute name (see safefs.h) of the .part to value; it
 * stays with the file through the commit.  Best effort: a file system
 * without user xattrs simply keeps none.  A NULL or empty value does
 * nothing.
 */
void sink_set_attr(struct sink *s, const char *name, const char *value);

/*
 * Commits: sets the file's mtime (and atime) to mtime seconds since the
 * epoch when mtime >= 0 (Last-Modified), closes the file and renames the
 * .part to the final name, replacing what is there (an existing directory
 * gives -EISDIR).  Sets *s to NULL in every case; on failure the .part is
 * kept (a retry may resume it).  0 or -errno.
 */
int sink_commit(struct sink **s, int64_t mtime);

/*
 * Closes without committing; unlinks the .part unless keep_part.  Sets *s
 * to NULL; a NULL *s is a no-op.
 */
void sink_abort(struct sink **s, bool keep_part);

#endif
