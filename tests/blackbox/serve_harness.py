"""Starts `sandbox-init serve` as PID 1 of a PID namespace on a loopback port,
with the example turn executor, and mints workload JWTs with PyJWT (Debian's
python3-jwt): an implementation independent of ours."""
import http.client
import json
import os
import signal
import socket
import tempfile
import time
import uuid

import jwt

from harness import SOURCE_DIR, Run, wait_until

SESSION = "session-0001"
TENANT = "tenant-0001"
GRAPH = "graph-0001"
HS256_KEY = b"test-only-hs256-key-of-at-least-32-bytes!!"
TOKEN = "session-bound-runtime-token"
EXECUTOR = os.path.join(SOURCE_DIR, "examples", "turn-executor")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mint(key=HS256_KEY, algorithm="HS256", lifetime=900, iat_offset=0, **overrides):
    now = int(time.time())
    claims = {"sub": "workload", "iss": "kartograph", "aud": "extraction-workload",
              "jti": uuid.uuid4().hex,
              "scopes": [f"session:{SESSION}", f"tenant:{TENANT}", f"knowledge_graph:{GRAPH}",
                         "workload:chat"],
              "iat": now + iat_offset, "exp": now + iat_offset + lifetime}
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=algorithm)


class Server:
    def __init__(self, extra=(), env=None, workspace_marker=True, key=HS256_KEY, algorithm="HS256",
                 executor=None):
        self.directory = tempfile.mkdtemp(prefix="si-serve-", dir="/var/tmp")
        os.chmod(self.directory, 0o755)
        self.workspace = os.path.join(self.directory, "workspace")
        os.mkdir(self.workspace)
        os.chmod(self.workspace, 0o777)
        if workspace_marker:
            with open(os.path.join(self.workspace, "knowledge-graph-id"), "w") as f:
                f.write(GRAPH)
        self.policy = os.path.join(self.directory, "policy.yaml")
        with open(self.policy, "w") as f:
            f.write("version: 1\nfilesystem_policy:\n  include_workdir: true\n"
                    "  read_only: [/usr, /lib, /lib64, /bin, /etc, /proc, /dev/urandom, "
                    f"{os.path.dirname(EXECUTOR)}]\n  read_write: [/tmp, /dev/null]\n")
        self.key_file = os.path.join(self.directory, "jwt.key")
        with open(self.key_file, "wb") as f:
            f.write(key)
        self.port = free_port()
        environment = dict(os.environ if env is None else env)
        environment.update({"KARTOGRAPH_SESSION_ID": SESSION, "KARTOGRAPH_TENANT_ID": TENANT,
                            "KARTOGRAPH_KNOWLEDGE_GRAPH_ID": GRAPH,
                            "KARTOGRAPH_RUNTIME_AUTH_TOKEN": TOKEN})
        command = json.dumps(executor or ["/usr/bin/python3", EXECUTOR])
        self.run = Run(["serve", "--listen", f"127.0.0.1:{self.port}", "--workspace", self.workspace,
                        "--policy", self.policy, "--policy-dir", os.path.join(SOURCE_DIR, "tests",
                                                                             "policies", "kartograph"),
                        "--jwt-key-file", self.key_file, "--jwt-alg", algorithm,
                        "--turn-command", command, "--events-spool", os.path.join(self.directory, "spool"),
                        *extra], env=environment)

    def wait_ready(self):
        def answering():
            try:
                return self.get("/healthz")[0] == 200
            except OSError:
                return self.run.process.poll() is not None
        assert wait_until(answering, timeout=10), "serve did not start answering"
        assert self.run.process.poll() is None, self.run.stderr()
        return self

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path):
        connection = self.connection(timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode(), dict(response.getheaders())
        finally:
            connection.close()

    def post_turn(self, body, token=TOKEN, raw=None, headers=None):
        """Sends a turn; returns (status, lines or error body, response, connection)."""
        connection = self.connection()
        sent_headers = {"Content-Type": "application/json"}
        if token is not None:
            sent_headers["X-Kartograph-Runtime-Auth"] = token
        sent_headers.update(headers or {})
        payload = raw if raw is not None else json.dumps(body).encode()
        connection.request("POST", "/v1/turn", body=payload, headers=sent_headers)
        return connection.getresponse(), connection

    def turn(self, body, **kwargs):
        response, connection = self.post_turn(body, **kwargs)
        try:
            text = response.read().decode()
        finally:
            connection.close()
        if response.status != 200:
            return response.status, json.loads(text)
        return response.status, [json.loads(line) for line in text.splitlines()]

    def stop(self, timeout=30):
        if self.run.process.poll() is None:
            self.run.send(signal.SIGTERM)
        status = self.run.wait(timeout)
        import shutil
        shutil.rmtree(self.directory, ignore_errors=True)
        return status

    def logs(self):
        return self.run.logs()


def turn_body(message="hello", **extra):
    body = {"message": message, "workload_token": mint()}
    body.update(extra)
    return body
