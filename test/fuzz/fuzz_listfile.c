/*
 * libFuzzer target for listfile: the line splitter and the line parser.
 *
 * Input: two bytes that choose how to cut the stream, then the stream.  In
 * the stream, byte 0xFE followed by a byte k stands for a run of
 * 65532 + (k & 7) letters 'a' (the first two such pairs only), so that
 * the 64 KiB line limit is in reach of small inputs.  Properties checked:
 *
 *  - the splitter delivers the same lines (bytes, line numbers, too_long
 *    flags) whether the stream is fed at once, cut at a chosen point, or
 *    fed in small chunks, and the same as a plain reference split: lines
 *    end at '\n', one '\r' before it is dropped, a last line without
 *    '\n' counts, a line over LISTFILE_MAX_LINE bytes is cut to that and
 *    flagged;
 *  - listfile_parse_line, given a heap copy of exactly len + 1 bytes (the
 *    documented room; ASan catches any read or write beyond it), returns
 *    1 with a url that is one non-blank field, an out= that is relative,
 *    not climbing, naming a file, a sha256= of 64 lowercase hex digits;
 *    0 with a zeroed entry for a blank or comment line; -1 with one of
 *    the documented reasons, also when the why buffer is tiny;
 *  - a line with a NUL byte, or longer than LISTFILE_MAX_LINE, is -1.
 *
 * Any broken property aborts, which libFuzzer reports as a crash.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX 4096
#define RUN_BASE (LISTFILE_MAX_LINE - 4)
#define RUNS_MAX 2

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                         \
      abort();                                                                \
    }                                                                         \
  } while (0)

struct line {
  char *text;
  size_t len;
  unsigned lineno;
  bool too_long;
};

struct lines {
  struct line *v;
  size_t n, cap;
};

static void lines_add(struct lines *ls, const char *text, size_t len,
                      unsigned lineno, bool too_long)
{
  struct line *l;

  if (ls->n == ls->cap) {
    ls->cap = ls->cap ? 2 * ls->cap : 16;
    ls->v = realloc(ls->v, ls->cap * sizeof(*ls->v));
    if (!ls->v)
      abort();
  }
  l = &ls->v[ls->n++];
  l->text = malloc(len + 1);
  if (!l->text)
    abort();
  memcpy(l->text, text, len);
  l->text[len] = '\0';
  l->len = len;
  l->lineno = lineno;
  l->too_long = too_long;
}

static void lines_release(struct lines *ls)
{
  size_t i;

  for (i = 0; i < ls->n; i++)
    free(ls->v[i].text);
  free(ls->v);
  memset(ls, 0, sizeof(*ls));
}

static void on_line(char *line, size_t len, unsigned lineno, bool too_long,
                    void *data)
{
  CHECK(line[len] == '\0');
  CHECK(len <= LISTFILE_MAX_LINE);
  lines_add(data, line, len, lineno, too_long);
}

/* Splits s[0..n) fed in pieces: first cut bytes, then chunk at a time. */
static void split(const char *s, size_t n, size_t cut, size_t chunk,
                  struct lines *out)
{
  struct listfile_splitter sp;
  size_t at = cut < n ? cut : n;

  listfile_splitter_init(&sp, on_line, out);
  CHECK(listfile_splitter_feed(&sp, s, at) == 0);
  while (at < n) {
    size_t k = n - at < chunk ? n - at : chunk;
    CHECK(listfile_splitter_feed(&sp, s + at, k) == 0);
    at += k;
  }
  listfile_splitter_finish(&sp);
  listfile_splitter_release(&sp);
}

/* What the splitter should deliver, computed the plain way. */
static void split_reference(const char *s, size_t n, struct lines *out)
{
  size_t start = 0, end, len;
  unsigned lineno = 0;

  while (start < n) {
    const char *nl = memchr(s + start, '\n', n - start);

    end = nl ? (size_t)(nl - s) : n;
    len = end - start;
    if (len && s[end - 1] == '\r')
      len--;
    if (len > LISTFILE_MAX_LINE)
      lines_add(out, s + start, LISTFILE_MAX_LINE, ++lineno, true);
    else
      lines_add(out, s + start, len, ++lineno, false);
    start = end + 1;
  }
}

static bool same_lines(const struct lines *a, const struct lines *b)
{
  size_t i;

  if (a->n != b->n)
    return false;
  for (i = 0; i < a->n; i++) {
    const struct line *x = &a->v[i], *y = &b->v[i];
    if (x->len != y->len || x->lineno != y->lineno ||
        x->too_long != y->too_long || memcmp(x->text, y->text, x->len))
      return false;
  }
  return true;
}

static bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* An accepted out= stays inside the output dir and names a file. */
static void check_out(const char *v)
{
  const char *seg = v;
  long depth = 0;
  size_t n;

  CHECK(*v && *v != '/');
  for (;;) {
    n = strcspn(seg, "/");
    if (n == 2 && !strncmp(seg, "..", 2))
      depth--;
    else if (n && (n != 1 || *seg != '.'))
      depth++;
    CHECK(depth >= 0);
    if (!seg[n])
      break;
    seg += n + 1;
  }
  CHECK(n && strcmp(seg, ".") && strcmp(seg, ".."));
}

