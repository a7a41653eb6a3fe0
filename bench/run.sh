#!/usr/bin/env bash
# bench/run.sh: corral against curl -Z, wget2 and aria2c, on loopback nginx.
#
# Usage (as root, from anywhere):
#   bench/run.sh [--big | --no-big] [--scale] [--rounds N] [--lists L]
#                [--keep]
#     --big / --no-big  also run the 4 x 256 MiB list (default: on only when
#                       /dev/shm has more than 4 GiB free)
#     --scale           memory at scale: corral (and the others, once) on a
#                       200,000-line list of 100,000 distinct keys, and the
#                       RSS per active transfer (-j 1 against -j 200)
#     --callgrind       instructions per request (valgrind --tool=callgrind,
#                       user space only) of corral and curl fetching the first
#                       1,000 small files at -j 16: the repeatable figure
#     --rounds N        rounds per list x concurrency (default $ROUNDS or 5)
#     --lists L         which parts to run, from "small dup hosts8 medium big
#                       disk" (default: all; "none" with --scale runs only
#                       the scale part); small includes the wrk ceiling
#     --keep            keep the work dir (corpus, lists, nginx config)
#     --summarize CSV   only print the table of an earlier run's CSV again
#                       and redraw its chart
#   Environment: CORRAL (a corral binary; default: a release build of this
#   tree made in BUILD_DIR, /tmp/corral-bench-build, with -Dwerror=false so
#   that a new compiler warning does not stop the benchmark), ROUNDS,
#   DISK_ROUNDS (3), BASE_PORT (28480, below the ephemeral range; nginx
#   listens on 8 ports from it, or from BASE_PORT+10, +20... if taken),
#   DISK_BASE (where the real-disk output dir is made; default /var/tmp),
#   SCALE_LINES (default 200000; e.g. "200000 1000000": lists over 200,000
#   lines run corral and curl only, as aria2c needs ~12 KiB per line).
#
# What it does: installs what is missing from Debian, writes a deterministic
# corpus (AES-CTR keystream under a fixed key: the same bytes on every run)
# to a dir on /dev/shm, starts one nginx there (1 worker, keep-alive,
# access_log off, stub_status), and runs the tools one after another,
# corral, curl, wget2, aria2c rotated by one each round (round 2 starts with
# curl), for ROUNDS rounds, for each list and concurrency.
# Every run writes into a fresh, empty dir on /dev/shm (tmpfs: "shm" rows,
# the tool-bound figures); the small list is also run DISK_ROUNDS rounds
# into a new dir under DISK_BASE on the real disk ("disk" rows; sync before each run, none
# after, as none of the tools syncs: this measures the filesystem's work
# for creating files, which dominates there).
#
# Lists: small = 5,000 x 4 KiB; dup = the small URLs twice (10,000 lines, the
# second copy 50 lines later and spelled equivalently: "/./", "%2D" for "-",
# or a "#frag"); medium = 200 x 256 KiB; big = 4 x 256 MiB (concurrency 4
# only); hosts8 = the small files spread over 8 ports.
#
# Figures (the table shows medians over rounds):
#   wall s     elapsed time of the tool, from fork to reap (bench/rusage.py)
#   CPU s      user + sys of the tool (wait4's rusage, in microseconds: GNU
#              time's two decimals quantized the short runs; nginx not
#              included)
#   RSS MiB    peak resident set of the tool (wait4's ru_maxrss)
#   reqs       requests nginx counted during the run (stub_status delta)
#   conns      TCP connections nginx accepted during the run
#   files      regular files the tool left in its output dir
#   files/s    distinct keys of the list / wall (the same numerator for all
#              tools: on dup, 5,000 useful files whatever a tool fetched)
#   MiB/s      bytes of the distinct keys / wall
#   ok         exit 0, every distinct file present, every file written has
#              the sha256 of the corpus file it names (names a tool adds for
#              duplicates, such as "x.bin.1" or "x.1.bin", are mapped back);
#              "reqs>lines" flags more requests than list lines: retries, or
#              someone else using the ports (stub_status counts everything)
#   x curl     median over rounds of (curl wall / tool wall): >1 is faster
#   cpu/curl   median over rounds of (tool CPU / curl CPU): <1 is lighter
#   %wrk       files/s as a percentage of wrk's requests/s on the same small
#              paths at the same concurrency (wrk -t2, no files written)
# Raw rows go to bench/results/DATE.csv, the table to bench/results/DATE.md,
# the chart (files/s and MiB/s per tool) to bench/chart.png (a run of only
# some lists: results/DATE.png).
#
# Tool settings, chosen so that each tool uses N connections at most:
#   corral -j N --per-host N -q
#   curl   -Z --parallel-max N -s --no-progress-meter (curl 7.88 draws its
#          parallel progress meter despite -s), url/output pairs from a
#          config file (-K);
#          --parallel-immediate is not passed: it was measured no faster on
#          this HTTP/1.1 server (see bench/README.md)
#   wget2  --max-threads=N -q -nd -P DIR -i LIST
#   aria2c -j N -x 1 -s 1 (one connection per file, as the others: no
#          splitting of a file over several connections)
#          --file-allocation=none (the others do not preallocate)
#          --allow-overwrite=true --auto-file-renaming=false -q
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
ROUNDS=${ROUNDS:-5}
BASE_PORT=${BASE_PORT:-28480}
NPORTS=8
DISK_BASE=${DISK_BASE:-/var/tmp}
DISK_DIR=""
SCALE_LINES=${SCALE_LINES:-200000}
DISK_ROUNDS=${DISK_ROUNDS:-3}
BUILD_DIR=${BUILD_DIR:-/tmp/corral-bench-build}
CORRAL=${CORRAL:-}
TOOLS=(corral curl wget2 aria2c)
SEED_KEY=000102030405060708090a0b0c0d0e0f # the corpus seed
TIMEOUT=600
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RESULTS=$HERE/results
CSV=$RESULTS/$STAMP.csv
WORK=""
BIG=auto
SCALE=0
CALLGRIND=0
SUMMARIZE=0
LISTS="small dup hosts8 medium big disk"
KEEP=0

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

