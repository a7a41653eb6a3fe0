/*
 * names: output file names for keys, collision variants, Content-Disposition
 * names and out= checks.  Pure string functions: no I/O, no global state,
 * thread-safe.
 *
 * Calling sequence (what the engine does for one entry):
 *
 *   path = e->out ? names_clean(e->out)            after names_check_out()
 *                 : layout == flat ? names_flat(key) : names_mirror(key);
 *   while (path is taken by another key)
 *     path = names_numbered(base, ++n);
 *   ...
 *   cd = names_from_disposition(value);            optional, may be NULL
 *
 * Keys are normalized URLs (scheme://[userinfo@]host[:port]/path[?query]);
 * this module parses them minimally and never fails on odd input: anything
 * is turned into some safe name.
 *
 * "Made safe": every path segment produced here is percent-decoded and then
 *  - a decoded '/' stays "%2F", and a control byte (0x00-0x1f, 0x7f) stays
 *    "%XX" (uppercase hex): no produced segment holds '/' or a control byte;
 *  - a segment that would be "." or ".." gets its first dot escaped ("%2E",
 *    "%2E."), and so does ".corral", the state directory of the output dir
 *    (SPEC: state lives only under DIR/.corral/): "%2Ecorral";
 *  - a literal '%' (decoded from %25, or an invalid escape such as "%zz")
 *    is kept as is, as are backslash and bytes >= 0x80: they are ordinary
 *    bytes in a POSIX file name.  Two keys that differ only in this way may
 *    map to the same name; the collision rule (names_numbered) handles it;
 *  - a segment is at most NAMES_SEG_MAX bytes, which leaves room for the
 *    ".part" suffix of the sink within NAME_MAX (255).  A longer segment is
 *    cut before its extension (from the last dot, when that extension is at
 *    most 32 bytes), never inside a "%XX" or a UTF-8 sequence;
 *  - an empty segment is never returned.
 *
 * Every char * returned is malloc'd and owned by the caller (free()).  NULL
 * means out of memory, except where a function says otherwise.
 */
#ifndef NAMES_H
#define NAMES_H

#include <stddef.h>

/* Longest segment we produce: NAME_MAX (255) minus strlen(".part"). */
#define NAMES_SEG_MAX 250

/* Longest out= value accepted by names_check_out(), in bytes. */
#define NAMES_PATH_MAX 4095

/*
 * Flat layout: the last path segment (query and fragment excluded), made
 * safe; "index.html" when that segment is empty ("http://h/", "http://h").
 */
char *names_flat(const char *key);

/*
 * Mirror layout: "HOST[_PORT]/seg/.../last".  Userinfo is dropped; the port
 * appears only when the key has one (keys drop default ports).  Each path
 * segment is percent-decoded and made safe; empty segments ("a//b") are
 * dropped; a path ending in '/' ends in "index.html".  "?QUERY" is appended
 * to the last segment verbatim (not decoded, so "%26" stays "%26"), except
 * that '/' and control bytes in it become "%2F"/"%XX"; the whole last
 * segment then obeys NAMES_SEG_MAX.  The host is made safe without
 * decoding; an empty host becomes "_".
 */
char *names_mirror(const char *key);

/*
 * Collision variant n >= 1 of a relative path (SPEC "NAME.N.EXT"): EXT
 * follows the last dot of the last segment, and a dot that starts the
 * segment does not count.
 *   "a/b.tar.gz",1 -> "a/b.tar.1.gz"   "data",2 -> "data.2"
 *   ".hidden",1    -> ".hidden.1"      ".a.b",1 -> ".a.1.b"
 *   "x.",1         -> "x.1."  (EXT is empty; the trailing dot is kept, so
 *                              the result differs from "x" -> "x.1")
 * When the last segment would exceed NAMES_SEG_MAX, NAME is shortened (at a
 * UTF-8 boundary) so that ".N.EXT" survives.  relpath is expected to come
 * from this module or names_clean().
 */
char *names_numbered(const char *relpath, unsigned n);

/*
 * A safe file name from a Content-Disposition header value (the part after
 * "Content-Disposition:").  filename* (RFC 6266 / RFC 5987: charset UTF-8 or
 * ISO-8859-1, the latter converted to UTF-8; percent-decoded) is preferred
 * over filename, which is a quoted-string (backslash escapes removed) or a
 * token.  Only the part after the last '/' or '\\' is used, then made safe
 * as above (control bytes become "%XX").  Returns NULL when there is no
 * usable name (absent, empty, "." or "..", unknown charset with no plain
 * filename) or on out of memory; the caller then keeps the URL's name.
 */
char *names_from_disposition(const char *value);

/*
 * Checks an out= value.  Returns 0, or -1 with *why (if why is not NULL)
 * set to a static reason that reads after "out= " ("is an absolute path",
 * "climbs out with a '..' component", ...): empty, absolute, a ".." component,
 * a control byte, a component longer than NAMES_SEG_MAX, longer than
 * NAMES_PATH_MAX, no file name (ends in '/', "." or is only "." components),
 * or the reserved ".corral" state directory as first component.  "." and empty
 * components ("./a//b") are accepted; names_clean() drops them.  A C string
 * cannot hold a NUL byte: the input reader must reject those itself.
 */
int names_check_out(const char *out, const char **why);

/*
 * The canonical form of an out= value that passed names_check_out(): "."
 * and empty components dropped ("./a//b" -> "a/b"), so that equal paths
 * compare equal as strings.  Malloc'd; NULL only on out of memory.
 */
char *names_clean(const char *out);

#endif
