#!/usr/bin/env bash
# Soak test (not part of CI): many URLs against the loopback fault server.
#
#   bench/soak.sh [COUNT] [WORKDIR]        default: 100000 URLs, a temp dir
#
# Environment: CORRAL (binary, default build/corral), JOBS (default 64),
# PER_HOST (default 16, so that JOBS transfers really run across the 4
# ports), PORTS (server ports, default 4), INPUT=file|stdin (default file:
# "-i LIST"; stdin streams the list through a pipe held open until every
# entry has ended, then samples the fd count of the idle process before
# closing it).
#
# The list is deterministic: per 100 URLs, 5 /drop (connection cut mid-body
# on the first 1-2 requests), 2 /flaky (503 + Retry-After: 0 on the first
# 1-2 requests), 1 /short (always short: must fail), 3 /redirect (0-2 hops
# to /bytes/64) and 89 /bytes of 1-5 KiB, every path unique.  corral runs
# under /usr/bin/time -v while a sampler writes its VmRSS and open fd count
# once a second to WORKDIR/samples.csv.  At the end the script checks: each
# entry ended as its route says (short failed, all others ok), every ok file
# has the server's bytes, no .part is left for an ok entry, RSS after
# warm-up grows by at most 1 KiB per distinct key (every URL is one: the
# SPEC lets memory grow with keys, not bodies), the exit status is 1 (the
# shorts fail), and prints the figures.  Exit 0 when all checks pass.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-100000}
work=${2:-$(mktemp -d /tmp/corral-soak.XXXXXX)}
corral=${CORRAL:-build/corral}
jobs=${JOBS:-64}
per_host=${PER_HOST:-16}
nports=${PORTS:-4}
input=${INPUT:-file}
export JOBS=$jobs
mkdir -p "$work"
rm -rf "$work/out" "$work/report.jsonl" "$work/samples.csv"

# The server lives as long as its stdin (fd 7) stays open.
mkfifo "$work/srv.in"
python3 test/testsrv.py --ports "$nports" <"$work/srv.in" >"$work/srv.out" \
  2>"$work/srv.err" &
srv=$!
exec 7>"$work/srv.in"
cleanup() {
  exec 7>&- 2>/dev/null || true
  kill "$srv" 2>/dev/null || true
  if [ -n "${feeder:-}" ]; then kill "$feeder" 2>/dev/null || true; fi
  rm -f "$work/srv.in" "$work/list.in"
}
trap cleanup EXIT
for _ in $(seq 100); do
  grep -q PORTS "$work/srv.out" 2>/dev/null && break
  sleep 0.1
done
ports=$(sed -n 's/^PORTS //p' "$work/srv.out")
[ -n "$ports" ] || { echo "soak: test server did not start" >&2; exit 1; }

# shellcheck disable=SC2086
python3 - "$count" "$work/list.txt" $ports <<'EOF'
import sys
count, path, ports = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
with open(path, "w") as f:
    for i in range(count):
        base = "http://127.0.0.1:%s" % ports[i % len(ports)]
        n = 1024 + (i * 37) % 4096
        kind = i % 100
        if kind < 5:
            t = "/drop/%d/%d/%d/d%d.bin" % (n // 2, 1 + i % 2, n, i)
        elif kind < 7:
            t = "/flaky/%d/%d/f%d.bin" % (1 + i % 2, n, i)
        elif kind < 8:
            t = "/short/%d/%d/s%d.bin" % (n, n // 2, i)
        elif kind < 11:
            t = "/redirect/%d/r%d.bin" % (i % 3, i)
        else:
            t = "/bytes/%d/b%d.bin" % (n, i)
        f.write(base + t + "\n")
EOF

# Samples VmRSS (kB) and open fds of pid once a second until it exits.
sample() {
  local pid=$1 t0 rss fds
  t0=$(date +%s.%N)
  echo "t,rss_kb,fds" >"$work/samples.csv"
  while [ -d "/proc/$pid" ]; do
    rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null) || break
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) || break
    [ -n "$rss" ] || break
    awk -v a="$(date +%s.%N)" -v b="$t0" -v r="$rss" -v f="$fds" \
      'BEGIN { printf "%.1f,%s,%s\n", a - b, r, f }' >>"$work/samples.csv"
    sleep 1
  done
}

args=(-j "$jobs" --per-host "$per_host" -q --retry-delay 0.05
  --report "$work/report.jsonl" -o "$work/out")
start=$(date +%s.%N)
if [ "$input" = stdin ]; then
  mkfifo "$work/list.in"
  /usr/bin/time -v -o "$work/time.txt" "$corral" "${args[@]}" -i - \
    <"$work/list.in" 2>"$work/stderr.txt" 7>&- &
  tpid=$!
  exec 8>"$work/list.in"
else
  /usr/bin/time -v -o "$work/time.txt" "$corral" "${args[@]}" \
    -i "$work/list.txt" 2>"$work/stderr.txt" 7>&- &
  tpid=$!
fi
cpid=""
for _ in $(seq 500); do
  cpid=$(pgrep -P "$tpid" || true)
  [ -n "$cpid" ] && break
  sleep 0.01