parse_args() {
  while (($#)); do
    case $1 in
      --big) BIG=1 ;;
      --no-big) BIG=0 ;;
      --scale) SCALE=1 ;;
      --callgrind) CALLGRIND=1 ;;
      --rounds) ROUNDS=$2; shift ;;
      --lists) LISTS=$2; shift ;;
      --keep) KEEP=1 ;;
      --summarize) CSV=$2; STAMP=$(basename "$2" .csv); SUMMARIZE=1; shift ;;
      -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
  done
  if [[ $BIG == auto ]]; then
    local free_kib
    free_kib=$(df -Pk /dev/shm | awk 'NR==2 {print $4}')
    BIG=$((free_kib > 4 * 1024 * 1024 ? 1 : 0))
  fi
}

# Install from Debian whatever is missing; apt-get update at most once.
install_deps() {
  local -A bin_of=([nginx-light]=nginx [aria2]=aria2c [wget2]=wget2
    [wrk]=wrk [gnuplot-nox]=gnuplot [time]=/usr/bin/time [curl]=curl
    [python3]=python3 [openssl]=openssl [valgrind]=valgrind)
  local pkg missing=()
  for pkg in "${!bin_of[@]}"; do
    command -v "${bin_of[$pkg]}" >/dev/null || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# The corral binary: $CORRAL, else a release build of this tree.
ensure_corral() {
  if [[ -z $CORRAL ]]; then
    log "building corral (release) in $BUILD_DIR"
    [[ -d $BUILD_DIR ]] || meson setup "$BUILD_DIR" "$REPO" \
      -Dbuildtype=release -Dwerror=false >/dev/null
    meson compile -C "$BUILD_DIR" ./corral:executable >/dev/null
    CORRAL=$BUILD_DIR/corral
  fi
  [[ -x $CORRAL ]] || die "no corral binary at $CORRAL (set CORRAL=...)"
}

# N bytes of keystream for stream number $1: deterministic for a fixed key.
prng() {
  head -c "$2" /dev/zero |
    openssl enc -aes-128-ctr -nosalt -K "$SEED_KEY" -iv "$(printf %032x "$1")"
}

# Corpus under $WORK/www/{small,medium,big}, and its manifest of sha256s.
make_corpus() {
  local www=$WORK/www
  mkdir -p "$www/small" "$www/medium" "$www/big"
  log "corpus: 5,000 x 4 KiB, 200 x 256 KiB$( ((BIG)) && echo ', 4 x 256 MiB')"
  prng 1 $((5000 * 4096)) |
    split -b 4096 -a 5 -d --additional-suffix=.bin - "$www/small/s-"
  prng 2 $((200 * 262144)) |
    split -b 262144 -a 3 -d --additional-suffix=.bin - "$www/medium/m-"
  if ((BIG)); then
    prng 3 $((4 * 268435456)) |
      split -b 268435456 -a 1 -d --additional-suffix=.bin - "$www/big/b-"
  fi
  (cd "$www" && find . -type f -print0 | sort -z | xargs -0 sha256sum) \
    >"$WORK/manifest"
  find "$www" -type f -printf '%f %s\n' >"$WORK/sizes"
}

# Write list NAME from URL lines on stdin: NAME.txt (the list), NAME.curl
# (url/output pairs for curl -K; a repeated name gets ".2", ".3", ...),
# NAME.names (the distinct file names a complete download must hold) and
# NAME.keys (the corpus file name of each distinct key: one line per key).
save_list() {
  local base=$WORK/lists/$1
  cat >"$base.txt"
  awk '{
    n = $1; sub(/#.*/, "", n); sub(/\?.*/, "", n); sub(/.*\//, "", n)
    gsub(/%2D/, "-", n); c = ++seen[n]; if (c > 1) n = n "." c
    printf "url = \"%s\"\noutput = \"%s\"\n", $1, n
  }' "$base.txt" >"$base.curl"
  awk '{ n = $1; sub(/#.*/, "", n); sub(/\?.*/, "", n); sub(/.*\//, "", n)
    gsub(/%2D/, "-", n); if (!seen[n]++) print n }' "$base.txt" >"$base.names"
  awk '{ k = $1; sub(/#.*/, "", k); gsub(/%2D/, "-", k); gsub(/\/\.\//, "/", k)
    if (!seen[k]++) { n = k; sub(/\?.*/, "", n); sub(/.*\//, "", n); print n } }' \
    "$base.txt" >"$base.keys"
}

make_lists() {
  local u=http://127.0.0.1
  mkdir -p "$WORK/lists"
  awk -v u="$u:$BASE_PORT" 'BEGIN { for (i = 0; i < 5000; i++)
    printf "%s/small/s-%05d.bin\n", u, i }' | save_list small
  # Every URL twice: the second copy 50 lines later, spelled equivalently.
  awk -v u="$u:$BASE_PORT" 'function alt(i) {
      if (i % 3 == 0) return sprintf("%s/small/./s-%05d.bin", u, i)
      if (i % 3 == 1) return sprintf("%s/small/s%%2D%05d.bin", u, i)
      return sprintf("%s/small/s-%05d.bin#frag", u, i) }
    BEGIN { for (i = 0; i < 5050; i++) {
      if (i < 5000) printf "%s/small/s-%05d.bin\n", u, i
      if (i >= 50) print alt(i - 50) } }' | save_list dup
  awk -v u="$u" -v p="$BASE_PORT" -v n="$NPORTS" 'BEGIN {
    for (i = 0; i < 5000; i++)
      printf "%s:%d/small/s-%05d.bin\n", u, p + i % n, i }' | save_list hosts8
  awk -v u="$u:$BASE_PORT" 'BEGIN { for (i = 0; i < 200; i++)
    printf "%s/medium/m-%03d.bin\n", u, i }' | save_list medium
  if ((BIG)); then
    awk -v u="$u:$BASE_PORT" 'BEGIN { for (i = 0; i < 4; i++)
      printf "%s/big/b-%d.bin\n", u, i }' | save_list big
  fi
  # wrk cycles over the small paths.
  sed "s|^$u:$BASE_PORT||" "$WORK/lists/small.txt" >"$WORK/lists/small.paths"
  cat >"$WORK/paths.lua" <<EOF
