#!/usr/bin/env bash
# One command from a fresh Debian machine to a real download job: installs
# what is missing, builds corral, starts the bundled loopback test server
# (no internet needed), writes a URL list with duplicates, equivalent
# spellings, a name collision and a missing file, and runs corral on it.
#   bash test/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. test/deps.sh
corral_install_deps

[ -d build ] || meson setup build
meson compile -C build

work=$(mktemp -d /tmp/corral-demo.XXXXXX)
coproc SERVER { exec python3 test/testsrv.py --ports 2; }
server_pid=$SERVER_PID
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null' EXIT
read -r _ p1 p2 <&"${SERVER[0]}"

list=$work/urls.txt
{
  echo "# corral demo list: 40 files on two hosts, each listed twice"
  for i in $(seq 1 20); do
    echo "http://127.0.0.1:$p1/bytes/$((i * 4096))/file$i.bin"
    echo "http://127.0.0.1:$p2/bytes/$((i * 1024))/other$i.dat"
  done
  for i in $(seq 1 20); do
    echo "HTTP://127.0.0.1:$p1/./bytes/$((i * 4096))/file$i.bin#same"
    echo "http://127.0.0.1:$p2/bytes/x/../$((i * 1024))/other$i.dat"
  done
  echo "# the same name from another host becomes file1.1.bin"
  echo "http://127.0.0.1:$p2/bytes/4096/file1.bin"
  echo "http://127.0.0.1:$p1/bytes/4096/file1.bin out=copies/first.bin"
  echo "http://127.0.0.1:$p1/status/404/missing.bin"
  echo "gopher://127.0.0.1/not-http"
} > "$list"

echo "== build/corral -i $list -o $work/out -j 8"
set +e
build/corral -i "$list" -o "$work/out" -j 8
status=$?
set -e
echo "== exit status $status (1: the 404 and the gopher line failed, as they should)"
echo "== requests the server saw: $(curl -s "http://127.0.0.1:$p1/_stats" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" \
  "for $(grep -vc '^#' "$list") lines"
echo "== files in $work/out:"
ls -l "$work/out" | head -12
echo "   ..."
