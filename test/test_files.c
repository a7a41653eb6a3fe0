/*
 * Output-file guarantees (issue 4, SPEC "Output files") against the real
 * loopback test server and real files: hostile URL paths, out= values,
 * Content-Disposition names and planted symlinks never lead a write out of
 * the output dir; the mirror layout; sha256=; collisions; skip, overwrite
 * and mtimes.  Library cases feed corral_add and run the loop; CLI cases
 * run the real binary ($CORRAL_BIN).  Each test forks and gets a fresh
 * server and this tree, where only jail/out (and jail/out2) belong to
 * corral:
 *
 *   BASE/jail/out       the output dir (BASE/jail/out2 for a second run)
 *   BASE/sentinel       an empty dir outside it: must stay empty, mtime too
 *   BASE/in             input lists
 *   BASE/victim.txt     an outside file some tests point links at
 *
 * so "../x" lands in jail/ and "../../x" in BASE/, where it would be seen.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <uv.h>

#include "corral.h"
#include "harness.h"
#include "testsrv.h"

#define MAX_LINES 64

/* One library entry: target on port index port, with optional fields. */
struct ent {
  unsigned port;
  const char *target;
  const char *out;
  const char *sha256;
};

/* What a walk of the output dir found. */
struct tree {
  unsigned files, dirs, links, parts, bad_names;
};

static struct testsrv srv;
static char base[64], jail[128], out[160], out2[160], sentinel[128];
static char indir[128], victim[128];
static struct stat sentinel_st;
static struct harness_lib lib;
static char err_text[1 << 16];

static void setup(void)
{
  harness_setup(&srv, 3, base, sizeof(base), "files");
  snprintf(jail, sizeof(jail), "%s/jail", base);
  snprintf(out, sizeof(out), "%s/out", jail);
  snprintf(out2, sizeof(out2), "%s/out2", jail);
  snprintf(sentinel, sizeof(sentinel), "%s/sentinel", base);
  snprintf(indir, sizeof(indir), "%s/in", base);
  snprintf(victim, sizeof(victim), "%s/victim.txt", base);
  ck_assert_int_eq(mkdir(jail, 0777), 0);
  ck_assert_int_eq(mkdir(out, 0777), 0);
  ck_assert_int_eq(mkdir(sentinel, 0777), 0);
  ck_assert_int_eq(mkdir(indir, 0777), 0);
  ck_assert_int_eq(stat(sentinel, &sentinel_st), 0);
  harness_lib_init(&lib, MAX_LINES);
}

static void teardown(void)
{
  harness_lib_release(&lib);
  harness_teardown(&srv, base);
}

/* ---- helpers: URLs, files, the tree ------------------------------------- */

static const char *url(unsigned port_index, const char *target)
{
  return harness_url(&srv, port_index, target);
}

/* "127.0.0.1_PORT" of port index i, the mirror layout's host dir. */
static const char *host_dir(unsigned i)
{
  static char buf[4][32];

  snprintf(buf[i % 4], sizeof(buf[0]), "127.0.0.1_%u", srv.port[i]);
  return buf[i % 4];
}

static int file_is(const char *path, const char *text)
{
  char buf[256];
  FILE *f = fopen(path, "r");
  size_t n;

  if (!f)
    return 0;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return !strcmp(buf, text);
}

/* Is d/name a regular file (lstat: a symlink is not) with target's body? */
static int reg_matches(const char *d, const char *name, const char *target,
                       size_t n)
{
  char path[800];
  struct stat st;

  snprintf(path, sizeof(path), "%s/%s", d, name);
  if (lstat(path, &st) || !S_ISREG(st.st_mode))
    return 0;
  return testsrv_file_matches(path, target, n);
}

static bool is_bad_name(const char *name)
{
  const unsigned char *p;

  for (p = (const unsigned char *)name; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return true;
  return false;
}

static void walk(const char *path, struct tree *t)
{
  DIR *d = opendir(path);
  struct dirent *de;
  char sub[1024];
  struct stat st;
  size_t len;

  ck_assert_msg(d != NULL, "opendir %s", path);
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
    ck_assert_int_eq(lstat(sub, &st), 0);
    t->bad_names += is_bad_name(de->d_name);
    len = strlen(de->d_name);
    t->parts += len > 5 && !strcmp(de->d_name + len - 5, ".part");
    if (S_ISLNK(st.st_mode))
      t->links++;
    else if (S_ISDIR(st.st_mode)) {
      t->dirs++;
      walk(sub, t);
    }
    else {
      ck_assert_msg(S_ISREG(st.st_mode), "%s is not a file", sub);
      t->files++;
    }
  }
  closedir(d);
}

/*
 * Checks the output dir d: `files` regular files, `links` symlinks (the
 * planted ones), no .part left, no name with a control byte.
 */
static void check_tree(const char *d, unsigned files, unsigned links)
{
  struct tree t = {0, 0, 0, 0, 0};

  walk(d, &t);
  ck_assert_uint_eq(t.files, files);
  ck_assert_uint_eq(t.links, links);
  ck_assert_uint_eq(t.parts, 0);
  ck_assert_uint_eq(t.bad_names, 0);
}

/* Asserts that dir d holds nothing but names from allowed (NULL-ended). */
static void only_has(const char *d, const char *const *allowed)
{
  DIR *dir = opendir(d);
  struct dirent *de;
  unsigned i;
  bool ok;

  ck_assert_ptr_nonnull(dir);
  while ((de = readdir(dir))) {
    ok = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    for (i = 0; !ok && allowed[i]; i++)
      ok = !strcmp(de->d_name, allowed[i]);
    ck_assert_msg(ok, "unexpected %s/%s", d, de->d_name);
  }
  closedir(dir);
}

