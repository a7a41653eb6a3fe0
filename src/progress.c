/*
 * progress: turns snapshots of a running job into the text of the status
 * area (see progress.h).  Strings are built with a small bounded appender
 * (struct out) that never splits a UTF-8 sequence; every piece of text
 * that comes from the input (URLs, paths) goes through progress_fit(),
 * which is the one place that decides what a terminal may see.  Rates of
 * the shown transfers are kept in a few trackers keyed by a hash of the
 * transfer, so no allocation and no pointer into the library's data.
 */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define PROGRESS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PROGRESS_PRINTF(a, b)
#endif

#define RATE_TAU_MS 1000.0 /* time constant of the smoothed rates */
#define RATE_MIN_GAP_MS 50 /* samples closer than this are merged */
#define ETA_MAX_SECS (100 * 3600)

/* A bounded string being built; full once a piece did not fit. */
struct out {
  char *buf;
  size_t len, pos;
  bool full;
};

static void out_init(struct out *o, char *buf, size_t len)
{
  o->buf = buf;
  o->len = len;
  o->pos = 0;
  o->full = !len;
  if (len)
    buf[0] = '\0';
}

/* Appends n bytes whole or not at all (and nothing after a miss). */
static void put(struct out *o, const char *s, size_t n)
{
  if (o->full || o->pos + n >= o->len) {
    o->full = true;
    return;
  }
  memcpy(o->buf + o->pos, s, n);
  o->pos += n;
  o->buf[o->pos] = '\0';
}

static void puts_(struct out *o, const char *s)
{
  put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) PROGRESS_PRINTF(2, 3);

static void putf(struct out *o, const char *fmt, ...)
{
  char tmp[256];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n >= 0)
    put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_spaces(struct out *o, unsigned n)
{
  while (n--)
    put(o, " ", 1);
}

void progress_meter_init(struct progress_meter *m)
{
  memset(m, 0, sizeof(*m));
  m->rate = -1;
}

void progress_meter_update(struct progress_meter *m, uint64_t bytes,
                           uint64_t now_ms)
{
  double dt, inst;

  if (!m->primed || now_ms < m->ms) {
    m->ms = now_ms;
    m->bytes = bytes;
    m->primed = true;
    return;
  }
  if (now_ms - m->ms < RATE_MIN_GAP_MS)
    return;
  dt = (double)(now_ms - m->ms);
  inst = bytes > m->bytes ? (double)(bytes - m->bytes) * 1000.0 / dt : 0;
  if (m->rate < 0)
    m->rate = inst;
  else
    m->rate += dt / (RATE_TAU_MS + dt) * (inst - m->rate);
  m->ms = now_ms;
  m->bytes = bytes;
}

