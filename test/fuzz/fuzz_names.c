/*
 * libFuzzer target for the output-name functions of names.h.
 *
 * The first input byte picks a collision number; the rest (up to a NUL)
 * is used three ways: as a key as is (names.h promises a safe name for
 * any string), as the key urlnorm() makes of it, and as an out= value.
 * Properties checked:
 *
 *  - names_flat, names_mirror and names_numbered give a non-empty name of
 *    non-empty segments, none "." or "..", none ".corral", none longer
 *    than NAMES_SEG_MAX, with no control byte; a flat name and a
 *    disposition-style single name have no '/';
 *  - the same key gives the same names (also from a separate copy);
 *  - names_numbered(name, n) keeps every segment but the last, inserts
 *    ".N" when the last segment has room for it, and differs from
 *    names_numbered(name, n + 1);
 *  - names_check_out(v) == 0 implies names_clean(v) is a safe relative
 *    path: not absolute, no "..", no "." or empty segment, no control
 *    byte, and names_clean is idempotent and accepted again.
 *
 * Any broken property aborts, which libFuzzer reports as a crash.
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "urlnorm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return 0;
}

/* Every '/'-separated segment of name is a usable file name. */
static void check_path(const char *name, bool single)
{
  const char *s = name;
  size_t n, i;

  CHECK(name != NULL && *name, name);
  CHECK(!single || !strchr(name, '/'), name);
  for (i = 0; name[i]; i++)
    CHECK((unsigned char)name[i] >= 0x20 && name[i] != 0x7f, name);
  for (;;) {
    n = strcspn(s, "/");
    CHECK(n > 0 && n <= NAMES_SEG_MAX, name);
    CHECK(strncmp(s, ".", n) || n != 1, name);
    CHECK(strncmp(s, "..", n) || n != 2, name);
    CHECK(strncmp(s, ".corral", n) || n != 7, name);
    if (!s[n])
      break;
    s += n + 1;
  }
}

/* A collision variant keeps the directory and changes the last segment. */
static void check_numbered(const char *name, unsigned n, bool single)
{
  char *v = names_numbered(name, n);
  char *w = names_numbered(name, n + 1);
  const char *slash = strrchr(name, '/');
  size_t dir = slash ? (size_t)(slash - name) + 1 : 0;

  char num[16];
  size_t numlen = (size_t)snprintf(num, sizeof(num), ".%u", n);

  check_path(v, single);
  check_path(w, single);
  CHECK(strcmp(v, w), v);
  CHECK(!strncmp(v, name, dir) && !strchr(v + dir, '/'), v);
  /*
   * Without a cut, ".N" is inserted.  With one, v may equal name (a
   * 250-byte "x.5.html" numbered 5): harmless, the caller tries n + 1.
   */
  if (strlen(name + dir) + numlen <= NAMES_SEG_MAX)
    CHECK(strlen(v) == strlen(name) + numlen && strstr(v + dir, num), v);
  free(v);
  free(w);
}

/* flat and mirror names of key are safe, repeatable and numberable. */
static void check_key(const char *key, unsigned n)
{
  char *copy = strdup(key);
  char *flat = names_flat(key), *mirror = names_mirror(key);
  char *flat2 = names_flat(copy), *mirror2 = names_mirror(copy);

  check_path(flat, true);
  check_path(mirror, false);
  CHECK(!strcmp(flat, flat2), flat);
  CHECK(!strcmp(mirror, mirror2), mirror);
  check_numbered(flat, n, true);
  check_numbered(mirror, n, false);
  free(copy);
  free(flat);
  free(flat2);
  free(mirror);
  free(mirror2);
}

/* An accepted out= value cleans to a safe, stable relative path. */
static void check_out(const char *out)
{
  const char *why = NULL;
  char *clean, *again;
  const char *s;
  size_t n;

  if (names_check_out(out, &why)) {
    CHECK(why != NULL, out);
    return;
  }
  clean = names_clean(out);
  CHECK(clean && *clean && clean[0] != '/', clean);
  for (s = clean;; s += n + 1) {
    n = strcspn(s, "/");
    CHECK(n > 0 && (n != 1 || s[0] != '.'), clean);
    CHECK(n != 2 || strncmp(s, "..", 2), clean);
    if (!s[n])
      break;
  }
  for (s = clean; *s; s++)
    CHECK((unsigned char)*s >= 0x20 && *s != 0x7f, clean);
  CHECK(names_check_out(clean, &why) == 0, clean);
  again = names_clean(clean);
  CHECK(again && !strcmp(again, clean), again);
  free(again);
  free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *in, *key;
  unsigned n;

  if (size < 1 || size > INPUT_MAX)
    return 0;
  n = (unsigned)data[0] % 200 + 1;
  if (data[0] == 0xff)
    n = 4000000000u; /* a long number */
  in = malloc(size);
  if (!in)
    abort();
  memcpy(in, data + 1, size - 1);
  in[size - 1] = '\0';
  check_key(in, n);
  key = urlnorm(in, NULL);
  if (key)
    check_key(key, n);
  free(key);
  check_out(in);
  free(in);
  return 0;
}
