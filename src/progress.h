/*
 * progress: the counters and the text of the live status area that the
 * corral tool draws on a terminal.  Nothing here reads a clock, touches a
 * file descriptor or asks the terminal anything: the caller passes the
 * time, the terminal size and a snapshot of the library's state, and gets
 * text back.  So every function can be tested without a terminal.
 *
 * Calling sequence (one frame, at most 10 times a second):
 *
 *   struct progress p;
 *   progress_init(&p, cols, rows);            once; again on SIGWINCH
 *   progress_begin(&p, &stats, now_ms);       stats from corral_get_stats
 *   progress_add(&p, &t) ...                  once per corral_transfer
 *   progress_end(&p);                         renders the status line
 *   n = progress_draw(&p, buf, sizeof(buf));  write buf[0..n) to the tty
 *
 * To print a line above the area: progress_clear() (write its text), the
 * line itself, then progress_draw() again, which redraws the last frame.
 *
 * The area is at most 1 + PROGRESS_MAX_XFERS lines and never more than
 * rows - 1, so moving up to its top never leaves the screen.  Every line
 * is cut to cols - 1 columns (a full last column makes some terminals wrap)
 * and holds no control byte from a URL or path: those, bytes that are not
 * UTF-8 and C1 controls become '?'.  One code point counts as one column.
 *
 * Escape sequences used: CR, "ESC[nA" (cursor up), "ESC[K" (clear to end
 * of line) and "ESC[J" (clear to end of screen).  The cursor rests at the
 * end of the area's last line, so nothing scrolls when a frame is redrawn.
 *
 * Ownership: struct progress holds no pointer to the caller's data; every
 * string passed in is read during the call only.  No allocation anywhere.
 */
#ifndef CORRAL_PROGRESS_H
#define CORRAL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corral.h"

#define PROGRESS_MAX_XFERS 8  /* transfer lines under the status line */
#define PROGRESS_MAX_COLS 512 /* wider terminals are used up to this */
#define PROGRESS_NAME_COLS 50 /* the path column of a transfer line */
#define PROGRESS_LINE_SIZE (PROGRESS_MAX_COLS * 4 + 1)
#define PROGRESS_FRAME_SIZE                                                   \
  ((PROGRESS_MAX_XFERS + 1) * (PROGRESS_LINE_SIZE + 8) + 32)

/*
 * A smoothed byte rate.  progress_meter_update() with a byte count and the
 * time; the rate is an exponential average over about two seconds.  rate
 * is negative until two samples at least 50 ms apart were seen.  A count
 * that goes down (a transfer restarted from zero) counts as no progress.
 */
struct progress_meter {
  uint64_t ms;    /* time of the last sample */
  uint64_t bytes; /* count at the last sample */
  double rate;    /* bytes per second, < 0 while unknown */
  bool primed;    /* a first sample was taken */
};

void progress_meter_init(struct progress_meter *m);
void progress_meter_update(struct progress_meter *m, uint64_t bytes,
                           uint64_t now_ms);

/* What is left of the work, for the ETA; progress_add() fills it. */
struct progress_work {
  uint64_t left;             /* bytes to come of transfers of known size */
  uint64_t unknown;          /* transfers of unknown size, waiting ones too */
  uint64_t unknown_received; /* bytes already in those of unknown size */
};

struct progress_track {
  uint64_t id;    /* hash of url, path and attempt */
  uint64_t frame; /* frame that last showed it, 0 for never */
  struct progress_meter meter;
};

struct progress {
  unsigned cols, rows;       /* terminal size */
  struct corral_stats stats; /* this frame's snapshot */
  uint64_t now_ms;
  uint64_t frame; /* frames begun */
  struct progress_meter total;
  struct progress_work work;
  struct progress_track track[PROGRESS_MAX_XFERS];
  unsigned n_xfers; /* transfer lines rendered in this frame */
  unsigned n_lines; /* lines of the last complete frame, 0 for none */
  unsigned drawn;   /* lines on the screen now */
  char line[PROGRESS_MAX_XFERS + 1][PROGRESS_LINE_SIZE];
};