static void check_entry(const char *buf, size_t len,
                        const struct listfile_entry *e)
{
  size_t i;

  CHECK(e->url && *e->url && e->url >= buf && e->url < buf + len);
  for (i = 0; e->url[i]; i++)
    CHECK(!is_blank(e->url[i]));
  if (e->out) {
    CHECK(e->out > buf && e->out < buf + len + 1);
    check_out(e->out);
  }
  if (e->sha256) {
    CHECK(e->sha256 > buf && e->sha256 < buf + len + 1);
    CHECK(strlen(e->sha256) == 64);
    CHECK(strspn(e->sha256, "0123456789abcdef") == 64);
  }
}

static bool known_reason(const char *why)
{
  static const char *const reasons[] = {LISTFILE_TOO_LONG,
                                        "NUL byte in line",
                                        "bad sha256 (want 64 hex digits)",
                                        "out= is empty",
                                        "out= is absolute",
                                        "out= climbs out of the output dir",
                                        "out= names no file"};
  size_t i;

  for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
    if (!strcmp(why, reasons[i]))
      return true;
  return !strncmp(why, "unknown key '", 13) ||
         !strncmp(why, "duplicate key '", 15) ||
         (!strncmp(why, "field '", 7) &&
          strstr(why, "' is not key=value (a space in a URL is written %20)"));
}

/* Parses a heap copy of exactly len + 1 bytes, with a why of whylen. */
static int parse_copy(const char *line, size_t len, size_t whylen)
{
  char *buf = malloc(len + 1);
  char *why = whylen ? malloc(whylen) : NULL;
  struct listfile_entry e;
  int rc;

  if (!buf || (whylen && !why))
    abort();
  memcpy(buf, line, len);
  buf[len] = 'X'; /* must not be read as part of the line */
  if (why)
    memset(why, 'Z', whylen);
  rc = listfile_parse_line(buf, len, &e, why, whylen);
  CHECK(rc >= -1 && rc <= 1);
  if (rc == 1)
    check_entry(buf, len, &e);
  if (rc == 0)
    CHECK(!e.url && !e.out && !e.sha256);
  if (rc < 0 && why) {
    CHECK(memchr(why, '\0', whylen));
    if (whylen >= LISTFILE_WHY_MAX)
      CHECK(known_reason(why));
  }
  if (memchr(line, '\0', len) ||
      len - (len && line[len - 1] == '\r') > LISTFILE_MAX_LINE)
    CHECK(rc == -1);
  free(why);
  free(buf);
  return rc;
}

/* Is d[i] the start of a run?  Only the first RUNS_MAX 0xFE count. */
static bool is_run(const uint8_t *d, size_t n, size_t i, unsigned *runs)
{
  if (d[i] != 0xFE || i + 1 >= n || *runs >= RUNS_MAX)
    return false;
  ++*runs;
  return true;
}

/* The stream the input stands for (0xFE k expands to a long run). */
static char *expand(const uint8_t *d, size_t n, size_t *outlen)
{
  size_t i, len = 0;
  unsigned runs = 0;
  char *s, *p;

  for (i = 0; i < n; i++)
    len += is_run(d, n, i, &runs) ? RUN_BASE + (d[++i] & 7) : 1;
  s = malloc(len ? len : 1);
  if (!s)
    abort();
  runs = 0;
  for (p = s, i = 0; i < n; i++) {
    if (is_run(d, n, i, &runs)) {
      size_t run = RUN_BASE + (d[++i] & 7);
      memset(p, 'a', run);
      p += run;
    }
    else
      *p++ = (char)d[i];
  }
  *outlen = len;
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct lines whole = {0}, cut = {0}, small = {0}, ref = {0};
  size_t n, i, at, chunk;
  char *s;

  if (size < 2 || size > INPUT_MAX)
    return 0;
  s = expand(data + 2, size - 2, &n);
  at = n ? ((size_t)data[0] * 257 + data[1]) % (n + 1) : 0;
  chunk = (size_t)(data[1] & 7) + 1;
  split(s, n, n, 1, &whole);
  split(s, n, at, n, &cut);
  split(s, n, 0, n > 4096 ? 4093 : chunk, &small);
  split_reference(s, n, &ref);
  CHECK(same_lines(&whole, &ref));
  CHECK(same_lines(&cut, &ref));
  CHECK(same_lines(&small, &ref));
  for (i = 0; i < ref.n; i++) {
    const struct line *l = &ref.v[i];
    int rc = parse_copy(l->text, l->len, LISTFILE_WHY_MAX);

    if (l->len > 1024)
      continue; /* slow under coverage tracing; short ones cover the rest */
    CHECK(parse_copy(l->text, l->len, (size_t)data[0] % 8) == rc);
    CHECK(parse_copy(l->text, l->len, 0) == rc);
  }
  /* The parser's own limit, on a line the splitter would have cut. */
  if (n > LISTFILE_MAX_LINE && !memchr(s, '\n', n))
    parse_copy(s, n, LISTFILE_WHY_MAX);
  lines_release(&whole);
  lines_release(&cut);
  lines_release(&small);
  lines_release(&ref);
  free(s);
  return 0;
}
