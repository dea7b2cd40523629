"""A stand-in for the OpenShell gateway's event endpoint, on loopback: it can be
up, down, slow, failing with 500, or cutting connections, and keeps every event
it acknowledged."""
import http.server
import json
import socket
import ssl
import threading
import time


class Receiver:
    def __init__(self, tls=None, port=0):
        self.events = []            # every event acknowledged with 2xx, in arrival order
        self.requests = 0
        self.content_types = set()
        self.fail_next = 0          # answer 500 to this many requests
        self.cut_next = 0           # close the connection without answering this many
        self.delay = 0.0            # seconds to wait before answering
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests += 1
                    receiver.content_types.add(self.headers.get("Content-Type"))
                    cut = receiver.cut_next > 0
                    receiver.cut_next -= cut
                    fail = not cut and receiver.fail_next > 0
                    receiver.fail_next -= fail
                if receiver.delay:
                    time.sleep(receiver.delay)
                if cut:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fail:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                batch = [json.loads(line) for line in body.decode().splitlines() if line]
                with receiver.lock:
                    receiver.events.extend(batch)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def unique(self):
        """Events deduplicated by metadata.uid, as a receiver must after a crash."""
        seen, unique = set(), []
        for event in self.snapshot():
            uid = event["metadata"]["uid"]
            if uid not in seen:
                seen.add(uid)
                unique.append(event)
        return unique

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def reserved_port():
    """A port nothing listens on (a receiver that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
