/*
 * safefs: file operations confined to one root directory.
 *
 * Every path is relative to a root directory fd, and nothing can reach
 * outside it: paths are walked one component at a time with
 * openat(O_NOFOLLOW | O_DIRECTORY), missing directories are made with
 * mkdirat, and the last component is always opened, linked or renamed
 * without following a symlink.  So neither "..", an absolute path, nor a
 * symlink planted anywhere under the root (as a directory or as the file
 * itself) lets a write escape.  The root itself is trusted: the user chose
 * it, so symlinks in the root's own path are followed by safefs_open_root.
 *
 * Calling sequence:
 *
 *   safefs_open_root(dir, true, &root);            once
 *   safefs_open_parent(root, "a/b/f", true, &dfd, &leaf);
 *   openat(dfd, leaf, O_NOFOLLOW | ...); ... close(dfd);
 *   safefs_stat(root, "a/b/f", &size);
 *   safefs_link_or_copy(root, "a/b/f", "c/g");
 *   close(root);
 *
 * Relative paths: components are separated by '/'; empty and "."
 * components are skipped; a ".." component, an absolute path, or a path
 * whose last component is empty, "." or ".." gives -EINVAL.  A component
 * longer than NAME_MAX gives -ENAMETOOLONG.  A symlink met as a directory
 * gives -ELOOP (Linux) or -ENOTDIR; a regular file met as a directory gives
 * -ENOTDIR.
 *
 * Errors: 0 or a negative errno value, never a message.  File descriptors
 * are opened O_CLOEXEC.  Thread-safe (no shared state).  No fsync: see
 * sink.h.
 */
#ifndef SAFEFS_H
#define SAFEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Creates dir and its missing parents (mode 0777 minus umask) when create,
 * then opens it as a directory into *rootfd, which the caller closes.
 * Returns 0 or -errno (*rootfd is then -1).
 */
int safefs_open_root(const char *dir, bool create, int *rootfd);

/*
 * Opens the directory holding relpath's last component, under rootfd,
 * creating missing directories when create.  On success *dirfd is a new fd
 * the caller closes and *leaf points into relpath at the last component.
 * Returns 0 or -errno (*dirfd is then -1).
 */
int safefs_open_parent(int rootfd, const char *relpath, bool create,
                       int *dirfd, const char **leaf);

/*
 * Returns 1 if relpath names a regular file (no symlink followed at any
 * level), and sets *size (if size is not NULL); 0 if it or a parent
 * directory is absent; -errno otherwise: -ELOOP for a symlink, -EISDIR for
 * a directory, -EINVAL for another kind of file.
 */
int safefs_stat(int rootfd, const char *relpath, uint64_t *size);

/* Whether the directory rootfd has no entries at all. */
bool safefs_is_empty(int rootfd);

/*
 * 0 when name is one usable path component (no '/', not empty, "." or
 * "..", at most NAME_MAX bytes), else -EINVAL or -ENAMETOOLONG.
 */
int safefs_check_name(const char *name);

/*
 * What a conditional request needs to know about relpath: its mtime
 * (seconds) and the value of its extended attribute `attr` (value[0] is
 * '\0' when there is none, or the file system has no user xattrs).
 * corral keeps the validator a body was fetched with (its ETag, else its
 * Last-Modified) in SAFEFS_VALIDATOR_XATTR: set on the .part, it stays
 * with the file through the commit, for If-Range when a later run resumes
 * the .part and for If-None-Match under --refresh.  Returns 1 for a regular
 * file, 0 when absent, -errno otherwise.
 */
#define SAFEFS_VALIDATOR_XATTR "user.corral.validator"
int safefs_validators(int rootfd, const char *relpath, const char *attr,
                      int64_t *mtime, char *value, size_t value_len);

/*
 * Makes `to` hold the same content as `from`, a regular file: a hard link
 * when the file system allows it, else a copy (safefs_copy).  The new name
 * is first made as "<to>.part" and then renamed over `to`, so an existing
 * `to` (even a symlink, which is replaced, not followed) is replaced
 * atomically; a stale "<to>.part" is removed first.  When `to` already is
 * the same file as `from`, nothing is done.  Missing directories of `to`
 * are created.  Returns 0 or -errno (-ELOOP/-EINVAL when `from` is a
 * symlink or not a regular file).
 */
int safefs_link_or_copy(int rootfd, const char *from, const char *to);

/*
 * The copy half of safefs_link_or_copy: copies the bytes and the mtime of
 * `from` into "<to>.part", then renames it to `to`.  On failure the .part is
 * removed.  Returns 0 or -errno.
 */
int safefs_copy(int rootfd, const char *from, const char *to);

#endif
