/*
 * report: JSON Lines writer for --report.  Each entry is written straight
 * to a stdio stream and flushed, so the file always ends on a whole line
 * unless a write fails.  Strings are escaped by a small UTF-8 validator:
 * valid sequences are copied, anything else is escaped byte by byte.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

struct report {
  FILE *f;
};

static const char *const status_names[] = {
    [CORRAL_STATUS_OK] = "ok",
    [CORRAL_STATUS_DUPLICATE] = "duplicate",
    [CORRAL_STATUS_SKIPPED] = "skipped",
    [CORRAL_STATUS_FAILED] = "failed",
};

int report_open(struct report **out, const char *path)
{
  struct report *rep = NULL;
  int fd = -1, err = 0;

  *out = NULL;
  rep = calloc(1, sizeof(*rep));
  if (!rep)
    return -ENOMEM;
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    err = -errno;
    goto out;
  }
  rep->f = fdopen(fd, "w");
  if (!rep->f) {
    err = -errno;
    goto out;
  }
  *out = rep;
  rep = NULL;
  fd = -1;
out:
  if (fd >= 0)
    close(fd);
  free(rep);
  return err;
}

/*
 * Length (2..4) of the valid multi-byte UTF-8 sequence at s, or 0.  The
 * ranges exclude overlong forms, surrogates and code points above
 * U+10FFFF.  Stops at a NUL, which is never a continuation byte.
 */
static size_t utf8_len(const unsigned char *s)
{
  unsigned char lo = 0x80, hi = 0xbf;
  size_t n, i;

  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    n = 2;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    n = 3;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    n = 4;
  else
    return 0;
  if (s[0] == 0xe0)
    lo = 0xa0;
  else if (s[0] == 0xed)
    hi = 0x9f;
  else if (s[0] == 0xf0)
    lo = 0x90;
  else if (s[0] == 0xf4)
    hi = 0x8f;
  for (i = 1; i < n; i++) {
    if (s[i] < lo || s[i] > hi)
      return 0;
    lo = 0x80;
    hi = 0xbf;
  }
  return n;
}

static void put_byte(FILE *f, unsigned char c)
{
  switch (c) {
  case '"':
    fputs("\\\"", f);
    break;
  case '\\':
    fputs("\\\\", f);
    break;
  case '\b':
    fputs("\\b", f);
    break;
  case '\f':
    fputs("\\f", f);
    break;
  case '\n':
    fputs("\\n", f);
    break;
  case '\r':
    fputs("\\r", f);
    break;
  case '\t':
    fputs("\\t", f);
    break;
  default:
    if (c < 0x20 || c >= 0x7f)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
}

void report_put_string(FILE *f, const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t n;

  if (!s) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  while (*p) {
    n = *p >= 0x80 ? utf8_len(p) : 0;
    if (n) {
      fwrite(p, 1, n, f);
      p += n;
    }
    else
      put_byte(f, *p++);
  }
  fputc('"', f);
}

static const char *error_text(const struct corral_result *r)
{
  if (r->msg)
    return r->msg;
  if (r->status == CORRAL_STATUS_FAILED)
    return corral_strerror(r->err);
  return NULL;
}

static const char *status_name(enum corral_status st)
{
  if ((size_t)st < sizeof(status_names) / sizeof(status_names[0]))
    return status_names[st];
  return "failed";
}

int report_write(struct report *rep, const struct corral_result *r)
{
  FILE *f = rep->f;

  fputs("{\"url\":", f);
  report_put_string(f, r->url);
  fputs(",\"key\":", f);
  report_put_string(f, r->key);
  fputs(",\"final_url\":", f);
  report_put_string(f, r->final_url);
  fputs(",\"path\":", f);
  report_put_string(f, r->path);
  fprintf(f,
          ",\"status\":\"%s\",\"http_status\":%ld,\"bytes\":%" PRIu64
          ",\"attempts\":%u,\"error\":",
          status_name(r->status), r->http_status, r->bytes, r->attempts);
  report_put_string(f, error_text(r));
  fprintf(f, ",\"ms\":%" PRIu64 ",\"line\":%u,\"source\":", r->ms, r->line);
  report_put_string(f, r->source);
  fputs("}\n", f);
  errno = 0;
  if (fflush(f) || ferror(f))
    return errno ? -errno : -EIO;
  return 0;
}

int report_close(struct report **rep)
{
  int err = 0;

  if (!rep || !*rep)
    return 0;
  errno = 0;
  if (fclose((*rep)->f))
    err = errno ? -errno : -EIO;
  free(*rep);
  *rep = NULL;
  return err;
}
