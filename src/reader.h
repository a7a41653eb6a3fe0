/*
 * Reader: streams a URL list from a file descriptor on the loop and hands
 * it over line by line, so downloads start while a pipe is still being
 * written.  Regular files are read with uv_fs_read (the thread pool);
 * pipes, sockets and terminals with a uv stream on a dup of the fd.
 *
 * Calling sequence:
 *   reader_start(&r, loop, fd, on_line, on_end, data)
 *   on_line(...) for every line; on_end(r, err, data) once at EOF or error
 *   reader_pause(r) / reader_resume(r)   any time before on_end
 *   reader_close(r)   after on_end, or earlier to stop reading (then
 *                     on_end is not called); frees r from the loop
 *
 * The fd stays the caller's.  Lines are borrowed for the on_line call.
 */
#ifndef CORRAL_READER_H
#define CORRAL_READER_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

struct reader;

typedef void (*reader_line_cb)(char *line, size_t len, unsigned lineno,
                               bool too_long, void *data);
typedef void (*reader_end_cb)(struct reader *r, int err, void *data);

/* 0, or a negative libuv/errno code (then no callback is ever called). */
int reader_start(struct reader **out, uv_loop_t *loop, int fd,
                 reader_line_cb on_line, reader_end_cb on_end, void *data);
void reader_close(struct reader *r);

/*
 * Stops reading after the chunk at hand (its lines are still delivered),
 * and starts again.  For back-pressure: a huge list is read only as fast
 * as it is downloaded.
 */
void reader_pause(struct reader *r);
void reader_resume(struct reader *r);

#endif