local paths = {}
for line in io.lines("$WORK/lists/small.paths") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
EOF
}

# Scale list: LINES lines, LINES/2 distinct keys (the small files with a
# query ?k=N), every key twice (the whole key list, then again).
make_scale_list() {
  local lines=$1
  awk -v u="http://127.0.0.1:$BASE_PORT" -v k=$((lines / 2)) 'BEGIN {
    for (r = 0; r < 2; r++) for (i = 0; i < k; i++)
      printf "%s/small/s-%05d.bin?k=%d\n", u, i % 5000, i }' |
    save_list "scale$lines"
}

# nginx on 8 ports from BASE_PORT; if one is taken, 10 ports further on.
start_nginx() {
  local try
  for ((try = 0; try < 5; try++)); do
    write_nginx_conf
    if nginx -e "$WORK/nginx-error.log" -p "$WORK" -c "$WORK/nginx.conf" \
      2>>"$WORK/nginx-start.log"; then
      log "nginx pid $(cat "$WORK/nginx.pid") on 127.0.0.1:$BASE_PORT-$((BASE_PORT + NPORTS - 1))"
      return 0
    fi
    BASE_PORT=$((BASE_PORT + 10))
  done
  die "nginx did not start: $(tail -n 1 "$WORK/nginx-start.log")"
}

