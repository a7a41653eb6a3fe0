/*
 * Reader: feeds bytes from an fd into the line splitter, from whichever
 * libuv primitive suits the fd.  Its memory is released only once libuv
 * no longer refers to it: after the stream's close callback, or after the
 * last file read request came back.
 */
#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "listfile.h"

#define READ_SIZE (64 * 1024)

struct reader {
  union {
    uv_pipe_t pipe;
    uv_tty_t tty;
  } stream;
  uv_fs_t req;
  uv_loop_t *loop;
  struct listfile_splitter splitter;
  reader_line_cb on_line;
  reader_end_cb on_end;
  void *data;
  int fd;
  bool is_stream;
  bool reading; /* a uv_fs_read is in flight */
  bool closing;
  bool paused;
  bool ended;    /* on_end was called */
  bool feeding;  /* inside the splitter: resume only clears paused */
  char buf[READ_SIZE];
};

static void split_line(char *line, size_t len, unsigned lineno, bool too_long,
                       void *data)
{
  struct reader *r = data;

  if (!r->closing)
    r->on_line(line, len, lineno, too_long, r->data);
}

static void finish(struct reader *r, int err)
{
  r->ended = true;
  if (!err)
    listfile_splitter_finish(&r->splitter);
  if (!r->closing)
    r->on_end(r, err, r->data);
}

static void destroy(struct reader *r)
{
  listfile_splitter_release(&r->splitter);
  free(r);
}

static void on_stream_closed(uv_handle_t *handle)
{
  destroy(handle->data);
}

static void on_file_read(uv_fs_t *req);

static int feed(struct reader *r, const char *buf, size_t len)
{
  int err;

  r->feeding = true;
  err = listfile_splitter_feed(&r->splitter, buf, len);
  r->feeding = false;
  return err;
}

static int read_more(struct reader *r)
{
  uv_buf_t b = uv_buf_init(r->buf, sizeof(r->buf));
  int err = uv_fs_read(r->loop, &r->req, r->fd, &b, 1, -1, on_file_read);

  r->reading = !err;
  return err;
}

static void on_file_read(uv_fs_t *req)
{
  struct reader *r = req->data;
  ssize_t n = req->result;

  uv_fs_req_cleanup(req);
  r->reading = false;
  if (r->closing) {
    destroy(r);
    return;
  }
  if (n > 0 && feed(r, r->buf, (size_t)n))
    n = -ENOMEM;
  if (n > 0 && r->paused)
    return; /* reader_resume() reads on */
  if (n > 0 && !(n = read_more(r)))
    return;
  finish(r, (int)n);
}

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
  struct reader *r = handle->data;

  (void)hint;
  *buf = uv_buf_init(r->buf, sizeof(r->buf));
}

static void on_stream_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
  struct reader *r = stream->data;

  if (n > 0 && feed(r, buf->base, (size_t)n))
    n = -ENOMEM;
  if (n >= 0) {
    if (r->paused)
      uv_read_stop(stream);
    return;
  }
  uv_read_stop(stream);
  finish(r, n == UV_EOF ? 0 : (int)n);
}

static int open_stream(struct reader *r, uv_handle_type type)
{
  int fd = dup(r->fd), err;
  uv_stream_t *s = (uv_stream_t *)&r->stream;

  if (fd < 0)
    return -errno;
  /* libuv closes the fd it was given: give it a duplicate. */
  if (type == UV_TTY)
    err = uv_tty_init(r->loop, &r->stream.tty, fd, 1);
  else if (!(err = uv_pipe_init(r->loop, &r->stream.pipe, 0)))
    err = uv_pipe_open(&r->stream.pipe, fd);
  if (err) {
    close(fd);
    return err;
  }
  r->is_stream = true;
  s->data = r;
  return uv_read_start(s, on_alloc, on_stream_read);
}

int reader_start(struct reader **out, uv_loop_t *loop, int fd,
                 reader_line_cb on_line, reader_end_cb on_end, void *data)
{
  struct reader *r = calloc(1, sizeof(*r));
  uv_handle_type type = uv_guess_handle(fd);
  int err;

  *out = NULL;
  if (!r)
    return -ENOMEM;
  r->loop = loop;
  r->fd = fd;
  r->on_line = on_line;
  r->on_end = on_end;
  r->data = data;
  r->req.data = r;
  listfile_splitter_init(&r->splitter, split_line, r);
  if (type == UV_NAMED_PIPE || type == UV_TTY || type == UV_TCP) {
    err = open_stream(r, type);
    if (err && r->is_stream) {
      r->closing = true;
      uv_close((uv_handle_t *)&r->stream, on_stream_closed);
      return err;
    }
  }
  else
    err = read_more(r);
  if (err) {
    destroy(r);
    return err;
  }
  *out = r;
  return 0;
}

void reader_pause(struct reader *r)
{
  r->paused = true;
}

void reader_resume(struct reader *r)
{
  int err;

  if (!r->paused || r->closing || r->ended)
    return;
  r->paused = false;
  if (r->feeding)
    return; /* the callback feeding us goes on reading */
  if (r->is_stream)
    err = uv_read_start((uv_stream_t *)&r->stream, on_alloc, on_stream_read);
  else if (r->reading)
    return; /* the read in flight goes on by itself */
  else
    err = read_more(r);
  if (err)
    finish(r, err);
}

void reader_close(struct reader *r)
{
  if (!r || r->closing)
    return;
  r->closing = true;
  if (r->is_stream)
    uv_close((uv_handle_t *)&r->stream, on_stream_closed);
  else if (!r->reading)
    destroy(r);
}