/*
 * Starts a display for a terminal of cols x rows (0 means unknown: 80 x
 * 24).  Nothing is on the screen yet.
 */
void progress_init(struct progress *p, unsigned cols, unsigned rows);

/*
 * A new terminal size.  Keeps the meters and what is on the screen; the
 * next progress_end() renders for the new size.
 */
void progress_resize(struct progress *p, unsigned cols, unsigned rows);

/* Starts a frame from a snapshot taken at now_ms (any monotonic clock). */
void progress_begin(struct progress *p, const struct corral_stats *s,
                    uint64_t now_ms);

/*
 * Adds one active transfer to the frame: counts it for the ETA and, while
 * there is room (see progress_lines()), renders its line.
 */
void progress_add(struct progress *p, const struct corral_transfer *t);

/* Renders the status line and completes the frame. */
void progress_end(struct progress *p);

/* Transfer lines a frame may show: min(active, rows - 2, 8), >= 0. */
unsigned progress_lines(unsigned active, unsigned rows);

/*
 * Writes into buf (NUL-terminated, cut to len) the text that replaces the
 * area on the screen with the last complete frame, and returns its
 * length.  Returns 0 and writes nothing when no frame was completed yet.
 */
size_t progress_draw(struct progress *p, char *buf, size_t len);

/*
 * Writes the text that erases the area and leaves the cursor at the start
 * of its first line; returns its length, 0 when nothing is drawn.
 */
size_t progress_clear(struct progress *p, char *buf, size_t len);

/*
 * The pure pieces, exposed for tests.  Each writes a NUL-terminated string
 * into buf of size len (cut to fit) and returns the string's length.
 */

/* "0 B", "1023 B", "1.0 KiB", "99.9 MiB", "100 MiB", "1.5 GiB"... */
size_t progress_human(char *buf, size_t len, uint64_t bytes);

/* "0:42", "59:59", "1:00:00", "99:59:59". */
size_t progress_duration(char *buf, size_t len, uint64_t secs);

/*
 * Seconds left at rate bytes/s, or -1 when that is not meaningful: no
 * rate (below 1 byte/s), nothing left, or over 100 hours.  Transfers of
 * unknown size count as the mean size of the finished downloads
 * (done_bytes / done_count); with none finished there is no ETA.
 */
int64_t progress_eta(const struct progress_work *w, uint64_t done_bytes,
                     uint64_t done_count, double rate);

/*
 * Copies src into buf made safe for a terminal (see above) and cut to at
 * most cols columns.  A cut keeps the end behind "..." when keep_tail
 * (file names end paths), else the start.  Returns the columns used; the
 * string's length in bytes may be more.
 */
unsigned progress_fit(char *buf, size_t len, const char *src, unsigned cols,
                      bool keep_tail);

/*
 * "[done/total] N ok, N dup, N skipped, N failed  BYTES  RATE/s  ETA T",
 * rate omitted when < 0 and ETA when eta < 0; cut to cols columns.
 */
size_t progress_status_line(char *buf, size_t len,
                            const struct corral_stats *s, double rate,
                            int64_t eta, unsigned cols);

/*
 * "  PATH    45%   1.2 MiB/s": the path (the URL when path is NULL), the
 * percentage (bytes received when the size is unknown), "try N" from the
 * second attempt, the rate (omitted when < 0).  The path is padded or cut
 * at the front to fill cols, up to PROGRESS_NAME_COLS columns: the line is
 * exactly cols wide unless the terminal is wider than that needs.  Below
 * about 32 columns only the path is shown.
 */
size_t progress_transfer_line(char *buf, size_t len,
                              const struct corral_transfer *t, double rate,
                              unsigned cols);

#endif /* CORRAL_PROGRESS_H */