done
[ -n "$cpid" ] || { echo "soak: corral did not start" >&2; exit 1; }
fd_start=$(find "/proc/$cpid/fd" -mindepth 1 -maxdepth 1 | wc -l)
# Neither helper may hold the list pipe open (corral would never see EOF).
sample "$cpid" 7>&- 8>&- &
sampler=$!
fd_idle=""
if [ "$input" = stdin ]; then
  cat "$work/list.txt" >&8 7>&- &
  feeder=$!
  wait "$feeder"
  feeder=""
  # Idle: every ok file is there and failures have used up their retries.
  want=$(python3 -c "
n=int('$count'); print(sum(1 for i in range(n) if i % 100 != 7))")
  for _ in $(seq 3000); do
    have=$(find "$work/out" -maxdepth 1 -type f ! -name '*.part' | wc -l)
    [ "$have" -ge "$want" ] && break
    sleep 0.2
  done
  sleep 3
  fd_idle=$(find "/proc/$cpid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  exec 8>&-
fi
rc=0
wait "$tpid" || rc=$?
wait "$sampler" || true
end=$(date +%s.%N)

python3 - "$work" "$rc" "$fd_start" "${fd_idle:-}" "$start" "$end" <<'EOF'
import csv, json, os, re, sys, urllib.parse
work, rc, fd_start, fd_idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
secs = float(sys.argv[6]) - float(sys.argv[5])
out = os.path.join(work, "out")
urls = open(os.path.join(work, "list.txt")).read().split()
rep = [json.loads(l) for l in open(os.path.join(work, "report.jsonl"))]
problems = []

def body(target, n):
    s = sum(target.encode("latin-1")) & 0xFF
    pat = bytes((i * 7 + s) & 0xFF for i in range(256))
    return (pat * (n // 256 + 1))[:n]

def expected(url):
    path = urllib.parse.urlsplit(url).path
    m = re.match(r"/(drop/\d+/\d+|flaky/\d+|short/\d+|bytes)/(\d+)(/.*)$", path)
    if m:
        return ("failed" if m.group(1).startswith("short") else "ok",
                path, int(m.group(2)))
    m = re.match(r"/redirect/\d+(/.*)$", path)
    return "ok", "/bytes/64" + m.group(1), 64

by_url = {}
for r in rep:
    by_url.setdefault(r["url"], []).append(r)
stats = {"ok": 0, "failed": 0, "other": 0}
attempts = 0
for u in urls:
    rs = by_url.get(u, [])
    if len(rs) != 1:
        problems.append("%s: %d report entries" % (u, len(rs)))
        continue
    r = rs[0]
    st, target, n = expected(u)
    stats[r["status"] if r["status"] in stats else "other"] += 1
    attempts += r.get("attempts") or 0
    if r["status"] != st:
        problems.append("%s: %s (%s), expected %s" % (u, r["status"], r.get("error"), st))
        continue
    p = os.path.join(out, r["path"])
    if st == "ok":
        if os.path.exists(p + ".part"):
            problems.append("%s: %s.part left behind" % (u, r["path"]))
        try:
            data = open(p, "rb").read()
        except OSError as e:
            problems.append("%s: %s" % (u, e))
            continue
        if data != body(target, n):
            problems.append("%s: %s has wrong bytes (%d, want %d)" % (u, r["path"], len(data), n))
if len(rep) != len(urls):
    problems.append("report has %d entries for %d URLs" % (len(rep), len(urls)))
parts = sum(1 for f in os.listdir(out) if f.endswith(".part"))

rows = list(csv.DictReader(open(os.path.join(work, "samples.csv"))))
rss = [int(r["rss_kb"]) for r in rows]
fds = [int(r["fds"]) for r in rows]
warm = rss[min(len(rss) - 1, max(1, len(rss) // 5)):] if rss else [0]
tv = open(os.path.join(work, "time.txt")).read()
maxrss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv)
wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", tv)
cpu_u = re.search(r"User time \(seconds\): (\S+)", tv)
cpu_s = re.search(r"System time \(seconds\): (\S+)", tv)
print("soak: %d URLs in %.1f s (%.0f URLs/s), corral exit %d" % (len(urls), secs, len(urls) / secs, rc))
print("soak: report ok %d, failed %d, other %d; attempts %d; .part files %d (failed entries keep theirs)"
      % (stats["ok"], stats["failed"], stats["other"], attempts, parts))
print("soak: time -v: max RSS %s kB, wall %s, user %s s, sys %s s"
      % (maxrss and maxrss.group(1), wall and wall.group(1), cpu_u and cpu_u.group(1), cpu_s and cpu_s.group(1)))
if rss:
    print("soak: VmRSS kB first %d, after warm-up %d, last %d, max %d (%d samples)"
          % (rss[0], warm[0], rss[-1], max(rss), len(rss)))
    print("soak: fds at start %d, first sample %d, max %d, last sample %d%s"
          % (fd_start, fds[0], max(fds), fds[-1], ", idle after all entries %s" % fd_idle if fd_idle else ""))
    # Every URL here is a distinct key, and the SPEC lets memory grow with
    # distinct keys (not bodies): allow 1 KiB per key over the warm-up RSS.
    per_key = (max(rss) - warm[0]) * 1024.0 / len(urls)
    print("soak: RSS growth after warm-up %.0f bytes per distinct key" % per_key)
    if per_key > 1024:
        problems.append("RSS grew %.0f bytes per key after warm-up: %d -> %d kB"
                        % (per_key, warm[0], max(rss)))
# Idle, only kept-alive connections may stay open: at most one per job.
if fd_idle and int(fd_idle) > fd_start + int(os.environ.get("JOBS", "64")):
    problems.append("fds idle %s vs start %d" % (fd_idle, fd_start))
want_rc = 1 if any(expected(u)[0] == "failed" for u in urls) else 0
if rc != want_rc:
    problems.append("exit status %d, expected %d" % (rc, want_rc))
for p in problems[:20]:
    print("soak: PROBLEM " + p)
print("soak: %s (%d problems); files in %s" % ("FAIL" if problems else "PASS", len(problems), work))
sys.exit(1 if problems else 0)
EOF