write_nginx_conf() {
  local conf=$WORK/nginx.conf port listens="" t
  for ((port = BASE_PORT; port < BASE_PORT + NPORTS; port++)); do
    listens+="    listen 127.0.0.1:$port;"$'\n'
  done
  for t in body proxy fastcgi uwsgi scgi; do mkdir -p "$WORK/nginx-tmp/$t"; done
  cat >"$conf" <<EOF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  open_file_cache max=20000 inactive=300s;
  client_body_temp_path $WORK/nginx-tmp/body;
  proxy_temp_path $WORK/nginx-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
  scgi_temp_path $WORK/nginx-tmp/scgi;
  server {
$listens    root $WORK/www;
    location = /nginx_status { stub_status; }
  }
}
EOF
}

stop_nginx() {
  local pid
  [[ -n $WORK && -s $WORK/nginx.pid ]] || return 0
  pid=$(cat "$WORK/nginx.pid")
  kill "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

cleanup() {
  stop_nginx
  if [[ -n $WORK ]]; then
    if ((KEEP)); then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  fi
  [[ -z $DISK_DIR ]] || rm -rf "$DISK_DIR"
}

# "accepted-connections requests" from stub_status (this request included).
nginx_counters() {
  curl -s "http://127.0.0.1:$BASE_PORT/nginx_status" |
    awk 'NR == 3 { print $1, $3 }'
}

# The command line of TOOL fetching LIST with N connections into OUT.
tool_cmd() {
  local tool=$1 list=$WORK/lists/$2 j=$3 out=$4
  case $tool in
    corral) CMD=("$CORRAL" -j "$j" --per-host "$j" -q -o "$out" -i "$list.txt") ;;
    curl) CMD=(curl -Z --parallel-max "$j" -s --no-progress-meter --output-dir "$out" -K "$list.curl") ;;
    wget2) CMD=(wget2 --max-threads="$j" -q -nd -P "$out" -i "$list.txt") ;;
    aria2c) CMD=(aria2c -j "$j" -x 1 -s 1 --file-allocation=none -q
      --allow-overwrite=true --auto-file-renaming=false -d "$out"
      -i "$list.txt") ;;
  esac
}

