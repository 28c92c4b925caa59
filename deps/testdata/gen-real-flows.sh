#!/bin/sh
# gen-real-flows.sh regenerates the real flow fixtures of deps/testdata:
# real TCP conversations between loopback addresses (127.20.0.0/16) of a
# known topology, captured with tcpdump, replayed through softflowd
# (NetFlow v9) into nfcapd and dumped with `nfdump -o csv`; and `ss`
# captures of the same sockets while they are open. Run as root on Linux:
#
#   apt-get install -y nfdump softflowd tcpdump
#   deps/testdata/gen-real-flows.sh
#
# The topology (apps, addresses, who calls whom) is in topology.py below
# and in real_test.go, which checks ferry's analysis against it.
set -eu
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
port=${NFCAPD_PORT:-39995}
cleanup() {
	[ -f "$work/tcpdump.pid" ] && kill "$(cat "$work/tcpdump.pid")" 2>/dev/null || true
	[ -f "$work/nfcapd.pid" ] && kill "$(cat "$work/nfcapd.pid")" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/topology.py" <<'PY'
import socket, subprocess, sys, threading, time

out = sys.argv[1]
# server apps: name -> (addresses, port)
servers = {
    "web":     (["127.20.0.10", "127.20.0.11"], 8080),
    "api":     (["127.20.0.20", "127.20.0.21"], 9000),
    "db":      (["127.20.0.30"], 5432),
    "cache":   (["127.20.0.40"], 6379),
    "auth":    (["127.20.0.60"], 636),    # a well-known port
    "metrics": (["127.20.0.70"], 50051),  # a server inside the ephemeral ranges
    "backup":  (["127.20.0.80"], 47000),  # ditto, called by one connection only
}
# client address -> server app: connections per server address, request and response bytes
calls = []
def call(clients, app, conns, req, resp):
    for c in clients:
        for s in servers[app][0]:
            calls.extend([(c, s, servers[app][1], req, resp)] * conns)
outside = ["127.20.1.1", "127.20.1.2", "127.20.1.3", "127.20.1.4"]
web, api, batch = ["127.20.0.10", "127.20.0.11"], ["127.20.0.20", "127.20.0.21"], ["127.20.0.50"]
call(outside, "web", 3, 300, 20000)
call(web, "api", 3, 500, 4000)
call(web, "cache", 4, 100, 800)
call(api, "db", 3, 400, 12000)
call(batch, "db", 2, 1000, 60000)
call(api, "auth", 2, 200, 500)
call(web + api + batch, "metrics", 2, 1500, 50)
call(batch, "backup", 1, 100000, 100)

def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        b = c.recv(n - len(buf))
        if not b:
            raise EOFError
        buf += b
    return buf

def serve(conn):
    with conn:
        f = conn.makefile("rb")
        while True:
            line = f.readline()
            if not line:
                return
            req, resp = map(int, line.split())
            f.read(req)
            conn.sendall(b"r" * resp)

def listen(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return s

listeners = [listen(a, p) for addrs, p in servers.values() for a in addrs]
held = []
for src, dst, p, req, resp in calls:
    c = socket.socket()
    c.bind((src, 0))  # the kernel picks the ephemeral port
    c.connect((dst, p))
    c.sendall(b"%d %d\n" % (req, resp) + b"q" * req)
    recv_exact(c, resp)
    held.append(c)
    time.sleep(0.01)
# every connection is open now: capture the sockets as ss shows them
for name, args in (("real-ss-tan.txt", ["-tan"]), ("real-ss-tn.txt", ["-tn"]), ("real-ss-ltn.txt", ["-ltn"])):
    with open(f"{out}/{name}", "w") as f:
        subprocess.run(["ss", *args, "src", "127.20.0.0/16"], stdout=f, check=True)
for c in held:
    c.close()
time.sleep(0.5)
for s in listeners:
    s.close()
print(f"{len(calls)} connections")
PY

tcpdump -i lo -U -w "$work/cap.pcap" 'net 127.20.0.0/16' 2>"$work/tcpdump.log" &
echo $! > "$work/tcpdump.pid"
sleep 1
python3 "$work/topology.py" "$out"
sleep 1
kill "$(cat "$work/tcpdump.pid")"; rm "$work/tcpdump.pid"
sleep 1

mkdir "$work/nf"
nfcapd -w "$work/nf" -b 127.0.0.1 -p "$port" -D -P "$work/nfcapd.pid"
sleep 1
softflowd -r "$work/cap.pcap" -n "127.0.0.1:$port" -v 9 -d
sleep 1
kill "$(cat "$work/nfcapd.pid")"   # SIGTERM flushes the current file
while [ -f "$work/nfcapd.pid" ]; do sleep 0.2; done
nfdump -R "$work/nf" -o csv > "$out/real-nfdump.csv"

{
	echo "# generated $(date -u +%Y-%m-%dT%H:%M:%SZ) by gen-real-flows.sh on $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -sr)"
	echo "# $(nfdump -V 2>&1 | head -1); softflowd $(dpkg-query -W -f '${Version}' softflowd); tcpdump $(dpkg-query -W -f '${Version}' tcpdump); ss from iproute2 $(dpkg-query -W -f '${Version}' iproute2); Linux ephemeral ports $(tr '\t' - < /proc/sys/net/ipv4/ip_local_port_range)"
} > "$out/real-versions.txt"
echo "wrote $out/real-nfdump.csv ($(grep -c '^20' "$out/real-nfdump.csv") records), real-ss-tan.txt, real-ss-tn.txt, real-ss-ltn.txt"
