/*
 * listfile: parsing of URL list lines and splitting of a byte stream into
 * lines.  A line is parsed in place: fields are cut with NUL bytes and the
 * entry points into the line, so nothing is allocated per line.  The
 * splitter keeps one partial line in a buffer that grows on demand up to
 * LISTFILE_MAX_LINE plus room for a '\r'; an over-long line is reported
 * once as soon as it passes that size and the rest of it is dropped, so a
 * hostile input cannot make the buffer grow further.
 */
#include "listfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a line the splitter holds: the line plus a possible '\r'. */
#define SPLIT_HOLD (LISTFILE_MAX_LINE + 1)

/* Longest part of a key quoted in a reason. */
#define KEY_SHOWN 32

static bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_lower(char c)
{
  if (c >= '0' && c <= '9')
    return c;
  if (c >= 'a' && c <= 'f')
    return c;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 'a';
  return -1;
}

static int fail(char *why, size_t whylen, const char *reason)
{
  if (why && whylen)
    snprintf(why, whylen, "%s", reason);
  return -1;
}

/* Copies up to KEY_SHOWN bytes of text into shown, non-printables as '?'. */
static void show(char shown[KEY_SHOWN + 1], const char *text)
{
  size_t i;

  for (i = 0; i < KEY_SHOWN && text[i]; i++) {
    unsigned char c = (unsigned char)text[i];
    shown[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  shown[i] = '\0';
}

/* A reason naming a key, cut and made printable. */
static int fail_key(char *why, size_t whylen, const char *what,
                    const char *key)
{
  char shown[KEY_SHOWN + 1];

  show(shown, key);
  if (why && whylen)
    snprintf(why, whylen, "%s key '%s'", what, shown);
  return -1;
}

/*
 * A field that is not key=value.  Most often the URL held a raw space
 * ("http://h/my file"), so the reason names the field and says so.
 */
static int fail_stray(char *why, size_t whylen, const char *field)
{
  char shown[KEY_SHOWN + 1];

  show(shown, field);
  if (why && whylen)
    snprintf(why, whylen,
             "field '%s' is not key=value (a space in a URL is written %%20)",
             shown);
  return -1;
}

static char *skip_blanks(char *p)
{
  while (is_blank(*p))
    p++;
  return p;
}

/* Cuts the field at *p, moves *p to the next one and returns the field. */
static char *next_field(char **p)
{
  char *tok = *p;
  char *q = tok;

  while (*q && !is_blank(*q))
    q++;
  if (*q)
    *q++ = '\0';
  *p = skip_blanks(q);
  return tok;
}

/* Returns NULL when v is 64 hex digits (lowercasing them), else a reason. */
static const char *check_sha256(char *v)
{
  size_t i;

  for (i = 0; v[i]; i++) {
    int c = hex_lower(v[i]);
    if (c < 0)
      return "bad sha256 (want 64 hex digits)";
    v[i] = (char)c;
  }
  if (i != 64)
    return "bad sha256 (want 64 hex digits)";
  return NULL;
}

/* Returns NULL when v is a usable relative file path, else a reason. */
static const char *check_out(const char *v)
{
  const char *seg = v;
  long depth = 0;
  size_t n = 0;

  if (!*v)
    return "out= is empty";
  if (*v == '/')
    return "out= is absolute";
  for (;;) {
    n = strcspn(seg, "/");
    if (n == 2 && seg[0] == '.' && seg[1] == '.')
      depth--;
    else if (n > 1 || (n == 1 && seg[0] != '.'))
      depth++;
    if (depth < 0)
      return "out= climbs out of the output dir";
    if (!seg[n])
      break;
    seg += n + 1;
  }
  /* The last segment must be a name: not "", "." or "..". */
  if (n == 0 || (seg[0] == '.' && (n == 1 || (n == 2 && seg[1] == '.'))))
    return "out= names no file";
  return NULL;
}

static int parse_field(char *tok, struct listfile_entry *e, char *why,
                       size_t whylen)
{
  char *eq = strchr(tok, '=');
  char **slot = NULL;
  const char *reason = NULL;

  if (!eq)
    return fail_stray(why, whylen, tok);
  *eq = '\0';
  if (!strcmp(tok, "out"))
    slot = &e->out;
  else if (!strcmp(tok, "sha256"))
    slot = &e->sha256;
  else
    return fail_key(why, whylen, "unknown", tok);
  if (*slot)
    return fail_key(why, whylen, "duplicate", tok);
  if (slot == &e->out)
    reason = check_out(eq + 1);
  else
    reason = check_sha256(eq + 1);
  if (reason)
    return fail(why, whylen, reason);
  *slot = eq + 1;
  return 0;
}

int listfile_parse_line(char *line, size_t len, struct listfile_entry *e,
                        char *why, size_t whylen)
{
  char *p = NULL;

  memset(e, 0, sizeof(*e));
  if (len && line[len - 1] == '\r')
    len--;
  if (len > LISTFILE_MAX_LINE)
    return fail(why, whylen, LISTFILE_TOO_LONG);
  if (memchr(line, '\0', len))
    return fail(why, whylen, "NUL byte in line");
  line[len] = '\0';
  p = skip_blanks(line);
  if (!*p || *p == '#')
    return 0;
  e->url = next_field(&p);
  while (*p) {
    if (parse_field(next_field(&p), e, why, whylen) < 0) {
      memset(e, 0, sizeof(*e));
      return -1;
    }
  }
  return 1;
}

void listfile_splitter_init(struct listfile_splitter *s, listfile_line_cb cb,
                            void *data)
{
  memset(s, 0, sizeof(*s));
  s->cb = cb;
  s->data = data;
}

/* Makes room for need bytes in the buffer, never more than SPLIT_HOLD+1. */
static int reserve(struct listfile_splitter *s, size_t need)
{
  size_t cap = s->cap ? s->cap : 256;
  char *p = NULL;

  if (need <= s->cap)
    return 0;
  while (cap < need)
    cap *= 2;
  if (cap > SPLIT_HOLD + 1)
    cap = SPLIT_HOLD + 1;
  p = realloc(s->buf, cap);
  if (!p)
    return -ENOMEM;
  s->buf = p;
  s->cap = cap;
  return 0;
}

/* Hands the buffered line to the callback and empties the buffer. */
/*
 * Hands the buffered line to the callback.  excess: more bytes of this
 * line follow that were not buffered, so it is too long whatever it ends
 * with (a '\r' there is not the line's end).
 */
static void deliver(struct listfile_splitter *s, bool excess)
{
  char empty[1] = "";
  char *line = s->buf ? s->buf : empty;
  size_t len = s->len;
  bool too_long = excess;

  if (!excess && len && line[len - 1] == '\r')
    len--;
  if (len > LISTFILE_MAX_LINE) {
    too_long = true;
    len = LISTFILE_MAX_LINE;
  }
  line[len] = '\0';
  s->len = 0;
  s->cb(line, len, ++s->lineno, too_long, s->data);
}

/* Adds n bytes of the current line; reports the line once it is too long. */
static int append(struct listfile_splitter *s, const char *p, size_t n)
{
  size_t room = SPLIT_HOLD - s->len;
  int err = 0;

  if (s->is_skipping || !n)
    return 0;
  err = reserve(s, s->len + (n < room ? n : room) + 1);
  if (err < 0)
    return err;
  memcpy(s->buf + s->len, p, n < room ? n : room);
  s->len += n < room ? n : room;
  if (n > room) {
    deliver(s, true);
    s->is_skipping = true;
  }
  return 0;
}

int listfile_splitter_feed(struct listfile_splitter *s, const char *buf,
                           size_t len)
{
  while (len) {
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl ? (size_t)(nl - buf) : len;
    int err = append(s, buf, n);

    if (err < 0)
      return err;
    if (nl) {
      if (s->is_skipping)
        s->is_skipping = false;
      else
        deliver(s, false);
      n++;
    }
    buf += n;
    len -= n;
  }
  return 0;
}

void listfile_splitter_finish(struct listfile_splitter *s)
{
  if (s->len)
    deliver(s, false);
  s->is_skipping = false;
  s->len = 0;
}

void listfile_splitter_release(struct listfile_splitter *s)
{
  free(s->buf);
  s->buf = NULL;
  s->len = 0;
  s->cap = 0;
  s->is_skipping = false;
}
