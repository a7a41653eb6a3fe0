/*
 * cli: option parsing for the corral tool.  One table describes every
 * option: its names, what kind of value it takes, where the value goes in
 * struct cli, and its --help line.  getopt_long's tables are built from
 * it, so the parser and the help text cannot drift apart.  getopt_long
 * runs with opterr = 0 and a leading ':' so that every message is ours and
 * starts with "corral:" whatever argv[0] is.
 */
#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

#define MAX_JOBS 10000
#define MAX_TRIES 1000

enum opt_kind {
  K_FLAG,     /* bool at off */
  K_COUNT,    /* unsigned at off, min..max */
  K_DURATION, /* double at off; min 1 means it must be above 0 */
  K_SIZE,     /* uint64_t at off */
  K_STRING,   /* const char * at off, not empty */
  K_FIELD,    /* const char * at off, no control bytes (sent in HTTP) */
  K_INPUT,    /* appended to inputs */
  K_HEADER,   /* appended to headers */
  K_LAYOUT,
  K_HELP,
  K_VERSION
};

/* Values of long-only options, clear of the short option characters. */
enum {
  OPT_PER_HOST = 256,
  OPT_LAYOUT,
  OPT_RETRIES,
  OPT_RETRY_DELAY,
  OPT_CONNECT_TIMEOUT,
  OPT_STALL_TIMEOUT,
  OPT_MAX_REDIRS,
  OPT_MAX_FILESIZE,
  OPT_REFRESH,
  OPT_OVERWRITE,
  OPT_CONTENT_DISPOSITION,
  OPT_LIMIT_RATE,
  OPT_CACERT,
  OPT_REPORT,
  OPT_DRY_RUN
};

struct opt_def {
  const char *name;
  int val; /* short option character, or OPT_* */
  enum opt_kind kind;
  size_t off; /* offset of the target in struct cli */
  unsigned min, max;
  const char *arg;  /* argument name in --help, NULL for none */
  const char *help; /* one line */
  const char *def;  /* default shown in --help, or NULL */
};

#define AT(field) offsetof(struct cli, field)

static const struct opt_def defs[] = {
    {"input", 'i', K_INPUT, 0, 0, 0, "FILE",
     "URL list, - for stdin (repeatable)", NULL},
    {"output-dir", 'o', K_STRING, AT(opts.output_dir), 0, 0, "DIR",
     "where files go; created if missing", "."},
    {"jobs", 'j', K_COUNT, AT(opts.jobs), 1, MAX_JOBS, "N",
     "transfers at once, in total", "16"},
    {"per-host", OPT_PER_HOST, K_COUNT, AT(opts.per_host), 1, MAX_JOBS, "N",
     "transfers at once to one host:port", "6"},
    {"layout", OPT_LAYOUT, K_LAYOUT, 0, 0, 0, "flat|mirror",
     "DIR/NAME or DIR/HOST[_PORT]/PATH", "flat"},
    {"retries", OPT_RETRIES, K_COUNT, AT(opts.retries), 0, MAX_TRIES, "N",
     "retries of a transient failure", "3"},
    {"retry-delay", OPT_RETRY_DELAY, K_DURATION, AT(opts.retry_delay), 0, 0,
     "S", "first retry wait; doubles, up to 60 s", "1"},
    {"connect-timeout", OPT_CONNECT_TIMEOUT, K_DURATION,
     AT(opts.connect_timeout), 1, 0, "S", "seconds to connect", "30"},
    {"stall-timeout", OPT_STALL_TIMEOUT, K_DURATION, AT(opts.stall_timeout), 1,
     0, "S", "abort after S seconds without a byte", "60"},
    {"max-redirs", OPT_MAX_REDIRS, K_COUNT, AT(opts.max_redirs), 0, MAX_TRIES,
     "N", "redirects followed per URL", "10"},
    {"max-filesize", OPT_MAX_FILESIZE, K_SIZE, AT(opts.max_filesize), 0, 0,
     "BYTES", "abort larger bodies (k/M/G)", "none"},
    {"refresh", OPT_REFRESH, K_FLAG, AT(opts.refresh), 0, 0, NULL,
     "re-check present files with conditional GET", "off"},
    {"overwrite", OPT_OVERWRITE, K_FLAG, AT(opts.overwrite), 0, 0, NULL,
     "replace present files, do not skip them", "off"},
    {"content-disposition", OPT_CONTENT_DISPOSITION, K_FLAG,
     AT(opts.content_disposition), 0, 0, NULL,
     "name files from Content-Disposition", "off"},
    {"limit-rate", OPT_LIMIT_RATE, K_SIZE, AT(opts.limit_rate), 0, 0, "BYTES",
     "total bytes/s cap for all transfers", "none"},
    {"header", 'H', K_HEADER, 0, 0, 0, "'Name: value'",
     "extra request header (repeatable)", NULL},
    {"user-agent", 'A', K_FIELD, AT(opts.user_agent), 0, 0, "STR",
     "User-Agent header", "corral/" CORRAL_VERSION},
    {"cacert", OPT_CACERT, K_STRING, AT(opts.cacert), 0, 0, "FILE",
     "CA certificates to trust", "system store"},
    {"insecure", 'k', K_FLAG, AT(opts.insecure), 0, 0, NULL,
     "do not verify TLS certificates", "off"},
    {"report", OPT_REPORT, K_STRING, AT(report_path), 0, 0, "FILE",
     "JSON Lines report, one line per entry", "none"},
    {"dry-run", OPT_DRY_RUN, K_FLAG, AT(opts.dry_run), 0, 0, NULL,
     "print the plan on stdout; no network", "off"},
    {"quiet", 'q', K_FLAG, AT(quiet), 0, 0, NULL, "errors only", "off"},
    {"verbose", 'v', K_FLAG, AT(verbose), 0, 0, NULL, "more detail", "off"},
    {"help", 'h', K_HELP, 0, 0, 0, NULL, "print this help and exit", NULL},
    {"version", 'V', K_VERSION, 0, 0, 0, NULL, "print versions and exit",
     NULL},
};

