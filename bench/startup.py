"""Starts a gateway and times it until /health/readiness answers 200: the config's load time as
a client sees it. Prints "PID SECONDS"; the gateway keeps running (the caller stops it).
Usage: startup.py PORT LOGFILE BINARY ARGS..."""
import socket
import subprocess
import sys
import time

port, log = int(sys.argv[1]), sys.argv[2]
started = time.monotonic()
proc = subprocess.Popen(sys.argv[3:], stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                        start_new_session=True)
request = b"GET /health/readiness HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n"
while time.monotonic() - started < 60:
    if proc.poll() is not None:
        sys.exit(f"startup.py: the gateway exited ({proc.returncode}); see {log}")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(request)
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                print(proc.pid, f"{time.monotonic() - started:.3f}")
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.002)
proc.kill()
sys.exit("startup.py: no readiness within 60 s")
