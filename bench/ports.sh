# Sourced by the bench scripts. free_ports N prints N distinct free loopback ports: every socket stays bound until all
# are picked, so the system cannot hand out one port twice (picking them one at a time could, and Almanac refuses to
# start on two equal ports).
free_ports() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}
