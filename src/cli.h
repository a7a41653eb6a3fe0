/*
 * cli: the command line of the corral tool (SPEC "Invocation") turned into
 * a struct corral_opts plus the lists of inputs and URLs.  Part of the
 * tool, not of the library: it prints, to stdout for --help and --version
 * and to stderr for usage errors.
 *
 * Calling sequence:
 *
 *   struct cli c;
 *   int r = cli_parse(&c, argc, argv);   0: run; 1: exit 0; 2: exit 2
 *   if (r == 0) {
 *     c.opts.on_done = ...;              the caller sets the callbacks
 *     ... c.inputs, c.urls, c.report_path, c.quiet, c.verbose ...
 *   }
 *   cli_release(&c);                     after any return of cli_parse
 *
 * Ownership: every string (the URLs, inputs, headers, paths in c.opts)
 * points into argv, which must outlive c; glibc's getopt_long may reorder
 * argv.  The arrays are malloc'd and freed by cli_release().
 *
 * Thread safety: cli_parse uses getopt_long's global state (it resets it
 * itself, glibc style, so it can run more than once).
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "corral.h"

struct cli {
  struct corral_opts opts; /* from corral_opts_init, then the options */
  const char **inputs;     /* -i values in order ("-" = stdin) */
  size_t n_inputs;
  const char **urls; /* positional URLs in order */
  size_t n_urls;
  const char **headers; /* -H values; opts.headers points here too */
  size_t n_headers;
  const char *report_path; /* --report FILE, or NULL */
  bool quiet, verbose;
};

/*
 * Parses argv.  Returns 0 when the downloader should run with *c; 1 when
 * --help or --version was printed to stdout (exit 0); 2 on a usage error,
 * after printing "corral: WHAT" and "Try 'corral --help'." to stderr
 * (exit 2); also 2, after "corral: out of memory", when an array could
 * not grow.  *c is always left valid for cli_release().
 *
 * Usage errors: unknown, ambiguous or misused options, a bad number,
 * duration or size, -j or --per-host out of 1..10000, --layout other than
 * flat or mirror, a -H without a token name before ':', a control byte
 * (CR, LF, ...) in -H or -A, an empty file or dir name, -i - twice, -q with
 * -v, --overwrite with --refresh, zero
 * --connect-timeout or --stall-timeout, and no URL and no -i at all.
 */
int cli_parse(struct cli *c, int argc, char **argv);

/* Frees the arrays; safe to call twice and after any cli_parse return. */
void cli_release(struct cli *c);

/* Prints the --help text: one line per option with its default. */
void cli_print_help(FILE *f);

/* Prints "corral VERSION" and the libcurl and libuv versions. */
void cli_print_version(FILE *f);

/*
 * Seconds as "5", "0.2", ".5" or "5." (decimal digits only: no sign,
 * exponent, blanks, nan or inf), at most 1e9.  Returns 0 and sets *out, or
 * -1 and leaves *out alone.
 */
int cli_parse_duration(const char *s, double *out);

/*
 * Bytes as decimal digits with an optional k, M, G or T suffix in either
 * case (powers of 1024; no "B", no fraction).  Returns 0 and sets *out, or
 * -1 on junk or overflow of 64 bits.
 */
int cli_parse_size(const char *s, uint64_t *out);

/* Decimal digits only, min <= value <= max.  0 and *out set, or -1. */
int cli_parse_count(const char *s, unsigned min, unsigned max, unsigned *out);

#endif /* CLI_H */
