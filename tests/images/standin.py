#!/usr/bin/python3
"""Stand-ins for what a sandbox talks to, for tests/blackbox/test_images.py.

    standin.py ADDRESS RECORD PORT [PORT...]

Listens on ADDRESS at every PORT (the test starts it inside a network
namespace it made): a GET is answered 200 with JSON naming the port and path,
as `kartograph-api:8000` would answer a job; a POST is answered 200 after its
body is read, as the gateway acknowledges a batch of events.  Every
request is appended to RECORD as one JSON line (port, method, path, peer,
body), so the test sees what reached which port from where.  Prints "ready"
on stdout once every port listens.  Standard library only.
"""
import http.server
import json
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    record_path = None
    lock = threading.Lock()

    def record(self, body):
        entry = {"port": self.server.server_address[1], "method": self.command,
             "path": self.path, "peer": self.client_address[0],
             "content_type": self.headers.get("Content-Type"),
             "body": body.decode("utf-8", "replace")}
        with self.lock, open(self.record_path, "a") as record:
            record.write(json.dumps(entry) + "\n")

    def answer(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.record(b"")
        self.answer({"service": "kartograph-api stand-in",
                 "port": self.server.server_address[1], "path": self.path})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.record(self.rfile.read(length))
        self.answer({"accepted": True})

    def log_message(self, format, *args):
        pass


def main():
    address, Handler.record_path = sys.argv[1], sys.argv[2]
    servers = [http.server.ThreadingHTTPServer((address, int(port)), Handler)
           for port in sys.argv[3:]]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
