/*
 * libFuzzer target for names_from_disposition() (Content-Disposition).
 *
 * The first input byte picks a mode; the rest (up to a NUL) is either a
 * whole header value as a server could send it (mode even) or a file
 * name that is wrapped into a header three ways (mode odd: a token, a
 * quoted-string and an RFC 5987 filename*=UTF-8'' value).  Properties:
 *
 *  - any value: NULL or a single safe name: not empty, not "." or "..",
 *    not ".corral", no '/', no '\\', no control byte, at most
 *    NAMES_SEG_MAX bytes;
 *  - a plain name (letters, digits, '-', '_', '.'; not "." or "..", not
 *    ".corral", at most NAMES_SEG_MAX bytes) comes back unchanged from
 *    all three spellings, and filename* wins over a filename before it;
 *  - a quoted name without '"' or '\\' gives NULL exactly when its last
 *    component is empty, "." or "..", else at most that component made
 *    safe (control bytes grow to "%XX").
 *
 * Any broken property aborts, which libFuzzer reports as a crash.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX 8192

#define CHECK(cond, name)                                                     \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: property failed: %s (name \"%s\")\n", __FILE__, \
              __LINE__, #cond, (name) ? (name) : "(null)");                   \
      abort();                                                                \
    }                                                                         \
  } while (0)

static void check_safe(const char *name)
{
  size_t i, n;

  if (!name)
    return;
  n = strlen(name);
  CHECK(n > 0 && n <= NAMES_SEG_MAX, name);
  CHECK(strcmp(name, ".") && strcmp(name, "..") && strcmp(name, ".corral"),
        name);
  for (i = 0; i < n; i++)
    CHECK((unsigned char)name[i] >= 0x20 && name[i] != 0x7f &&
              name[i] != '/' && name[i] != '\\',
          name);
}

/* names_from_disposition of the header value pre NAME post. */
static char *from_header(const char *pre, const char *name, const char *post)
{
  size_t len = strlen(pre) + strlen(name) + strlen(post) + 1;
  char *value = malloc(len);
  char *got;

  if (!value)
    abort();
  snprintf(value, len, "%s%s%s", pre, name, post);
  got = names_from_disposition(value);
  check_safe(got);
  free(value);
  return got;
}

/* name with every byte but ALPHA / DIGIT percent-encoded (RFC 5987). */
static char *pct_encode(const char *name)
{
  char *out = malloc(3 * strlen(name) + 1);
  char *p = out;

  if (!out)
    abort();
  for (; *name; name++) {
    unsigned char c = (unsigned char)*name;
    bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                 (c >= 'A' && c <= 'Z');

    if (plain)
      *p++ = (char)c;
    else
      p += snprintf(p, 4, "%%%02X", c);
  }
  *p = '\0';
  return out;
}

static bool is_plain(const char *name)
{
  size_t i, n = strlen(name);

  if (!n || n > NAMES_SEG_MAX || !strcmp(name, ".") || !strcmp(name, "..") ||
      !strcmp(name, ".corral"))
    return false;
  for (i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
          (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

static void check_spellings(const char *name)
{
  char *enc = pct_encode(name);
  char *a = from_header("attachment; filename=", name, "");
  char *b = from_header("attachment; filename=\"", name, "\"");
  char *c = from_header("attachment; filename=\"other.bin\"; "
                        "filename*=UTF-8''",
                        enc, "; x=y");
  const char *base = strrchr(name, '/');

  if (is_plain(name)) {
    CHECK(a && !strcmp(a, name), a);
    CHECK(b && !strcmp(b, name), b);
    CHECK(c && !strcmp(c, name), c);
  }
  /* Unquoted by nothing: only the last component comes back. */
  base = base ? base + 1 : name;
  if (!strpbrk(name, "\"\\")) {
    CHECK(!b == (!*base || !strcmp(base, ".") || !strcmp(base, "..")), b);
    CHECK(!b || strlen(b) <= 3 * strlen(base), b);
  }
  free(enc);
  free(a);
  free(b);
  free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *in, *name;

  if (size < 1 || size > INPUT_MAX)
    return 0;
  in = malloc(size);
  if (!in)
    abort();
  memcpy(in, data + 1, size - 1);
  in[size - 1] = '\0';
  if (data[0] & 1) {
    check_spellings(in);
  }
  else {
    name = names_from_disposition(in);
    check_safe(name);
    free(name);
  }
  free(in);
  return 0;
}