size_t progress_human(char *buf, size_t len, uint64_t bytes)
{
  static const char *const units[] = {"KiB", "MiB", "GiB",
                                      "TiB", "PiB", "EiB"};
  double v = (double)bytes / 1024;
  unsigned u = 0;
  struct out o;

  out_init(&o, buf, len);
  if (bytes < 1024) {
    putf(&o, "%u B", (unsigned)bytes);
    return o.pos;
  }
  /* 1023.5 KiB would print as "1024 KiB": move up a unit first. */
  while (v >= 1023.5 && u < 5) {
    v /= 1024;
    u++;
  }
  putf(&o, v < 99.95 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return o.pos;
}

size_t progress_duration(char *buf, size_t len, uint64_t secs)
{
  struct out o;

  out_init(&o, buf, len);
  if (secs < 3600)
    putf(&o, "%u:%02u", (unsigned)(secs / 60), (unsigned)(secs % 60));
  else
    putf(&o, "%llu:%02u:%02u", (unsigned long long)(secs / 3600),
         (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
  return o.pos;
}

int64_t progress_eta(const struct progress_work *w, uint64_t done_bytes,
                     uint64_t done_count, double rate)
{
  double left = (double)w->left, secs;

  if (rate < 1)
    return -1;
  if (w->unknown) {
    double guess;

    if (!done_count)
      return -1;
    guess = (double)w->unknown * ((double)done_bytes / (double)done_count);
    if (guess > (double)w->unknown_received)
      left += guess - (double)w->unknown_received;
  }
  if (left < 1)
    return -1;
  secs = left / rate + 0.5;
  return secs > ETA_MAX_SECS ? -1 : (int64_t)secs;
}

/* Code points a terminal shows two columns wide (East Asian Wide). */
static bool is_wide(uint32_t cp)
{
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
         (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
         (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
         (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
         (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/*
 * The printable character at s: returns its length in bytes (1..4) and
 * sets *cols; returns 0 for anything a terminal must not get (a control
 * byte, C1, bad or overlong UTF-8, a surrogate), which shows as '?'.
 */
static size_t safe_char(const unsigned char *s, unsigned *cols)
{
  unsigned c = s[0];
  size_t n, i;
  uint32_t cp;

  *cols = 1;
  if (c >= 0x20 && c < 0x7f)
    return 1;
  if (c < 0xc2 || c > 0xf4)
    return 0;
  n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  cp = c & (0x7fu >> n);
  for (i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
    return 0;
  *cols = is_wide(cp) ? 2 : 1;
  return n;
}

/* Columns of the whole of s once made safe. */
static uint64_t text_cols(const char *s)
{
  uint64_t total = 0;
  unsigned w;
  size_t n;

  for (; *s; s += n ? n : 1) {
    n = safe_char((const unsigned char *)s, &w);
    total += w;
  }
  return total;
}

/* Appends s made safe, up to max columns; returns the columns used. */
static unsigned put_safe(struct out *o, const char *s, uint64_t max)
{
  unsigned used = 0, w;
  size_t n;

  for (; *s; s += n ? n : 1) {
    n = safe_char((const unsigned char *)s, &w);
    if (used + w > max)
      break;
    if (n)
      put(o, s, n);
    else
      put(o, "?", 1);
    used += w;
  }
  return used;
}

/* Skips the front of s until what is left takes at most max columns. */
static const char *tail_within(const char *s, uint64_t total, uint64_t max)
{
  unsigned w;
  size_t n;

  while (*s && total > max) {
    n = safe_char((const unsigned char *)s, &w);
    total -= w;
    s += n ? n : 1;
  }
  return s;
}

unsigned progress_fit(char *buf, size_t len, const char *src, unsigned cols,
                      bool keep_tail)
{
  uint64_t total = text_cols(src);
  struct out o;

  out_init(&o, buf, len);
  if (total <= cols || !keep_tail || cols < 4)
    return put_safe(&o, src, cols);
  puts_(&o, "...");
  return 3 + put_safe(&o, tail_within(src, total, cols - 3), cols - 3);
}

/* Appends the ASCII field f when all of it fits in cols; else stops. */
static void put_field(struct out *o, unsigned *used, const char *f,
                      unsigned cols)
{
  size_t n = strlen(f);

  if (o->full || *used + n > cols) {
    o->full = true;
    return;
  }
  put(o, f, n);
  *used += (unsigned)n;
}

size_t progress_status_line(char *buf, size_t len,
                            const struct corral_stats *s, double rate,
                            int64_t eta, unsigned cols)
{
  char text[160], head[160], field[48], num[32];
  unsigned used;
  struct out o;

  snprintf(text, sizeof(text),
           "[%llu/%llu] %llu ok, %llu dup, %llu skipped, %llu failed",
           (unsigned long long)(s->downloaded + s->duplicate + s->skipped +
                                s->failed),
           (unsigned long long)s->entries, (unsigned long long)s->downloaded,
           (unsigned long long)s->duplicate, (unsigned long long)s->skipped,
           (unsigned long long)s->failed);
  used = progress_fit(head, sizeof(head), text, cols, false);
  out_init(&o, buf, len);
  puts_(&o, head);
  /* Whole fields or none: a cut "977 KiB" would read as a size. */
  progress_human(num, sizeof(num), s->received);
  snprintf(field, sizeof(field), "  %s", num);
  put_field(&o, &used, field, cols);
  if (rate >= 0) {
    progress_human(num, sizeof(num), (uint64_t)rate);
    snprintf(field, sizeof(field), "  %s/s", num);
    put_field(&o, &used, field, cols);
  }
  if (eta >= 0) {
    progress_duration(num, sizeof(num), (uint64_t)eta);
    snprintf(field, sizeof(field), "  ETA %s", num);
    put_field(&o, &used, field, cols);
  }
  return o.pos;
}

/* The right-hand columns of a transfer line: "[  try N]  AMOUNT  RATE". */
static void transfer_right(char *buf, size_t len,
                           const struct corral_transfer *t, double rate)
{
  char amount[32], speed[40] = "";
  struct out o;

  if (t->total > 0)
    snprintf(amount, sizeof(amount), "%u%%",
             (unsigned)((double)(t->received < (uint64_t)t->total
                                     ? t->received
                                     : (uint64_t)t->total) *
                        100 / (double)t->total));
  else if (t->total == 0)
    snprintf(amount, sizeof(amount), "100%%");
  else
    progress_human(amount, sizeof(amount), t->received);
  if (rate >= 0) {
    size_t n = progress_human(speed, sizeof(speed), (uint64_t)rate);

    snprintf(speed + n, sizeof(speed) - n, "/s");
  }
  out_init(&o, buf, len);
  if (t->attempt > 1)
    putf(&o, "  try %u", t->attempt);
  putf(&o, "  %8s  %10s", amount, speed);
}

size_t progress_transfer_line(char *buf, size_t len,
                              const struct corral_transfer *t, double rate,
                              unsigned cols)
{
  const char *name = t->path ? t->path : t->url ? t->url : "";
  char right[96];
  size_t rlen;
  unsigned used, width;
  struct out o;

  transfer_right(right, sizeof(right), t, rate);
  rlen = strlen(right);
  out_init(&o, buf, len);
  if (cols < rlen + 2 + 8) {
    /* Too narrow for the numbers: the name alone. */
    put_spaces(&o, cols < 2 ? cols : 2);
    if (cols > 2)
      progress_fit(buf + o.pos, len - o.pos, name, cols - 2, true);
    return strlen(buf);
  }
  width = cols - 2 - (unsigned)rlen;
  if (width > PROGRESS_NAME_COLS)
    width = PROGRESS_NAME_COLS; /* keep the numbers near the names */
  put_spaces(&o, 2);
  used = progress_fit(buf + o.pos, len - o.pos, name, width, true);
  o.pos = strlen(buf);
  put_spaces(&o, width - used);
  puts_(&o, right);
  return o.pos;
}

unsigned progress_lines(unsigned active, unsigned rows)
{
  unsigned n = active < PROGRESS_MAX_XFERS ? active : PROGRESS_MAX_XFERS;

  if (rows < 3)
    return 0;
  return n < rows - 2 ? n : rows - 2;
}

void progress_init(struct progress *p, unsigned cols, unsigned rows)
{
  unsigned i;

  memset(p, 0, sizeof(*p));
  progress_resize(p, cols, rows);
  progress_meter_init(&p->total);
  for (i = 0; i < PROGRESS_MAX_XFERS; i++)
    progress_meter_init(&p->track[i].meter);
}

void progress_resize(struct progress *p, unsigned cols, unsigned rows)
{
  p->cols = cols ? cols : 80;
  if (p->cols > PROGRESS_MAX_COLS)
    p->cols = PROGRESS_MAX_COLS;
  p->rows = rows ? rows : 24;
}

void progress_begin(struct progress *p, const struct corral_stats *s,
                    uint64_t now_ms)
{
  p->stats = *s;
  p->now_ms = now_ms;
  p->frame++;
  p->n_xfers = 0;
  memset(&p->work, 0, sizeof(p->work));
  progress_meter_update(&p->total, s->received, now_ms);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
  for (; s && *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return (h ^ 0xff) * 0x100000001b3ull;
}

/* The tracker of transfer id: its own, else the one unused the longest. */
static struct progress_track *track_of(struct progress *p, uint64_t id)
{
  struct progress_track *pick = NULL;
  unsigned i;

  for (i = 0; i < PROGRESS_MAX_XFERS; i++) {
    struct progress_track *k = &p->track[i];

    if (k->frame && k->id == id)
      return k;
    if (k->frame != p->frame && (!pick || k->frame < pick->frame))
      pick = k;
  }
  if (!pick)
    return NULL;
  pick->id = id;
  progress_meter_init(&pick->meter);
  return pick;
}

void progress_add(struct progress *p, const struct corral_transfer *t)
{
  struct progress_track *k;
  uint64_t id;

  if (t->total >= 0)
    p->work.left += (uint64_t)t->total > t->received
                        ? (uint64_t)t->total - t->received
                        : 0;
  else {
    p->work.unknown++;
    p->work.unknown_received += t->received;
  }
  if (p->n_xfers >= progress_lines(p->stats.active, p->rows))
    return;
  id = hash_str(hash_str(0xcbf29ce484222325ull, t->url), t->path) ^ t->attempt;
  k = track_of(p, id);
  if (k) {
    k->frame = p->frame;
    progress_meter_update(&k->meter, t->received, p->now_ms);
  }
  p->n_xfers++;
  progress_transfer_line(p->line[p->n_xfers], PROGRESS_LINE_SIZE, t,
                         k ? k->meter.rate : -1, p->cols - 1);
}

void progress_end(struct progress *p)
{
  int64_t eta;

  p->work.unknown += p->stats.waiting;
  eta = progress_eta(&p->work, p->stats.bytes, p->stats.downloaded,
                     p->total.rate);
  progress_status_line(p->line[0], PROGRESS_LINE_SIZE, &p->stats,
                       p->total.rate, eta, p->cols - 1);
  p->n_lines = 1 + p->n_xfers;
}

/* Moves from the end of the drawn area to the start of its first line. */
static void put_home(struct out *o, unsigned drawn)
{
  put(o, "\r", 1);
  if (drawn > 1)
    putf(o, "\x1b[%uA", drawn - 1);
}

size_t progress_draw(struct progress *p, char *buf, size_t len)
{
  struct out o;
  unsigned i;

  out_init(&o, buf, len);
  if (!p->n_lines)
    return 0;
  put_home(&o, p->drawn);
  for (i = 0; i < p->n_lines; i++) {
    puts_(&o, p->line[i]);
    puts_(&o, i + 1 < p->n_lines ? "\x1b[K\n" : "\x1b[K");
  }
  puts_(&o, "\x1b[J");
  p->drawn = p->n_lines;
  return o.pos;
}

size_t progress_clear(struct progress *p, char *buf, size_t len)
{
  struct out o;

  out_init(&o, buf, len);
  if (!p->drawn)
    return 0;
  put_home(&o, p->drawn);
  puts_(&o, "\x1b[J");
  p->drawn = 0;
  return o.pos;
}
