/*
 * listfile: the URL list format (SPEC "Input format"), one line at a time.
 *
 * Two independent parts:
 *
 *  - listfile_parse_line() turns one line into an entry (URL plus the
 *    optional out= and sha256= fields), tells a blank or comment line
 *    apart, or says in words why the line is bad.  It does not look at the
 *    URL itself: urlnorm decides whether that parses.
 *
 *  - struct listfile_splitter cuts a byte stream fed in arbitrary chunks
 *    into lines and hands each one to a callback, so a list can be parsed
 *    while it is still arriving (a pipe on stdin).  Its buffer never holds
 *    more than one line, and never more than LISTFILE_MAX_LINE bytes of it.
 *
 * Calling sequence:
 *
 *   struct listfile_splitter s;
 *   listfile_splitter_init(&s, on_line, data);
 *   while ((n = read(fd, buf, sizeof(buf))) > 0)
 *     if (listfile_splitter_feed(&s, buf, n) < 0)    -ENOMEM
 *       ...
 *   listfile_splitter_finish(&s);                     delivers a last
 *   listfile_splitter_release(&s);                    line without '\n'
 *
 *   static void on_line(char *line, size_t len, unsigned lineno,
 *                       bool too_long, void *data)
 *   {
 *     struct listfile_entry e;
 *     char why[LISTFILE_WHY_MAX];
 *
 *     if (too_long)
 *       report(lineno, LISTFILE_TOO_LONG);
 *     else if (listfile_parse_line(line, len, &e, why, sizeof(why)) < 0)
 *       report(lineno, why);
 *     ...
 *   }
 *
 * Thread safety: no shared state; a splitter is used by one thread.
 */
#ifndef LISTFILE_H
#define LISTFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest line accepted, in bytes, without its "\n" or "\r\n". */
#define LISTFILE_MAX_LINE (64 * 1024)

/* The reason for a line over LISTFILE_MAX_LINE bytes. */
#define LISTFILE_TOO_LONG "line longer than 65536 bytes"

/* A why buffer of this size never truncates a reason. */
#define LISTFILE_WHY_MAX 96

/*
 * One entry.  The pointers borrow the line buffer given to
 * listfile_parse_line() (each field is NUL-terminated in place) and are
 * NULL when the field is absent.
 */
struct listfile_entry {
  char *url;    /* first field, not validated */
  char *out;    /* out=RELPATH, checked to stay inside the output dir */
  char *sha256; /* sha256=HEX, 64 hex digits, lowercased in place */
};

/*
 * Parses one line of len bytes, without its '\n'; a trailing '\r' is
 * ignored.  The buffer must have room for len + 1 bytes: it is modified
 * in place (fields are NUL-terminated, sha256 hex is lowercased), and
 * line[len] may be overwritten.
 *
 * out= is taken literally (no percent-decoding).  It is refused when
 * empty, absolute, when a ".." climbs above the output dir, or when it
 * names no file ("dir/", ".", "a/..").  Keys are case-sensitive.
 *
 * Returns 1 and fills *e for an entry; 0 for a blank line or a comment
 * (first non-blank character '#'), leaving *e zeroed; -1 for a bad line,
 * with a NUL-terminated reason written into why (at most whylen bytes,
 * nothing when why is NULL or whylen is 0).  The reasons are:
 *   "line longer than 65536 bytes", "NUL byte in line",
 *   "unknown key 'KEY'", "duplicate key 'KEY'",
 *   "field 'FIELD' is not key=value (a space in a URL is written %20)",
 *   "bad sha256 (want 64 hex digits)",
 *   "out= is empty", "out= is absolute",
 *   "out= climbs out of the output dir", "out= names no file".
 * A KEY or FIELD in a reason is cut to 32 bytes, its non-printable bytes
 * shown as '?'.
 */
int listfile_parse_line(char *line, size_t len, struct listfile_entry *e,
                        char *why, size_t whylen);

/*
 * Called for every line.  line is the splitter's buffer: writable,
 * NUL-terminated at line[len], without the '\n' and without a '\r' that
 * preceded it; it is valid only during the call.  lineno counts from 1.
 * When too_long is true the line had more than LISTFILE_MAX_LINE bytes:
 * line holds only its first LISTFILE_MAX_LINE bytes, the rest was
 * dropped, and this call comes as soon as the excess is seen (before the
 * line's '\n' arrives).  The callback must not call the splitter.
 */
typedef void (*listfile_line_cb)(char *line, size_t len, unsigned lineno,
                                 bool too_long, void *data);

/* Private fields; use the functions below. */
struct listfile_splitter {
  listfile_line_cb cb;
  void *data;
  char *buf;
  size_t len, cap;
  unsigned lineno;
  bool is_skipping; /* inside an over-long line, dropping to its '\n' */
};

/* Prepares *s (no allocation). */
void listfile_splitter_init(struct listfile_splitter *s, listfile_line_cb cb,
                            void *data);

/*
 * Feeds len bytes of input; calls cb for each line completed by them.
 * Returns 0, or -ENOMEM when the buffer could not grow; after that the
 * splitter may only be released.
 */
int listfile_splitter_feed(struct listfile_splitter *s, const char *buf,
                           size_t len);

/*
 * Declares the end of input: delivers a last line that had no '\n' (an
 * empty input or one ending in '\n' delivers nothing).
 */
void listfile_splitter_finish(struct listfile_splitter *s);

/* Frees the buffer; *s may be initialized again. */
void listfile_splitter_release(struct listfile_splitter *s);

#endif /* LISTFILE_H */