# Check OUT against the manifest: prints "files bytes missing bad".
verify() {
  python3 - "$1" "$WORK/manifest" "$WORK/lists/$2.names" <<'EOF'
import hashlib, os, re, sys
from urllib.parse import unquote
out, manifest, names = sys.argv[1:4]
want = {}
for line in open(manifest):
    digest, path = line.split(None, 1)
    want[os.path.basename(path.strip())] = digest
expected = set(open(names).read().split())
seen, files, size, bad = set(), 0, 0, 0
for root, _, entries in os.walk(out):
    for e in entries:
        p = os.path.join(root, e)
        files += 1
        size += os.path.getsize(p)
        n = re.sub(r'\?.*$', '', unquote(e))     # x.bin?k=1 (wget2)
        n = re.sub(r'\.\d+\.bin$', '.bin', n)    # x.1.bin (corral, aria2)
        n = re.sub(r'(\.bin)\.\d+$', r'\1', n)   # x.bin.1 (wget2, curl)
        with open(p, 'rb') as f:
            ok = n in want and hashlib.file_digest(f, 'sha256').hexdigest() == want[n]
        if ok:
            seen.add(n)
        else:
            bad += 1
print(files, size, len(expected - seen), bad)
EOF
}

# The tools in the order of round N: TOOLS rotated by N - 1.  The first
# run of a round pays for the memory the previous round's files held
# (4 x 256 MiB on tmpfs took the first tool of a round 2-4 times as long),
# so no tool may always go first.
tools_of_round() {
  local n=${#TOOLS[@]} i
  for ((i = 0; i < n; i++)); do
    printf '%s ' "${TOOLS[(i + $1 - 1) % n]}"
  done
}

# One timed run; appends a CSV row.  Args: tool list j round dest
run_one() {
  local tool=$1 list=$2 j=$3 round=$4 dest=$5 out rc=0
  local a0 r0 a1 r1 wall user sys rss files bytes missing bad ok
  if [[ $dest == disk ]]; then out=$DISK_DIR/$tool; sync; else out=$WORK/out/$tool; fi
  rm -rf "$out" && mkdir -p "$out"
  tool_cmd "$tool" "$list" "$j" "$out"
  read -r a0 r0 < <(nginx_counters)
  python3 "$HERE/rusage.py" "$WORK/time.txt" \
    timeout "$TIMEOUT" "${CMD[@]}" >"$WORK/tool.log" 2>&1 || rc=$?
  read -r a1 r1 < <(nginx_counters)
  read -r wall user sys rss < <(tail -n 1 "$WORK/time.txt")
  read -r files bytes missing bad < <(verify "$out" "$list")
  ok=""
  ((rc == 0)) || ok+=";rc=$rc"
  ((missing == 0)) || ok+=";miss=$missing"
  ((r1 - r0 - 1 <= $(wc -l <"$WORK/lists/$list.txt"))) || ok+=";reqs>lines"
  ((bad == 0)) || ok+=";bad=$bad"
  ok=${ok#;}
  if ((rc != 0)) || [[ -s $WORK/tool.log ]]; then
    log "$tool $list j$j r$round: exit $rc; ${CMD[*]}"
    head -n 5 "$WORK/tool.log" | sed 's/^/    /' >&2
  fi
  printf '%s,%s,%s,%s,%s,%s,%d,%.6f,%s,%s,%s,%d,%d,%s,%s,%s,%s,%s,%s\n' \
    "$list" "$dest" "$j" "$round" "$tool" "${ok:-ok}" "$rc" \
    "$wall" "$user" "$sys" \
    "$rss" $((r1 - r0 - 1)) $((a1 - a0 - 1)) "$files" "$bytes" \
    "$(wc -l <"$WORK/lists/$list.keys")" "$(list_bytes "$list")" \
    "$missing" "$bad" >>"$CSV"
  rm -rf "$out"
}

# Distinct bytes of a list: the body sizes of its distinct keys.
list_bytes() {
  awk 'NR == FNR { size[$1] = $2; next } { s += size[$1] } END { print s }' \
    "$WORK/sizes" "$WORK/lists/$1.keys"
}

# ROUNDS rounds of A B C D for one list and concurrency.
bench_list() {
  local list=$1 j=$2 round tool
  for ((round = 1; round <= ROUNDS; round++)); do
    log "$list -j $j round $round/$ROUNDS"
    for tool in $(tools_of_round "$round"); do
      run_one "$tool" "$list" "$j" "$round" shm
    done
  done
}

# The small list into DISK_DIR (real disk), DISK_ROUNDS rounds.
bench_disk() {
  local j round tool
  for j in 16 64; do
    for ((round = 1; round <= DISK_ROUNDS; round++)); do
      log "small -j $j on the real disk ($DISK_DIR) round $round/$DISK_ROUNDS"
      for tool in $(tools_of_round "$round"); do
        run_one "$tool" small "$j" "$round" disk
      done
    done
  done
}

# The ceiling: wrk on the small paths, ROUNDS times per concurrency.
bench_wrk() {
  local j=$1 round rps a0 r0 a1 r1
  for ((round = 1; round <= ROUNDS; round++)); do
    read -r a0 r0 < <(nginx_counters)
    rps=$(wrk -t2 -c"$j" -d3s -s "$WORK/paths.lua" \
      "http://127.0.0.1:$BASE_PORT" | awk '/^Requests\/sec/ { print $2 }')
    read -r a1 r1 < <(nginx_counters)
    # wall is the time 5,000 files would take at that rate.
    printf 'small,shm,%s,%s,wrk,ok,0,%.6f,,,,%d,%d,0,0,5000,20480000,0,0\n' \
      "$j" "$round" "$(awk -v r="$rps" 'BEGIN { print 5000 / r }')" \
      $((r1 - r0 - 1)) $((a1 - a0 - 1)) >>"$CSV"
  done
}

# Memory at scale: each tool once on the big list of keys; then corral's
# RSS per active transfer from the medium list at -j 1 and -j 200.
bench_scale() {
  local lines tool
  for lines in $SCALE_LINES; do
    make_scale_list "$lines"
    local tools=("${TOOLS[@]}")
    ((lines <= 200000)) || tools=(corral curl)
    for tool in "${tools[@]}"; do
      log "scale$lines: $tool -j 64"
      run_one "$tool" "scale$lines" 64 1 shm
    done
  done
  for tool in corral curl; do
    log "per-transfer RSS: $tool -j 1 / -j 200 on medium"
    run_one "$tool" medium 1 1 shm
    run_one "$tool" medium 200 1 shm
  done
}

# Instructions per request under callgrind (deterministic where wall time
# is not): corral and curl fetch the first 1,000 small files at -j 16 into
# /dev/shm.  Prints the markdown lines for the results file.
bench_callgrind() {
  local n=1000 tool out total
  head -n "$n" "$WORK/lists/small.txt" | save_list cg1000
  echo
  echo "Instructions per request (valgrind --tool=callgrind, user space, -j 16, $n small files):"
  echo
  for tool in corral curl; do
    out=$(mktemp -d /dev/shm/corral-bench-cg.XXXXXX)
    tool_cmd "$tool" cg1000 16 "$out"
    log "callgrind: $tool"
    total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "${CMD[@]}" 2>&1 >/dev/null | awk '/Collected :/ { print $NF }')
    rm -rf "$out"
    echo "- $tool: $((total / n)) instructions per request ($total in all)"
  done
}

# Medians and paired ratios: the table on stdout (markdown), its data for
# gnuplot in $WORK/chart-*.dat.
summarize() {
  python3 - "$CSV" "$WORK" <<'EOF'
import csv, statistics as st, sys
from collections import defaultdict
rows = list(csv.DictReader(open(sys.argv[1])))
work = sys.argv[2]
med = st.median
groups = defaultdict(list)
for r in rows:
    groups[(r['list'], r['dest'], int(r['j']), r['tool'])].append(r)
by_round = {(r['list'], r['dest'], int(r['j']), r['round'], r['tool']): r
            for r in rows}
f = lambda x: float(x) if x else float('nan')
order = ['small', 'dup', 'hosts8', 'medium', 'big']
tools = ['corral', 'curl', 'wget2', 'aria2c', 'wrk']
def key(k):
    l, d, j, t = k
    li = order.index(l) if l in order else len(order)
    return (li, l, d, j, tools.index(t) if t in tools else 9)
wrk = {j: med(5000 / f(r['wall']) for r in g)
       for (l, d, j, t), g in groups.items() if t == 'wrk'}
print('| list | dest | -j | tool | wall s | CPU s | RSS MiB | reqs | conns '
      '| files | files/s | MiB/s | ok | x curl | cpu/curl | %wrk |')
print('|' + '---|' * 16)
chart = defaultdict(dict)
for k in sorted(groups, key=key):
    l, d, j, t = k
    g = groups[k]
    wall = med(f(r['wall']) for r in g)
    line = [l, d, str(j), t, '%.3f' % wall]
    if t == 'wrk':
        rps = wrk[j]
        line += ['', '', '%d' % med(int(r['requests']) for r in g),
                 '%d' % med(int(r['conns']) for r in g), '0', '%.0f' % rps,
                 '%.1f' % (rps * 4096 / 2**20), 'ok', '', '', '100%']
        print('| ' + ' | '.join(line) + ' |')
        continue
    cpu = med(f(r['user']) + f(r['sys']) for r in g)
    rss = med(f(r['maxrss_kib']) for r in g) / 1024
    fps = med(int(r['distinct_files']) / f(r['wall']) for r in g)
    mbs = med(int(r['distinct_bytes']) / f(r['wall']) / 2**20 for r in g)
    oks = sorted(set(r['ok'] for r in g))
    speed, cpur = [], []
    for r in g:
        c = by_round.get((l, d, j, r['round'], 'curl'))
        if c:
            speed.append(f(c['wall']) / f(r['wall']))
            cc = f(c['user']) + f(c['sys'])
            if cc > 0:
                cpur.append((f(r['user']) + f(r['sys'])) / cc)
    line += ['%.2f' % cpu, '%.1f' % rss,
             '%d' % med(int(r['requests']) for r in g),
             '%d' % med(int(r['conns']) for r in g),
             '%d' % med(int(r['files']) for r in g), '%.0f' % fps,
             '%.1f' % mbs, ' '.join(oks),
             '%.2f' % med(speed) if speed else '',
             '%.2f' % med(cpur) if cpur else '',
             '%.0f%%' % (100 * fps / wrk[j]) if l == 'small' and d == 'shm'
             and j in wrk else '']
    print('| ' + ' | '.join(line) + ' |')
    if d == 'shm' and l in order and (j in (16, 64) or l == 'big'):
        chart[(l, j)][t] = (fps, mbs)
extra = []
for t in tools[:4]:
    a = groups.get(('medium', 'shm', 1, t))
    b = groups.get(('medium', 'shm', 200, t))
    if a and b:
        ka = med(f(r['maxrss_kib']) for r in a)
        kb = med(f(r['maxrss_kib']) for r in b)
        extra.append('%s %.0f KiB' % (t, (kb - ka) / 199))
if extra:
    print('\nRSS per active transfer ((RSS at -j 200 - RSS at -j 1) / 199, '
          'medium list): ' + ', '.join(extra))
if all((l, j) in chart for l in order[:4] for j in (16, 64)):
    open(work + '/chart-full', 'w').close()
for name, idx, lists in (('files', 0, ['small', 'dup', 'hosts8']),
                         ('mib', 1, ['medium', 'big'])):
    with open('%s/chart-%s.dat' % (work, name), 'w') as out:
        out.write('case ' + ' '.join(tools[:4]) + '\n')
        for (l, j), v in sorted(chart.items(), key=lambda x: (order.index(x[0][0]), x[0][1])):
            if l in lists:
                out.write('"%s -j%d" ' % (l, j) + ' '.join(
                    '%.1f' % v[t][idx] if t in v else '?' for t in tools[:4]) + '\n')
EOF
}

# Two panels: files/s on the small-file lists, MiB/s on the larger files
# (a panel without data is left out). bench/chart.png only from a run of
# all the small and medium lists, else results/DATE.png.
chart() {
  local png=$RESULTS/$STAMP.png panels=() name title
  [[ -e $WORK/chart-full ]] && png=$HERE/chart.png
  for name in files mib; do
    (($(wc -l <"$WORK/chart-$name.dat") > 1)) && panels+=("$name")
  done
  ((${#panels[@]})) || return 0
  {
    cat <<EOF
set terminal pngcairo size $((600 * ${#panels[@]})),500 font ",10"
set output "$png"
set multiplot layout 1,${#panels[@]} title "corral bench $STAMP (tmpfs output, medians)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left autotitle columnheader
set grid ytics
set xtics rotate by -20
set yrange [0:*]
EOF
    for name in "${panels[@]}"; do
      title="files/s"
      [[ $name == mib ]] && title="MiB/s"
      printf 'set title "%s (higher is better)"\n' "$title"
      printf 'plot for [c=2:5] "%s" using c:xtic(1)\n' "$WORK/chart-$name.dat"
    done
    echo "unset multiplot"
  } | gnuplot
}

describe_machine() {
  {
    echo "date: $STAMP"
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo |
      cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
    echo "corral: $("$CORRAL" -V 2>&1 | head -n 1) ($CORRAL; tree at" \
      "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?'))"
    echo "curl: $(curl -V | head -n 1 | cut -d' ' -f1-2); wget2:" \
      "$(wget2 --version | head -n 1 | awk '{print $3}'); aria2c:" \
      "$(aria2c -v | head -n 1 | awk '{print $3}'); nginx:" \
      "$(nginx -v 2>&1 | cut -d/ -f2); wrk: $(wrk -v 2>&1 | head -n 1 |
        awk '{print $2}')"
    echo "rounds: $ROUNDS ($DISK_ROUNDS on disk); output: /dev/shm (tmpfs) for 'shm' rows," \
      "$DISK_BASE ($(stat -f -c %T "$DISK_BASE")) for 'disk' rows"
  }
}

main() {
  parse_args "$@"
  if ((SUMMARIZE)); then
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    summarize
    chart
    return
  fi
  [[ $EUID -eq 0 ]] || die "run as root (it installs packages and binds ports)"
  install_deps
  ensure_corral
  mkdir -p "$RESULTS"
  WORK=$(mktemp -d /dev/shm/corral-bench.XXXXXX)
  chmod 755 "$WORK" # the nginx worker runs as nobody
  trap cleanup EXIT
  [[ " $LISTS " != *" disk "* ]] ||
    DISK_DIR=$(mktemp -d "$DISK_BASE/corral-bench-disk.XXXXXX")
  trap 'exit 130' INT TERM
  echo "list,dest,j,round,tool,ok,rc,wall,user,sys,maxrss_kib,requests,conns,files,bytes,distinct_files,distinct_bytes,missing,bad" >"$CSV"
  make_corpus
  start_nginx
  make_lists
  local list j
  for list in $LISTS; do
    case $list in
      small) for j in 16 64; do bench_wrk "$j"; done ;;&
      small | dup | hosts8 | medium) for j in 16 64; do bench_list "$list" "$j"; done ;;
      big) ((BIG)) && bench_list big 4 ;;
      disk) bench_disk ;;
      none) ;;
      *) die "unknown list: $list" ;;
    esac
  done
  ((SCALE)) && bench_scale
  local callgrind=""
  ((CALLGRIND)) && callgrind=$(bench_callgrind)
  {
    describe_machine | sed 's/^/    /'
    echo
    summarize
    [[ -z $callgrind ]] || echo "$callgrind"
  } | tee "$RESULTS/$STAMP.md"
  chart || log "gnuplot failed: no chart"
  log "raw: $CSV; table: $RESULTS/$STAMP.md"
}

# Sourcing the file (to try one step by hand) defines the functions only.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