/*
 * Nothing was created outside the output dirs: the sentinel is empty and
 * its mtime never moved (so nothing was even created and removed there);
 * BASE and BASE/jail hold only what the fixture and the test made.
 */
static void check_outside_untouched(void)
{
  const char *none[] = {NULL};
  const char *in_base[] = {"jail", "sentinel", "in", "victim.txt", NULL};
  const char *in_jail[] = {"out", "out2", NULL};
  struct stat st;

  only_has(sentinel, none);
  ck_assert_int_eq(stat(sentinel, &st), 0);
  ck_assert(st.st_mtim.tv_sec == sentinel_st.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == sentinel_st.st_mtim.tv_nsec);
  ck_assert(st.st_nlink == sentinel_st.st_nlink);
  only_has(base, in_base);
  only_has(jail, in_jail);
}

static void sha256_hex(const unsigned char *data, size_t n, char hex[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0, i;

  ck_assert_int_eq(EVP_Digest(data, n, md, &len, EVP_sha256(), NULL), 1);
  ck_assert_uint_eq(len, 32);
  for (i = 0; i < len; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* sha256 of the n-byte body the server sends for target, lowercase hex. */
static void body_sha256(const char *target, size_t n, char hex[65])
{
  unsigned char *buf = malloc(n);

  ck_assert_ptr_nonnull(buf);
  testsrv_body(target, buf, n);
  sha256_hex(buf, n, hex);
  free(buf);
}

/* ---- helpers: the library ----------------------------------------------- */

static void opts_for_test(struct corral_opts *o, const char *d)
{
  harness_opts(&lib, o, d);
  o->retries = 0;
  o->jobs = 8;
}

/* Runs ents (line i + 1 each) to completion; every add must succeed. */
static void run(const struct corral_opts *o, const struct ent *ents,
                unsigned n)
{
  struct corral_entry e[MAX_LINES];
  unsigned i;

  /* At most 64: harness_url() keeps the last 64 URLs. */
  ck_assert_uint_le(n, MAX_LINES);
  memset(e, 0, sizeof(e));
  for (i = 0; i < n; i++) {
    e[i].url = url(ents[i].port, ents[i].target);
    e[i].out = ents[i].out;
    e[i].sha256 = ents[i].sha256;
    e[i].line = i + 1;
  }
  harness_run(&lib, o, e, n);
}

/* ---- helpers: the binary ------------------------------------------------ */

/*
 * Runs corral with args (NULL-ended, without argv[0]) and input (small,
 * or NULL) on its stdin; stderr goes to err_text.  Returns the exit code.
 */
static int run_bin(char *const *args, const char *input)
{
  return harness_run_bin(args, input, NULL, err_text, sizeof(err_text));
}

static bool has(const char *needle)
{
  return strstr(err_text, needle) != NULL;
}

/* ---- 1. hostile URL paths ----------------------------------------------- */

/*
 * sent: the normalized target the server receives (NULL: same as target);
 * n: its body size; flat: the flat name, NULL when the key is a 404; mirror:
 * the path under the host dir.
 */
struct hostile {
  const char *target, *sent;
  size_t n;
  const char *flat, *mirror;
};

static const struct hostile hostile[] = {
    /* Dot-segments are removed from the key: "/x" and "/bytes/" are 404. */
    {"/bytes/10/%2e%2e/%2e%2e/x", "/x", 0, NULL, NULL},
    {"/bytes/10/%2e%2e", "/bytes/", 0, NULL, NULL},
    {"/bytes/10/a/b/%2e%2e/%2e%2e/y", "/bytes/10/y", 10, "y", "bytes/10/y"},
    {"/bytes/10/..%2F..%2Fx", NULL, 10, "..%2F..%2Fx", "bytes/10/..%2F..%2Fx"},
    {"/bytes/13/%2E%2E%2Fup", "/bytes/13/..%2Fup", 13, "..%2Fup",
     "bytes/13/..%2Fup"},
    {"/bytes/12/..%2F/f.bin", NULL, 12, "f.bin", "bytes/12/..%2F/f.bin"},
    {"/bytes/10/a%00b", NULL, 10, "a%00b", "bytes/10/a%00b"},
    {"/bytes/10/a%0Ab", NULL, 10, "a%0Ab", "bytes/10/a%0Ab"},
    {"/bytes/15/a%7fb%09", "/bytes/15/a%7Fb%09", 15, "a%7Fb%09",
     "bytes/15/a%7Fb%09"},
    {"/bytes/14/%252e%252e", NULL, 14, "%2e%2e", "bytes/14/%2e%2e"},
    /* Line 2's key "/bytes/" claimed the flat "index.html" first. */
    {"/bytes/11/z/%2e%2e/", "/bytes/11/", 11, "index.1.html",
     "bytes/11/index.html"},
    {"/bytes/10/", NULL, 10, "index.2.html", "bytes/10/index.html"},
    {"/bytes/10/.corral", NULL, 10, "%2Ecorral", "bytes/10/%2Ecorral"},
};

static void check_hostile(enum corral_layout layout)
{
  enum { N = sizeof(hostile) / sizeof(hostile[0]) };
  struct ent ents[N];
  struct corral_opts o;
  unsigned i, files = 0;
  char want[300];

  for (i = 0; i < N; i++)
    ents[i] = (struct ent){0, hostile[i].target, NULL, NULL};
  opts_for_test(&o, out);
  o.layout = layout;
  run(&o, ents, N);
  for (i = 0; i < N; i++) {
    const struct hostile *h = &hostile[i];
    const char *sent = h->sent ? h->sent : h->target;

    ck_assert_int_eq(testsrv_requests(&srv, sent), 1);
    if (!h->flat) {
      ck_assert_int_eq(lib.got[i + 1].status, CORRAL_STATUS_FAILED);
      ck_assert_int_eq(lib.got[i + 1].http_status, 404);
      continue;
    }
    if (layout == CORRAL_LAYOUT_FLAT)
      snprintf(want, sizeof(want), "%s", h->flat);
    else
      snprintf(want, sizeof(want), "%s/%s", host_dir(0), h->mirror);
    ck_assert_int_eq(lib.got[i + 1].status, CORRAL_STATUS_OK);
    ck_assert_str_eq(lib.got[i + 1].path, want);
    ck_assert_msg(reg_matches(out, want, sent, h->n), "%s", want);
    files++;
  }
  check_tree(out, files, 0);
  check_outside_untouched();
}

START_TEST(test_hostile_url_paths_flat)
{
  check_hostile(CORRAL_LAYOUT_FLAT);
}
END_TEST

START_TEST(test_hostile_url_paths_mirror)
{
  check_hostile(CORRAL_LAYOUT_MIRROR);
}
END_TEST

/* ---- 2. hostile out= values --------------------------------------------- */

static void out_list(char *buf, size_t len)
{
  snprintf(buf, len,
           "%s out=%s/abs.bin\n"
           "%s out=../../sentinel/up.bin\n"
           "%s out=a/../../sentinel/x.bin\n"
           "%s out=a/./b/c.bin\n"
           "%s out=a/..\n",
           url(0, "/bytes/21/abs.bin"), sentinel, url(0, "/bytes/22/up.bin"),
           url(0, "/bytes/23/x.bin"), url(0, "/bytes/24/c.bin"),
           url(0, "/bytes/25/d.bin"));
}

/* What every out= run must show; name is the input's name in messages. */
static void check_out_rejected(const char *name)
{
  const char *want[] = {"1: out= is absolute", "2: out= climbs out",
                        "3: out= climbs out", "5: out="};
  char line[64];
  unsigned i;

  for (i = 0; i < 4; i++) {
    snprintf(line, sizeof(line), "%s:%s", name, want[i]);
    ck_assert_msg(has(line), "no '%s' in: %s", line, err_text);
  }
  snprintf(line, sizeof(line), "%s:4:", name);
  ck_assert_msg(!has(line), "%s", err_text);
  ck_assert_msg(has("1 downloaded, 0 duplicate, 0 skipped, 4 failed"), "%s",
                err_text);
  ck_assert(reg_matches(out, "a/b/c.bin", "/bytes/24/c.bin", 24));
  ck_assert_int_eq(testsrv_total(&srv), 1);
  check_tree(out, 1, 0);
  check_outside_untouched();
}

START_TEST(test_out_hostile_in_list_file)
{
  char list[200], text[4096];
  char *args[] = {"-o", out, "-i", list, NULL};

  snprintf(list, sizeof(list), "%s/list.txt", indir);
  out_list(text, sizeof(text));
  harness_writef(list, "%s", text);
  ck_assert_int_eq(run_bin(args, NULL), 1);
  check_out_rejected("list.txt");
}
END_TEST

START_TEST(test_out_hostile_on_stdin)
{
  char text[4096];
  char *args[] = {"-o", out, "-i", "-", NULL};

  out_list(text, sizeof(text));
  ck_assert_int_eq(run_bin(args, text), 1);
  check_out_rejected("-");
}
END_TEST

/* corral_add refuses them; corral_read reports them as FILE:LINE. */
START_TEST(test_out_hostile_library)
{
  const char *bad[] = {NULL, "../../sentinel/up.bin", "a/../../sentinel/x.bin",
                       "..", "a/.."};
  char abs[200], list[200], text[4096];
  struct corral_entry e;
  struct corral_opts o;
  struct corral *c;
  const char *why;
  uv_loop_t loop;
  unsigned i;
  int fd;

  snprintf(abs, sizeof(abs), "%s/abs.bin", sentinel);
  bad[0] = abs;
  snprintf(list, sizeof(list), "%s/list.txt", indir);
  out_list(text, sizeof(text));
  harness_writef(list, "%s", text);
  opts_for_test(&o, out);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(corral_new(&c, &loop, &o), 0);
  for (i = 0; i < 5; i++) {
    memset(&e, 0, sizeof(e));
    e.url = url(1, "/bytes/26/lib.bin");
    e.out = bad[i];
    e.line = 40 + i;
    why = NULL;
    ck_assert_int_eq(corral_add(c, &e, &why), CORRAL_EINPUT);
    ck_assert_msg(why && *why, "%s", bad[i]);
  }
  memset(&e, 0, sizeof(e));
  e.url = url(1, "/bytes/26/lib.bin");
  e.out = "x/./y//lib.bin";
  e.line = 50;
  ck_assert_int_eq(corral_add(c, &e, NULL), 0);
  ck_assert_int_ge(fd = open(list, O_RDONLY), 0);
  ck_assert_int_eq(corral_read(c, fd, "list.txt"), 0);
  corral_input_end(c);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  corral_free(c);
  close(fd);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  ck_assert_uint_eq(lib.n_done, 6); /* five list lines and line 50 */
  ck_assert_uint_eq(lib.strays, 0);
  for (i = 1; i <= 5; i++)
    ck_assert_int_eq(lib.got[i].seen, 1); /* each ended exactly once */
  ck_assert_int_eq(lib.got[50].seen, 1);
  ck_assert_str_eq(lib.got[50].path, "x/y/lib.bin");
  ck_assert_int_eq(lib.got[50].status, CORRAL_STATUS_OK);
  ck_assert_str_eq(lib.got[4].path, "a/b/c.bin");
  for (i = 1; i <= 5; i++) {
    char prefix[32];

    if (i == 4)
      continue;
    snprintf(prefix, sizeof(prefix), "list.txt:%u: out=", i);
    ck_assert_int_eq(lib.got[i].status, CORRAL_STATUS_FAILED);
    ck_assert_msg(!strncmp(lib.got[i].msg, prefix, strlen(prefix)), "%s",
                  lib.got[i].msg);
  }
  ck_assert(reg_matches(out, "x/y/lib.bin", "/bytes/26/lib.bin", 26));
  ck_assert_int_eq(testsrv_total(&srv), 2);
  check_tree(out, 2, 0);
  check_outside_untouched();
}
END_TEST

/* ---- 3. planted symlinks ------------------------------------------------ */

static void plant(const char *target, const char *name)
{
  char path[600];

  snprintf(path, sizeof(path), "%s/%s", out, name);
  ck_assert_int_eq(symlink(target, path), 0);
}

/* A failure of a write path met through a symlink, with a clear reason. */
static void check_blocked(unsigned line, const char *path)
{
  const struct harness_got *g = &lib.got[line];

  ck_assert_int_eq(g->status, CORRAL_STATUS_FAILED);
  ck_assert_msg(g->err == -ELOOP || g->err == -ENOTDIR, "%d", g->err);
  ck_assert_msg(strstr(g->msg, strerror(-g->err)), "%s", g->msg);
  ck_assert_msg(strstr(g->msg, path), "%s", g->msg);
}

START_TEST(test_symlink_dir_inside_output_dir)
{
  const struct ent ents[] = {
      {0, "/bytes/30/x.bin", "link/x.bin", NULL},
      {0, "/bytes/31/y.bin", "link/deeper/y.bin", NULL},
      {0, "/bytes/32/z.bin", NULL, NULL},
      /* A duplicate placed through the link: the copy path, not a sink. */
      {0, "/bytes/32/./z.bin", "link/z.bin", NULL},
  };
  struct corral_opts o;

  plant(sentinel, "link");
  opts_for_test(&o, out);
  o.jobs = 1;
  run(&o, ents, 4);
  check_blocked(1, "link/x.bin");
  check_blocked(2, "link/deeper/y.bin");
  ck_assert_int_eq(lib.got[3].status, CORRAL_STATUS_OK);
  check_blocked(4, "link/z.bin");
  ck_assert(reg_matches(out, "z.bin", "/bytes/32/z.bin", 32));
  check_tree(out, 1, 1);
  check_outside_untouched();
}
END_TEST

START_TEST(test_symlink_host_dir_in_mirror)
{
  const struct ent ents[] = {
      {0, "/bytes/33/m.bin", NULL, NULL},
      {1, "/bytes/34/m.bin", NULL, NULL},
  };
  struct corral_opts o;
  char want[200];

  plant(sentinel, host_dir(0));
  opts_for_test(&o, out);
  o.layout = CORRAL_LAYOUT_MIRROR;
  run(&o, ents, 2);
  snprintf(want, sizeof(want), "%s/bytes/33/m.bin", host_dir(0));
  check_blocked(1, want);
  snprintf(want, sizeof(want), "%s/bytes/34/m.bin", host_dir(1));
  ck_assert_int_eq(lib.got[2].status, CORRAL_STATUS_OK);
  ck_assert(reg_matches(out, want, "/bytes/34/m.bin", 34));
  check_tree(out, 1, 1);
  check_outside_untouched();
}
END_TEST

START_TEST(test_symlink_at_final_name_is_replaced)
{
  const struct ent ents[] = {
      {0, "/bytes/35/f.bin", NULL, NULL},
      {0, "/bytes/36/h.bin", NULL, NULL},
  };
  struct corral_opts o;
  char dangling[300];

  snprintf(dangling, sizeof(dangling), "%s/f.bin", sentinel);
  harness_writef(victim, "precious");
  plant(dangling, "f.bin");
  plant(victim, "h.bin");
  opts_for_test(&o, out);
  o.overwrite = true;
  run(&o, ents, 2);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  ck_assert_int_eq(lib.got[2].status, CORRAL_STATUS_OK);
  ck_assert(reg_matches(out, "f.bin", "/bytes/35/f.bin", 35));
  ck_assert(reg_matches(out, "h.bin", "/bytes/36/h.bin", 36));
  ck_assert(file_is(victim, "precious"));
  check_tree(out, 2, 0);
  check_outside_untouched();
}
END_TEST

START_TEST(test_symlink_at_part_is_not_followed)
{
  const struct ent ents[] = {
      {0, "/bytes/37/g.bin", NULL, NULL},
      {0, "/bytes/5000/k.bin", NULL, NULL},
  };
  struct corral_opts o;
  char dangling[300];

  snprintf(dangling, sizeof(dangling), "%s/g.bin.part", sentinel);
  harness_writef(victim, "precious");
  plant(dangling, "g.bin.part");
  plant(victim, "k.bin.part"); /* would be "resumed" if it were followed */
  opts_for_test(&o, out);
  run(&o, ents, 2);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  ck_assert_int_eq(lib.got[2].status, CORRAL_STATUS_OK);
  ck_assert(reg_matches(out, "g.bin", "/bytes/37/g.bin", 37));
  ck_assert(reg_matches(out, "k.bin", "/bytes/5000/k.bin", 5000));
  ck_assert(!harness_exists(out, "g.bin.part"));
  ck_assert(!harness_exists(out, "k.bin.part"));
  ck_assert(file_is(victim, "precious"));
  check_tree(out, 2, 0);
  check_outside_untouched();
}
END_TEST

/* A .part that is a hard link to an outside file is not appended to. */
START_TEST(test_hardlink_at_part_is_not_written)
{
  const struct ent ents[] = {{0, "/bytes/50/p.bin", NULL, NULL}};
  struct corral_opts o;
  char part[300];

  snprintf(part, sizeof(part), "%s/p.bin.part", out);
  harness_writef(victim, "precious");
  ck_assert_int_eq(link(victim, part), 0);
  opts_for_test(&o, out);
  run(&o, ents, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  ck_assert(reg_matches(out, "p.bin", "/bytes/50/p.bin", 50));
  ck_assert(file_is(victim, "precious"));
  check_tree(out, 1, 0);
  check_outside_untouched();
}
END_TEST

/* ---- 4. Content-Disposition --------------------------------------------- */

START_TEST(test_content_disposition_names)
{
  const struct ent ents[] = {
      {0, "/cd/..%2F..%2Fevil.sh/a", NULL, NULL},
      {0, "/cd5987/%E2%82%AC%20rates.txt/b", NULL, NULL},
      {0, "/bytes/64/plain.bin", NULL, NULL},
      {0, "/cd/..%2F/c", NULL, NULL},
      /* filename="..\\..\\win.txt": a quoted-string with backslashes */
      {0, "/cd/..%5C%5C..%5C%5Cwin.txt/d", NULL, NULL},
      {0, "/cd5987/..%2F..%2Fsneaky.txt/e", NULL, NULL},
      {0, "/cd5987/..%2F/f", NULL, NULL},
      {0, "/cd/a%01b.txt/g", NULL, NULL},
  };
  const char *names[] = {"evil.sh",   "\xe2\x82\xac rates.txt",
                         "plain.bin", "c",
                         "win.txt",   "sneaky.txt",
                         "f",         "a%01b.txt"};
  struct corral_opts o;
  unsigned i;

  opts_for_test(&o, out);
  o.content_disposition = true;
  run(&o, ents, 8);
  for (i = 0; i < 8; i++) {
    ck_assert_int_eq(lib.got[i + 1].status, CORRAL_STATUS_OK);
    ck_assert_str_eq(lib.got[i + 1].path, names[i]);
    ck_assert_msg(reg_matches(out, names[i], ents[i].target, 64), "%s",
                  names[i]);
  }
  check_tree(out, 8, 0);
  check_outside_untouched();
}
END_TEST

START_TEST(test_content_disposition_cli)
{
  char *args[] = {"-o",
                  out,
                  "--content-disposition",
                  (char *)url(0, "/cd/..%2F..%2Fevil.sh/z"),
                  (char *)url(1, "/cd5987/%E2%82%AC%20rates.txt/y"),
                  NULL};

  ck_assert_int_eq(run_bin(args, NULL), 0);
  ck_assert(reg_matches(out, "evil.sh", "/cd/..%2F..%2Fevil.sh/z", 64));
  ck_assert(reg_matches(out, "\xe2\x82\xac rates.txt",
                        "/cd5987/%E2%82%AC%20rates.txt/y", 64));
  check_tree(out, 2, 0);
  check_outside_untouched();
}
END_TEST

/* A hostile header name in the mirror layout stays under the host dir. */
START_TEST(test_content_disposition_mirror)
{
  const struct ent ents[] = {{1, "/cd/..%2F..%2Fevil.sh/a", NULL, NULL}};
  struct corral_opts o;
  size_t len;

  opts_for_test(&o, out);
  o.layout = CORRAL_LAYOUT_MIRROR;
  o.content_disposition = true;
  run(&o, ents, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  len = strlen(lib.got[1].path);
  ck_assert_msg(!strncmp(lib.got[1].path, host_dir(1), strlen(host_dir(1))) &&
                    len > 8 && !strcmp(lib.got[1].path + len - 8, "/evil.sh"),
                "%s", lib.got[1].path);
  ck_assert(reg_matches(out, lib.got[1].path, ents[0].target, 64));
  check_tree(out, 1, 0);
  check_outside_untouched();
}
END_TEST

/* SPEC: an entry's path is its out=, else the layout's name. */
START_TEST(test_content_disposition_keeps_out)
{
  const struct ent ents[] = {{0, "/cd/ren.txt/b", "keep/mine.bin", NULL}};
  struct corral_opts o;

  opts_for_test(&o, out);
  o.content_disposition = true;
  run(&o, ents, 1);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  ck_assert_str_eq(lib.got[1].path, "keep/mine.bin");
  ck_assert(reg_matches(out, "keep/mine.bin", "/cd/ren.txt/b", 64));
  check_tree(out, 1, 0);
}
END_TEST

/*
 * A header name that matches a file already present (not written by this
 * run) must not replace it without --overwrite: skipped or numbered, the
 * present file keeps its bytes.
 */
START_TEST(test_content_disposition_keeps_present_file)
{
  const struct ent ents[] = {{0, "/cd/present.txt/q", NULL, NULL}};
  struct corral_opts o;
  char path[300];

  snprintf(path, sizeof(path), "%s/present.txt", out);
  harness_writef(path, "mine");
  opts_for_test(&o, out);
  o.content_disposition = true;
  run(&o, ents, 1);
  ck_assert_msg(file_is(path, "mine"), "present.txt was replaced");
  ck_assert_int_ne(lib.got[1].status, CORRAL_STATUS_FAILED);
  if (lib.got[1].status == CORRAL_STATUS_OK) {
    ck_assert_str_ne(lib.got[1].path, "present.txt");
    ck_assert(reg_matches(out, lib.got[1].path, ents[0].target, 64));
  }
  check_outside_untouched();
}
END_TEST

/* ---- 5. mirror layout of a three-host list ------------------------------ */

START_TEST(test_mirror_three_hosts)
{
  /* port, target as listed, target sent, size, path under the host dir */
  const struct {
    unsigned port;
    const char *target, *sent;
    size_t n;
    const char *path;
  } rows[] = {
      {0, "/bytes/100/a/b/name.bin", NULL, 100, "bytes/100/a/b/name.bin"},
      {1, "/bytes/100/a/b/name.bin", NULL, 100, "bytes/100/a/b/name.bin"},
      {2, "/bytes/100/a/b/name.bin", NULL, 100, "bytes/100/a/b/name.bin"},
      {0, "/bytes/200/q.bin?x=1&y=2", NULL, 200, "bytes/200/q.bin?x=1&y=2"},
      {1, "/bytes/300/dir/", NULL, 300, "bytes/300/dir/index.html"},
      {2, "/bytes/400/", NULL, 400, "bytes/400/index.html"},
      {0, "/bytes/500/a%20b/c%3Fd.bin", NULL, 500, "bytes/500/a b/c?d.bin"},
      {1, "/bytes/600/%7Euser/f.bin", "/bytes/600/~user/f.bin", 600,
       "bytes/600/~user/f.bin"},
  };
  enum { N = sizeof(rows) / sizeof(rows[0]) };
  char list[200], path[400], text[8192];
  char *args[] = {"--layout", "mirror", "-o", out, "-i", list, NULL};
  size_t len = 0;
  unsigned i;

  for (i = 0; i < N; i++)
    len += (size_t)snprintf(text + len, sizeof(text) - len, "%s\n",
                            url(rows[i].port, rows[i].target));
  /* The first line again, spelled another way: a duplicate. */
  snprintf(text + len, sizeof(text) - len, "%s\n",
           url(0, "/bytes/100/a/./b/name.bin#top"));
  snprintf(list, sizeof(list), "%s/list.txt", indir);
  harness_writef(list, "%s", text);
  ck_assert_int_eq(run_bin(args, NULL), 0);
  ck_assert_msg(has("8 downloaded, 1 duplicate, 0 skipped, 0 failed"), "%s",
                err_text);
  for (i = 0; i < N; i++) {
    const char *sent = rows[i].sent ? rows[i].sent : rows[i].target;

    snprintf(path, sizeof(path), "%s/%s", host_dir(rows[i].port),
             rows[i].path);
    ck_assert_msg(reg_matches(out, path, sent, rows[i].n), "%s", path);
  }
  ck_assert_int_eq(testsrv_total(&srv), N);
  check_tree(out, N, 0);
  check_outside_untouched();
}
END_TEST

/* ---- 6. sha256= --------------------------------------------------------- */

START_TEST(test_sha256_match_and_mismatch)
{
  char good[65], good_upper[65], want_bad[65], got_bad[65];
  struct ent ents[3] = {
      {0, "/bytes/1000/good.bin", NULL, NULL},
      {1, "/bytes/1000/bad.bin", NULL, NULL},
      {2, "/bytes/1000/named.bin", "sub/named.bin", NULL},
  };
  struct corral_opts o;
  unsigned i;

  body_sha256("/bytes/1000/good.bin", 1000, good);
  body_sha256("/bytes/1000/bad.bin", 1000, got_bad);
  body_sha256("/bytes/999/other", 999, want_bad);
  ck_assert_str_ne(got_bad, want_bad);
  for (i = 0; i < 65; i++)
    good_upper[i] =
        (char)(good[i] >= 'a' && good[i] <= 'f' ? good[i] - 32 : good[i]);
  ents[0].sha256 = good_upper; /* either case is accepted */
  ents[1].sha256 = want_bad;
  ents[2].sha256 = want_bad;
  opts_for_test(&o, out);
  run(&o, ents, 3);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  ck_assert(reg_matches(out, "good.bin", "/bytes/1000/good.bin", 1000));
  for (i = 2; i <= 3; i++) {
    ck_assert_int_eq(lib.got[i].status, CORRAL_STATUS_FAILED);
    ck_assert_int_eq(lib.got[i].err, CORRAL_ESHA256);
    ck_assert_int_eq(lib.got[i].attempts, 1); /* permanent: not retried */
    ck_assert_msg(strstr(lib.got[i].msg, "expected"), "%s", lib.got[i].msg);
    ck_assert_msg(strstr(lib.got[i].msg, "got"), "%s", lib.got[i].msg);
    ck_assert_msg(strstr(lib.got[i].msg, want_bad), "%s", lib.got[i].msg);
  }
  ck_assert_msg(strstr(lib.got[2].msg, got_bad), "%s", lib.got[2].msg);
  ck_assert(!harness_exists(out, "bad.bin"));
  ck_assert(!harness_exists(out, "bad.bin.part"));
  ck_assert(!harness_exists(out, "sub/named.bin"));
  ck_assert(!harness_exists(out, "sub/named.bin.part"));
  check_tree(out, 1, 0);
  check_outside_untouched();
}
END_TEST

START_TEST(test_sha256_conflict_reported_on_its_line)
{
  char good[65], other[65], list[200];
  char *args[] = {"-o", out, "-i", list, NULL};

  body_sha256("/bytes/1000/good.bin", 1000, good);
  body_sha256("/bytes/999/other", 999, other);
  snprintf(list, sizeof(list), "%s/list.txt", indir);
  harness_writef(list, "%s sha256=%s\n%s sha256=%s\n%s sha256=%s\n",
                 url(0, "/bytes/1000/good.bin"), good,
                 url(0, "/bytes/1000/./good.bin"), other,
                 url(0, "/bytes/1000/good.bin#same"), good);
  ck_assert_int_eq(run_bin(args, NULL), 1);
  ck_assert_msg(has("list.txt:2: "), "%s", err_text);
  ck_assert_msg(has("conflict") || has("differs"), "%s", err_text);
  ck_assert_msg(!has("list.txt:1:") && !has("list.txt:3:"), "%s", err_text);
  ck_assert_msg(has("1 downloaded, 1 duplicate, 0 skipped, 1 failed"), "%s",
                err_text);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/1000/good.bin"), 1);
  ck_assert_int_eq(testsrv_total(&srv), 1);
  ck_assert(reg_matches(out, "good.bin", "/bytes/1000/good.bin", 1000));
  check_tree(out, 1, 0);
}
END_TEST

/* ---- 7. collisions ------------------------------------------------------ */

static int same_file_content(const char *a, const char *b)
{
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int ca = 0, cb = 0, same = fa && fb;

  while (same && ca != EOF) {
    ca = getc(fa);
    cb = getc(fb);
    same = ca == cb;
  }
  if (fa)
    fclose(fa);
  if (fb)
    fclose(fb);
  return same;
}

/*
 * Runs ents twice, into out and into a fresh out2, and checks both runs
 * gave each line the expected path and the same bytes, each file holding
 * its own key's body (sizes[i] bytes of the sent target sent[i]).
 */
static void check_collisions(const struct corral_opts *base_opts,
                             const struct ent *ents, const char *const *want,
                             const char *const *sent, const size_t *sizes,
                             unsigned n)
{
  char first[MAX_LINES + 1][256], pa[800], pb[800];
  struct corral_opts o = *base_opts;
  unsigned i;

  o.output_dir = out;
  run(&o, ents, n);
  for (i = 1; i <= n; i++) {
    ck_assert_msg(lib.got[i].status != CORRAL_STATUS_FAILED, "%u: %s", i,
                  lib.got[i].msg);
    ck_assert_str_eq(lib.got[i].path, want[i - 1]);
    ck_assert_msg(reg_matches(out, want[i - 1], sent[i - 1], sizes[i - 1]),
                  "%s", want[i - 1]);
    strcpy(first[i], lib.got[i].path);
  }
  o.output_dir = out2;
  run(&o, ents, n);
  for (i = 1; i <= n; i++) {
    ck_assert_str_eq(lib.got[i].path, first[i]);
    snprintf(pa, sizeof(pa), "%s/%s", out, first[i]);
    snprintf(pb, sizeof(pb), "%s/%s", out2, first[i]);
    ck_assert_msg(same_file_content(pa, pb), "%s", first[i]);
  }
}

START_TEST(test_collisions_flat)
{
  const struct ent ents[] = {
      {0, "/bytes/10/a.tar.gz", NULL, NULL},
      {1, "/bytes/20/a.tar.gz", NULL, NULL},
      {2, "/bytes/30/x/a.tar.gz", NULL, NULL},
      {0, "/bytes/40/data", NULL, NULL},
      {1, "/bytes/50/data", NULL, NULL},
      {0, "/bytes/60/.hidden", NULL, NULL},
      {1, "/bytes/70/.hidden", NULL, NULL},
      {0, "/bytes/80/c.bin", NULL, NULL},
      {1, "/bytes/90/other.bin", "c.bin", NULL}, /* out= meets a URL name */
      {0, "/bytes/95/first.bin", "d.bin", NULL},
      {2, "/bytes/96/d.bin", NULL, NULL},      /* a URL name meets an out= */
      {2, "/bytes/97/a.tar.1.gz", NULL, NULL}, /* meets a numbered name */
      {0, "/bytes/10/./a.tar.gz", NULL, NULL}, /* duplicate: shares line 1 */
  };
  const char *want[] = {"a.tar.gz", "a.tar.1.gz", "a.tar.2.gz", "data",
                        "data.1",   ".hidden",    ".hidden.1",  "c.bin",
                        "c.1.bin",  "d.bin",      "d.1.bin",    "a.tar.1.1.gz",
                        "a.tar.gz"};
  const char *sent[] = {
      "/bytes/10/a.tar.gz",  "/bytes/20/a.tar.gz", "/bytes/30/x/a.tar.gz",
      "/bytes/40/data",      "/bytes/50/data",     "/bytes/60/.hidden",
      "/bytes/70/.hidden",   "/bytes/80/c.bin",    "/bytes/90/other.bin",
      "/bytes/95/first.bin", "/bytes/96/d.bin",    "/bytes/97/a.tar.1.gz",
      "/bytes/10/a.tar.gz"};
  const size_t sizes[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 96, 97, 10};
  struct corral_opts o;

  opts_for_test(&o, out);
  check_collisions(&o, ents, want, sent, sizes, 13);
  ck_assert_int_eq(lib.got[13].status, CORRAL_STATUS_DUPLICATE);
  ck_assert_int_eq(testsrv_total(&srv), 24); /* 12 keys, twice */
  check_tree(out, 12, 0);
  check_tree(out2, 12, 0);
  check_outside_untouched();
}
END_TEST

START_TEST(test_collisions_mirror)
{
  char out3[200], w[5][200];
  const char *want[5];
  const struct ent ents[] = {
      {0, "/bytes/10/%2Fq?a=/", NULL, NULL},
      {0, "/bytes/10/%252Fq?a=%2F", NULL, NULL}, /* decodes to the same */
      {0, "/bytes/20/m.bin", out3, NULL},        /* out= takes a mirror path */
      {0, "/bytes/21/m.bin", NULL, NULL},
      {1, "/bytes/10/%2Fq?a=/", NULL, NULL}, /* other host: no collision */
  };
  const char *sent[] = {"/bytes/10/%2Fq?a=/", "/bytes/10/%252Fq?a=%2F",
                        "/bytes/20/m.bin", "/bytes/21/m.bin",
                        "/bytes/10/%2Fq?a=/"};
  const size_t sizes[] = {10, 10, 20, 21, 10};
  struct corral_opts o;
  unsigned i;

  snprintf(out3, sizeof(out3), "%s/bytes/21/m.bin", host_dir(0));
  snprintf(w[0], sizeof(w[0]), "%s/bytes/10/%%2Fq?a=%%2F", host_dir(0));
  snprintf(w[1], sizeof(w[1]), "%s/bytes/10/%%2Fq?a=%%2F.1", host_dir(0));
  snprintf(w[2], sizeof(w[2]), "%s", out3);
  snprintf(w[3], sizeof(w[3]), "%s/bytes/21/m.1.bin", host_dir(0));
  snprintf(w[4], sizeof(w[4]), "%s/bytes/10/%%2Fq?a=%%2F", host_dir(1));
  for (i = 0; i < 5; i++)
    want[i] = w[i];
  opts_for_test(&o, out);
  o.layout = CORRAL_LAYOUT_MIRROR;
  check_collisions(&o, ents, want, sent, sizes, 5);
  ck_assert_int_eq(testsrv_total(&srv), 10);
  check_tree(out, 5, 0);
  check_tree(out2, 5, 0);
  check_outside_untouched();
}
END_TEST

/* ---- 8. skip and overwrite ---------------------------------------------- */

START_TEST(test_skip_then_overwrite_atomically)
{
  const struct ent ents[] = {
      {0, "/bytes/100/here.bin", NULL, NULL},
      {0, "/status/404/gone.bin", NULL, NULL},
  };
  char here[300], gone[300];
  struct stat before, after;
  struct corral_opts o;

  snprintf(here, sizeof(here), "%s/here.bin", out);
  snprintf(gone, sizeof(gone), "%s/gone.bin", out);
  harness_writef(here, "mine");
  harness_writef(gone, "mine too");
  /* A second name of here.bin's inode, outside: a write in place shows. */
  ck_assert_int_eq(link(here, victim), 0);
  ck_assert_int_eq(stat(here, &before), 0);
  opts_for_test(&o, out);
  run(&o, ents, 2);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_SKIPPED);
  ck_assert_int_eq(lib.got[2].status, CORRAL_STATUS_SKIPPED);
  ck_assert_int_eq(testsrv_total(&srv), 0);
  ck_assert(file_is(here, "mine"));
  o.overwrite = true;
  run(&o, ents, 2);
  ck_assert_int_eq(lib.got[1].status, CORRAL_STATUS_OK);
  ck_assert_int_eq(testsrv_requests(&srv, "/bytes/100/here.bin"), 1);
  ck_assert(reg_matches(out, "here.bin", "/bytes/100/here.bin", 100));
  ck_assert_int_eq(stat(here, &after), 0);
  ck_assert(after.st_ino != before.st_ino); /* renamed over, not rewritten */
  ck_assert(file_is(victim, "mine"));
  /* A failed download never touches the file it would have replaced. */
  ck_assert_int_eq(lib.got[2].status, CORRAL_STATUS_FAILED);
  ck_assert(file_is(gone, "mine too"));
  check_tree(out, 2, 0);
  check_outside_untouched();
}
END_TEST

/* ---- 9. mtime from Last-Modified ---------------------------------------- */

START_TEST(test_mtime_in_mirror_layout)
{
  const struct ent ents[] = {
      {0, "/lm/10/old.bin", NULL, NULL},
      {1, "/bytes/10/new.bin", NULL, NULL},
      {2, "/lm/20/x.bin", "sub/x.bin", NULL},
  };
  const char *rel[] = {"lm/10/old.bin", "bytes/10/new.bin", NULL};
  const long when[] = {784887151L,  /* Tue, 15 Nov 1994 08:12:31 GMT */
                       1445412480L, /* Wed, 21 Oct 2015 07:28:00 GMT */
                       784887151L};
  struct corral_opts o;
  char path[400];
  struct stat st;
  unsigned i;

  opts_for_test(&o, out);
  o.layout = CORRAL_LAYOUT_MIRROR;
  run(&o, ents, 3);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(lib.got[i + 1].status, CORRAL_STATUS_OK);
    if (rel[i])
      snprintf(path, sizeof(path), "%s/%s/%s", out, host_dir(ents[i].port),
               rel[i]);
    else
      snprintf(path, sizeof(path), "%s/%s", out, ents[i].out);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq((long)st.st_mtime, when[i]);
  }
  check_tree(out, 3, 0);
  check_outside_untouched();
}
END_TEST

static Suite *files_suite(void)
{
  Suite *s = suite_create("files");
  TCase *tc = tcase_create("loopback");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_hostile_url_paths_flat);
  tcase_add_test(tc, test_hostile_url_paths_mirror);
  tcase_add_test(tc, test_out_hostile_in_list_file);
  tcase_add_test(tc, test_out_hostile_on_stdin);
  tcase_add_test(tc, test_out_hostile_library);
  tcase_add_test(tc, test_symlink_dir_inside_output_dir);
  tcase_add_test(tc, test_symlink_host_dir_in_mirror);
  tcase_add_test(tc, test_symlink_at_final_name_is_replaced);
  tcase_add_test(tc, test_symlink_at_part_is_not_followed);
  tcase_add_test(tc, test_hardlink_at_part_is_not_written);
  tcase_add_test(tc, test_content_disposition_names);
  tcase_add_test(tc, test_content_disposition_cli);
  tcase_add_test(tc, test_content_disposition_mirror);
  tcase_add_test(tc, test_content_disposition_keeps_out);
  tcase_add_test(tc, test_content_disposition_keeps_present_file);
  tcase_add_test(tc, test_mirror_three_hosts);
  tcase_add_test(tc, test_sha256_match_and_mismatch);
  tcase_add_test(tc, test_sha256_conflict_reported_on_its_line);
  tcase_add_test(tc, test_collisions_flat);
  tcase_add_test(tc, test_collisions_mirror);
  tcase_add_test(tc, test_skip_then_overwrite_atomically);
  tcase_add_test(tc, test_mtime_in_mirror_layout);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(files_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