#define N_DEFS (sizeof(defs) / sizeof(defs[0]))

static int usage(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Prints "corral: MESSAGE" and the hint; returns 2 for cli_parse. */
static int usage(const char *fmt, ...)
{
  va_list ap;

  fputs("corral: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'corral --help'.\n", stderr);
  return 2;
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

int cli_parse_count(const char *s, unsigned min, unsigned max, unsigned *out)
{
  uint64_t v = 0;
  const char *p = s;

  for (; is_digit(*p); p++) {
    v = v * 10 + (uint64_t)(*p - '0');
    if (v > max)
      return -1;
  }
  if (p == s || *p || v < min)
    return -1;
  *out = (unsigned)v;
  return 0;
}

int cli_parse_duration(const char *s, double *out)
{
  uint64_t whole = 0;
  double frac = 0, scale = 1;
  size_t digits = 0;
  const char *p = s;

  for (; is_digit(*p); p++, digits++) {
    whole = whole * 10 + (uint64_t)(*p - '0');
    if (whole > 1000000000)
      return -1;
  }
  if (*p == '.') {
    for (p++; is_digit(*p); p++, digits++) {
      scale /= 10;
      frac += (*p - '0') * scale;
    }
  }
  if (!digits || *p || (double)whole + frac > 1e9)
    return -1;
  *out = (double)whole + frac;
  return 0;
}

static int size_shift(char c)
{
  switch (c) {
  case 'k':
  case 'K':
    return 10;
  case 'm':
  case 'M':
    return 20;
  case 'g':
  case 'G':
    return 30;
  case 't':
  case 'T':
    return 40;
  default:
    return -1;
  }
}

int cli_parse_size(const char *s, uint64_t *out)
{
  uint64_t v = 0;
  const char *p = s;
  int shift = 0;

  for (; is_digit(*p); p++) {
    uint64_t d = (uint64_t)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  if (p == s)
    return -1;
  if (*p) {
    shift = size_shift(*p);
    if (shift < 0 || p[1])
      return -1;
  }
  if (v > UINT64_MAX >> shift)
    return -1;
  *out = v << shift;
  return 0;
}

static const struct opt_def *def_by_val(int val)
{
  size_t i;

  for (i = 0; i < N_DEFS; i++)
    if (defs[i].val == val)
      return &defs[i];
  return NULL;
}

/* "-j/--jobs" or "--per-host", for messages. */
static const char *label(const struct opt_def *d, char *buf, size_t len)
{
  if (d->val < 256)
    snprintf(buf, len, "-%c/--%s", d->val, d->name);
  else
    snprintf(buf, len, "--%s", d->name);
  return buf;
}

static int push(const char ***arr, size_t *n, const char *s)
{
  const char **p = realloc(*arr, (*n + 1) * sizeof(*p));

  if (!p)
    return -ENOMEM;
  p[(*n)++] = s;
  *arr = p;
  return 0;
}

/* True when s has a control byte other than tab (CR/LF would split it). */
static bool has_control(const char *s)
{
  for (; *s; s++)
    if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
      return true;
  return false;
}

/* HTTP token characters (RFC 9110 tchar), allowed in a header name. */
static bool is_tchar(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int add_header(struct cli *c, const char *h)
{
  const char *colon = strchr(h, ':');
  const char *p = h;

  for (; colon && p < colon; p++)
    if (!is_tchar(*p))
      break;
  if (!colon || colon == h || p != colon)
    return usage("bad header '%s' (want 'Name: value')", h);
  if (has_control(h))
    return usage("header '%.*s' holds a control character", (int)(colon - h),
                 h);
  return push(&c->headers, &c->n_headers, h);
}

static int add_input(struct cli *c, const char *arg)
{
  size_t i;

  if (!*arg)
    return usage("-i/--input needs a file name");
  for (i = 0; i < c->n_inputs && !strcmp(arg, "-"); i++)
    if (!strcmp(c->inputs[i], "-"))
      return usage("standard input (-i -) given twice");
  return push(&c->inputs, &c->n_inputs, arg);
}

static int set_layout(struct cli *c, const char *arg)
{
  if (!strcmp(arg, "flat"))
    c->opts.layout = CORRAL_LAYOUT_FLAT;
  else if (!strcmp(arg, "mirror"))
    c->opts.layout = CORRAL_LAYOUT_MIRROR;
  else
    return usage("bad --layout '%s' (want flat or mirror)", arg);
  return 0;
}

/* Stores a value of the numeric kinds; returns 0 or 2. */
static int set_number(struct cli *c, const struct opt_def *d, const char *arg)
{
  char *at = (char *)c + d->off;
  char name[40];
  double secs = 0;

  label(d, name, sizeof(name));
  switch (d->kind) {
  case K_COUNT:
    if (cli_parse_count(arg, d->min, d->max, (unsigned *)(void *)at) < 0)
      return usage("bad value '%s' for %s (want a number from %u to %u)", arg,
                   name, d->min, d->max);
    return 0;
  case K_SIZE:
    if (cli_parse_size(arg, (uint64_t *)(void *)at) < 0)
      return usage("bad value '%s' for %s (want bytes, with k, M or G)", arg,
                   name);
    return 0;
  default:
    if (cli_parse_duration(arg, &secs) < 0 || (d->min && secs <= 0))
      return usage("bad value '%s' for %s (want seconds%s, such as 0.5)", arg,
                   name, d->min ? " above 0" : "");
    *(double *)(void *)at = secs;
    return 0;
  }
}

/* Applies one recognized option; returns 0, 1 (help, version), 2, or <0. */
static int apply(struct cli *c, const struct opt_def *d, const char *arg)
{
  char *at = (char *)c + d->off;
  char name[40];

  switch (d->kind) {
  case K_FLAG:
    *(bool *)(void *)at = true;
    return 0;
  case K_STRING:
  case K_FIELD:
    if (!*arg)
      return usage("%s needs a non-empty value", label(d, name, sizeof(name)));
    if (d->kind == K_FIELD && has_control(arg))
      return usage("%s holds a control character",
                   label(d, name, sizeof(name)));
    *(const char **)(void *)at = arg;
    return 0;
  case K_INPUT:
    return add_input(c, arg);
  case K_HEADER:
    return add_header(c, arg);
  case K_LAYOUT:
    return set_layout(c, arg);
  case K_HELP:
    cli_print_help(stdout);
    return 1;
  case K_VERSION:
    cli_print_version(stdout);
    return 1;
  default:
    return set_number(c, d, arg);
  }
}

/* Explains a long option getopt_long refused: unknown, ambiguous, or "=". */
static int bad_long_option(const char *arg)
{
  const char *name = NULL;
  size_t len, i, hits = 0;
  const struct opt_def *hit = NULL;

  if (strncmp(arg, "--", 2) || !arg[2] || arg[2] == '=')
    return usage("unknown option '%s'", arg);
  name = arg + 2;
  len = strcspn(name, "=");
  for (i = 0; i < N_DEFS; i++) {
    if (!strncmp(defs[i].name, name, len)) {
      hits++;
      hit = &defs[i];
      if (!defs[i].name[len]) {
        hits = 1;
        break;
      }
    }
  }
  if (hits > 1)
    return usage("ambiguous option '%.*s'", (int)len + 2, arg);
  if (hits == 1 && name[len] == '=' && !hit->arg)
    return usage("option '--%s' takes no value", hit->name);
  return usage("unknown option '%.*s'", (int)len + 2, arg);
}

/* Turns getopt_long's '?' or ':' into a message; returns 2. */
static int bad_option(int ch, char **argv)
{
  const struct opt_def *d = optopt ? def_by_val(optopt) : NULL;
  char name[40];

  if (ch == ':' && d)
    return usage("%s needs a value", label(d, name, sizeof(name)));
  if (d)
    return usage("option '--%s' takes no value", d->name);
  if (optopt)
    return usage("unknown option '-%c'", optopt);
  return bad_long_option(argv[optind - 1]);
}

static void build_getopt(struct option *lo, char *shorts)
{
  size_t i;

  *shorts++ = ':';
  for (i = 0; i < N_DEFS; i++) {
    lo[i].name = defs[i].name;
    lo[i].has_arg = defs[i].arg ? required_argument : no_argument;
    lo[i].flag = NULL;
    lo[i].val = defs[i].val;
    if (defs[i].val < 256) {
      *shorts++ = (char)defs[i].val;
      if (defs[i].arg)
        *shorts++ = ':';
    }
  }
  memset(&lo[N_DEFS], 0, sizeof(lo[N_DEFS]));
  *shorts = '\0';
}

/* Checks that need every option seen; returns 0 or 2. */
static int check_all(struct cli *c)
{
  if (c->quiet && c->verbose)
    return usage("--quiet and --verbose cannot be combined");
  if (c->opts.refresh && c->opts.overwrite)
    return usage("--refresh and --overwrite cannot be combined");
  if (!c->n_inputs && !c->n_urls)
    return usage("no URLs: give them as arguments or with -i FILE");
  c->opts.headers = c->headers;
  c->opts.n_headers = c->n_headers;
  return 0;
}

static int parse_options(struct cli *c, int argc, char **argv)
{
  struct option lo[N_DEFS + 1];
  char shorts[2 * N_DEFS + 2];
  const struct opt_def *d = NULL;
  int ch, r;

  build_getopt(lo, shorts);
  optind = 0; /* glibc: a full re-initialisation, so we can run again */
  opterr = 0;
  for (;;) {
    ch = getopt_long(argc, argv, shorts, lo, NULL);
    if (ch == -1)
      return 0;
    d = def_by_val(ch);
    if (ch == '?' || ch == ':' || !d)
      return bad_option(ch, argv);
    r = apply(c, d, optarg);
    if (r)
      return r;
  }
}

int cli_parse(struct cli *c, int argc, char **argv)
{
  int r, i;

  memset(c, 0, sizeof(*c));
  corral_opts_init(&c->opts);
  r = parse_options(c, argc, argv);
  for (i = optind; !r && i < argc; i++)
    r = push(&c->urls, &c->n_urls, argv[i]);
  if (!r)
    r = check_all(c);
  if (r < 0) {
    fputs("corral: out of memory\n", stderr);
    r = 2;
  }
  if (r)
    cli_release(c);
  return r;
}

void cli_release(struct cli *c)
{
  free(c->inputs);
  free(c->urls);
  free(c->headers);
  c->inputs = c->urls = c->headers = NULL;
  c->n_inputs = c->n_urls = c->n_headers = 0;
  c->opts.headers = NULL;
  c->opts.n_headers = 0;
}

void cli_print_help(FILE *f)
{
  size_t i;
  char left[64];

  fputs("Usage: corral [OPTIONS] [URL ...]\n"
        "Download URLs concurrently, each distinct resource once.\n"
        "URLs come from the arguments and from -i lists (one per line:\n"
        "URL [out=RELPATH] [sha256=HEX]).  S is seconds (0.2 is fine);\n"
        "sizes take k, M or G (powers of 1024).\n\n",
        f);
  for (i = 0; i < N_DEFS; i++) {
    const struct opt_def *d = &defs[i];
    int n = d->val < 256 ? snprintf(left, sizeof(left), "  -%c, ", d->val)
                         : snprintf(left, sizeof(left), "      ");
    snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", d->name,
             d->arg ? " " : "", d->arg ? d->arg : "");
    fprintf(f, "%-29s %s", left, d->help);
    if (d->def)
      fprintf(f, " [%s]", d->def);
    fputc('\n', f);
  }
  fputs("\nExit status: 0 all ok, 1 some entry failed, 2 usage error.\n", f);
}

void cli_print_version(FILE *f)
{
  fprintf(f, "corral %s\n%s\nlibuv/%s\n", CORRAL_VERSION, curl_version(),
          uv_version_string());
}
