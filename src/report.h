/*
 * report: the JSON Lines file of --report FILE (SPEC "Output and exit"),
 * one object per input entry, written as entries finish.  Part of the
 * corral tool, fed from its on_done callback.
 *
 * Calling sequence:
 *
 *   struct report *rep = NULL;
 *   report_open(&rep, path);          creates or truncates path
 *   report_write(rep, result) ...     one line per entry, flushed
 *   report_close(&rep);               sets rep to NULL
 *
 * Each line is an object with, in this order: "url", "key", "final_url",
 * "path" (strings or null), "status" ("ok", "duplicate", "skipped",
 * "failed"), "http_status", "bytes", "attempts" (numbers), "error" (null,
 * or the reason of a failed entry: its msg, else corral_strerror(err)),
 * "ms", "line" (numbers) and "source" (string or null).  Every line is
 * flushed to the kernel as it is written, so a crash loses nothing already
 * reported.
 *
 * Strings: valid UTF-8 passes through unchanged (U+2028 included, which
 * JSON allows).  '"', '\\', control bytes and DEL are escaped (\b \f \n
 * \r \t, else \u00XX).  A byte that is not part of a valid UTF-8 sequence
 * (stray continuation, overlong form, surrogate, above U+10FFFF, cut-off
 * sequence) becomes \u00XX of that byte, so the line stays valid JSON and
 * a reader sees the byte as the code point U+00XX (Latin-1).  The price:
 * a reader cannot tell the raw byte 0xE9 from a real "\u00e9"; we accept
 * that, because a report line must always be valid JSON and such bytes
 * are rare in URLs and paths.
 *
 * Errors: 0 or -errno.  Thread safety: one thread per report.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "corral.h"

struct report;

/*
 * Creates or truncates path (mode 0666 less the umask) and returns the
 * report in *out.  Returns 0, or -errno with *out left NULL.
 */
int report_open(struct report **out, const char *path);

/*
 * Appends the line for r and flushes it.  r and its strings are only
 * read.  Returns 0, or -errno of the failed write (such as -ENOSPC).
 */
int report_write(struct report *rep, const struct corral_result *r);

/*
 * Flushes and closes *rep, frees it and sets *rep to NULL.  Returns 0, or
 * -errno when the last flush or close failed.  rep NULL or *rep NULL does
 * nothing and returns 0.
 */
int report_close(struct report **rep);

/*
 * Writes s as a JSON string literal with its quotes (escaped as described
 * above), or null when s is NULL.  Write errors show in ferror(f).
 */
void report_put_string(FILE *f, const char *s);

#endif /* REPORT_H */
