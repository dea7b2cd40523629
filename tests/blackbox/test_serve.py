"""Part 3: `serve` through the real binary as PID 1, over real HTTP, with JWTs
minted by PyJWT."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness import Run, descendants, wait_until
from serve_harness import GRAPH, HS256_KEY, SESSION, TENANT, TOKEN, Server, mint, turn_body


def executors_left(server):
    """Processes under sandbox-init (the PID namespace's pids are not ours to check)."""
    return descendants(server.run.init_pid)


class ServeCase(unittest.TestCase):
    server_options = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Server(**cls.server_options).wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


class Health(ServeCase):
    def test_health_is_ok_when_the_workspace_marker_exists(self):
        status, body, headers = self.server.get("/health")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"status": "ok", "session_id": SESSION})
        self.assertEqual(headers["Content-Type"], "application/json")

    def test_liveness_and_readiness_answer(self):
        self.assertEqual(self.server.get("/healthz")[0], 200)
        status, body, _ = self.server.get("/readyz")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ready", "reasons": []}))

    def test_metrics_are_prometheus_text(self):
        status, body, headers = self.server.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertIn("sandbox_init_up 1", body)
        self.assertIn('sandbox_init_turns_total{outcome="ok"}', body)
        self.assertIn("sandbox_init_processes_spawned_total", body)

    def test_unknown_path_is_404_with_the_error_shape(self):
        status, body, _ = self.server.get("/nope")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["detail"]["code"], "NOT_FOUND")


class HealthWithoutWorkspace(ServeCase):
    server_options = {"workspace_marker": False}

    def test_health_is_503_workspace_unavailable(self):
        status, body, _ = self.server.get("/health")
        self.assertEqual((status, json.loads(body)), (503, {"status": "workspace_unavailable",
                                                            "session_id": SESSION}))


class RuntimeAuth(ServeCase):
    def test_missing_token_is_401(self):
        status, body = self.server.turn(turn_body(), token=None)
        self.assertEqual((status, body["detail"]["code"]), (401, "RUNTIME_AUTH_REQUIRED"))

    def test_wrong_token_is_401(self):
        for wrong in ("wrong", TOKEN + "x", TOKEN[:-1], ""):
            with self.subTest(token=wrong):
                status, body = self.server.turn(turn_body(), token=wrong)
                self.assertEqual((status, body["detail"]["code"]), (401, "RUNTIME_AUTH_REQUIRED"))

    def test_surrounding_white_space_is_ignored(self):
        status, lines = self.server.turn(turn_body(), token=f"  {TOKEN}\t")
        self.assertEqual(status, 200)
        self.assertEqual(lines[-1]["type"], "done")

    def test_unauthenticated_junk_is_401_not_422(self):
        status, body = self.server.turn(None, token=None, raw=b"{not json at all")
        self.assertEqual((status, body["detail"]["code"]), (401, "RUNTIME_AUTH_REQUIRED"))


class RequestValidation(ServeCase):
    def raw_exchange(self, head, body_chunks):
        """Sends head and then as much of the body as the server takes; returns
        the response status line and body (the server may answer early)."""
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            sock.sendall(head)
            try:
                for chunk in body_chunks:
                    sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            response = b""
            while True:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                response += data
        finally:
            sock.close()
        head_part, _, body = response.partition(b"\r\n\r\n")
        return head_part.split(b"\r\n")[0].decode(), body

    def test_declared_body_over_1_mib_is_413_before_it_is_sent(self):
        size = 1024 * 1024 + 10
        status, body = self.raw_exchange(
            f"POST /v1/turn HTTP/1.1\r\nHost: x\r\nX-Kartograph-Runtime-Auth: {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode(), [])
        self.assertIn(" 413 ", status)
        self.assertIn(b"REQUEST_TOO_LARGE", body)

    def test_chunked_body_growing_over_1_mib_is_413(self):
        chunk = b"x" * 65536
        chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 17 + [b"0\r\n\r\n"]
        status, body = self.raw_exchange(
            f"POST /v1/turn HTTP/1.1\r\nHost: x\r\nX-Kartograph-Runtime-Auth: {TOKEN}\r\n"
            "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n".encode(), chunks)
        self.assertIn(" 413 ", status)
        self.assertIn(b"REQUEST_TOO_LARGE", body)

    def test_malformed_and_mistyped_bodies_are_422(self):
        cases = [b"{not json", b"[]", json.dumps({"message": ""}).encode(),
                 json.dumps({"message": 5}).encode(),
                 json.dumps({"message": "x", "ui_mode": "nope"}).encode(),
                 json.dumps({"message": "x", "agent_configuration": []}).encode(),
                 json.dumps({"message": "x", "message_history": {}}).encode()]
        for raw in cases:
            with self.subTest(body=raw[:40]):
                status, body = self.server.turn(None, raw=raw)
                self.assertEqual((status, body["detail"]["code"]), (422, "REQUEST_INVALID"))

    def test_unknown_keys_are_ignored(self):
        status, lines = self.server.turn(turn_body(extra_key={"anything": 1}))
        self.assertEqual(status, 200)
        self.assertTrue(lines[-1]["ok"])


class WorkloadToken(ServeCase):
    def refused(self, token, status, code):
        got_status, body = self.server.turn({"message": "hi", "workload_token": token})
        self.assertEqual((got_status, body["detail"]["code"]), (status, code), body)

    def test_valid_token_runs_the_turn(self):
        status, lines = self.server.turn(turn_body("valid"))
        self.assertEqual(status, 200)
        self.assertEqual(lines[-1], {"type": "done", "ok": True})

    def test_missing_token_is_401(self):
        self.refused(None, 401, "WORKLOAD_TOKEN_INVALID")

    def test_expired_token_is_401(self):
        self.refused(mint(iat_offset=-2000, lifetime=900), 401, "WORKLOAD_TOKEN_INVALID")

    def test_token_issued_in_the_future_is_401(self):
        self.refused(mint(iat_offset=600), 401, "WORKLOAD_TOKEN_INVALID")

    def test_wrong_issuer_or_audience_is_401(self):
        self.refused(mint(iss="someone-else"), 401, "WORKLOAD_TOKEN_INVALID")
        self.refused(mint(aud="another-audience"), 401, "WORKLOAD_TOKEN_INVALID")

    def test_wrong_session_tenant_or_graph_is_403(self):
        for scopes in ([f"session:other", f"tenant:{TENANT}", f"knowledge_graph:{GRAPH}", "workload:chat"],
                       [f"session:{SESSION}", "tenant:other", f"knowledge_graph:{GRAPH}", "workload:chat"],
                       [f"session:{SESSION}", f"tenant:{TENANT}", "knowledge_graph:other", "workload:chat"],
                       [f"session:{SESSION}", f"tenant:{TENANT}", f"knowledge_graph:{GRAPH}"]):
            with self.subTest(scopes=scopes):
                self.refused(mint(scopes=scopes), 403, "WORKLOAD_TOKEN_SCOPE")

    def test_alg_none_is_401(self):
        self.refused(jwt.encode({"iss": "kartograph"}, None, algorithm="none"), 401, "WORKLOAD_TOKEN_INVALID")

    def test_bad_signature_truncated_and_huge_tokens_are_401(self):
        token = mint()
        head, payload, signature = token.split(".")
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        self.refused(f"{head}.{payload}.{flipped}", 401, "WORKLOAD_TOKEN_INVALID")
        self.refused(token[: len(token) // 2], 401, "WORKLOAD_TOKEN_INVALID")
        self.refused(mint(padding="x" * 20000), 401, "WORKLOAD_TOKEN_INVALID")
        self.refused(mint(key=b"another-key-that-is-also-32-bytes-long!!"), 401, "WORKLOAD_TOKEN_INVALID")

    def test_replayed_jti_is_401(self):
        token = mint()
        status, _ = self.server.turn({"message": "first", "workload_token": token})
        self.assertEqual(status, 200)
        self.refused(token, 401, "WORKLOAD_TOKEN_REPLAYED")

    def test_failures_are_counted_in_metrics(self):
        self.refused("not-a-jwt", 401, "WORKLOAD_TOKEN_INVALID")
        _, body, _ = self.server.get("/metrics")
        self.assertRegex(body, r'sandbox_init_auth_failures_total\{code="WORKLOAD_TOKEN_INVALID"\} [1-9]')


def rsa_keys():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public_pem


class AlgorithmConfusion(unittest.TestCase):
    def test_hs256_signed_with_the_rsa_public_key_is_refused_by_an_rs256_server(self):
        private, public_pem = rsa_keys()
        server = Server(key=public_pem, algorithm="RS256").wait_ready()
        try:
            status, lines = server.turn({"message": "rs", "workload_token": mint(key=private, algorithm="RS256")})
            self.assertEqual(status, 200)
            import base64
            import hashlib
            import hmac

            def b64(data):
                return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
            now = int(time.time())
            header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            claims = b64(json.dumps({"iss": "kartograph", "aud": "extraction-workload", "jti": "x1",
                                     "iat": now, "exp": now + 600,
                                     "scopes": [f"session:{SESSION}", f"tenant:{TENANT}",
                                                f"knowledge_graph:{GRAPH}", "workload:chat"]}).encode())
            signature = b64(hmac.new(public_pem, f"{header}.{claims}".encode(), hashlib.sha256).digest())
            status, body = server.turn({"message": "forged", "workload_token": f"{header}.{claims}.{signature}"})
            self.assertEqual((status, body["detail"]["code"]), (401, "WORKLOAD_TOKEN_INVALID"))
        finally:
            server.stop()


class Turns(ServeCase):
    server_options = {"extra": ["--turn-timeout", "2", "--grace", "2"]}

    def test_events_stream_in_order_and_end_with_one_done(self):
        status, lines = self.server.turn(turn_body("hello there"))
        self.assertEqual(status, 200)
        types = [line["type"] for line in lines]
        self.assertEqual(types.count("done"), 1)
        self.assertEqual(types[-1], "done")
        self.assertIn({"type": "message", "text": "echo: hello there"}, lines)
        self.assertLess(types.index("thinking"), types.index("message"))

    def test_first_event_arrives_before_the_executor_finishes(self):
        response, connection = self.server.post_turn(turn_body("sleep 1.5"))
        try:
            started = time.monotonic()
            self.assertEqual(response.status, 200)
            self.assertEqual(response.getheader("Content-Type"), "application/x-ndjson")
            first = json.loads(response.readline())
            first_at = time.monotonic() - started
            rest = [json.loads(line) for line in response.read().decode().splitlines()]
            total = time.monotonic() - started
        finally:
            connection.close()
        self.assertNotEqual(first["type"], "done")
        self.assertEqual(rest[-1]["type"], "done")
        self.assertLess(first_at, 1.0)
        self.assertGreaterEqual(total, 1.4)

    def test_timeout_kills_the_group_and_writes_the_done(self):
        status, lines = self.server.turn(turn_body("sleep 30"))
        self.assertEqual(status, 200)
        self.assertEqual(lines[-1]["code"], "AGENT_TURN_TIMEOUT")
        self.assertFalse(lines[-1]["ok"])
        self.assertTrue(wait_until(lambda: not executors_left(self.server), timeout=5))

    def test_crash_without_done_gets_a_done_from_the_supervisor(self):
        status, lines = self.server.turn(turn_body("crash"))
        self.assertEqual(lines[-1]["code"], "AGENT_RUNTIME_INTERNAL_ERROR")
        self.assertEqual([line["type"] for line in lines].count("done"), 1)

    def test_exit_without_done_gets_a_done_from_the_supervisor(self):
        status, lines = self.server.turn(turn_body("no-done"))
        self.assertEqual(lines[-1]["code"], "AGENT_RUNTIME_INTERNAL_ERROR")

    def test_garbage_line_ends_the_turn_with_an_error_done(self):
        status, lines = self.server.turn(turn_body("garbage"))
        self.assertEqual(lines[-1]["code"], "AGENT_RUNTIME_INTERNAL_ERROR")
        self.assertIn("not a JSON object", lines[-1]["message"])

    def test_line_over_1_mib_ends_the_turn_with_an_error_done(self):
        status, lines = self.server.turn(turn_body("huge"))
        self.assertEqual(lines[-1]["code"], "AGENT_RUNTIME_INTERNAL_ERROR")

    def test_concurrent_turn_is_409(self):
        response, connection = self.server.post_turn(turn_body("sleep 1"))
        try:
            response.readline()
            status, body = self.server.turn(turn_body("second"))
            self.assertEqual((status, body["detail"]["code"]), (409, "TURN_IN_PROGRESS"))
            response.read()
        finally:
            connection.close()

    def test_client_disconnect_kills_the_executor_group(self):
        response, connection = self.server.post_turn(turn_body("sleep 30"))
        response.readline()
        self.assertTrue(executors_left(self.server))
        connection.sock.shutdown(socket.SHUT_RDWR)
        connection.close()
        self.assertTrue(wait_until(lambda: not executors_left(self.server), timeout=5), "executor survived")
        self.assertTrue(wait_until(lambda: "turn cancelled: the client went away" in
                                   [r["msg"] for r in self.server.logs()], timeout=5))

    def test_executor_never_sees_the_token_or_key_in_environment_or_argv(self):
        body = turn_body("env")
        status, lines = self.server.turn(body)
        report = [line for line in lines if line["type"] == "env"][0]
        self.assertIn("argv", report)
        self.assertNotIn(body["workload_token"], json.dumps(report))
        for name in report["names"]:
            self.assertNotIn("TOKEN", name)
            self.assertNotIn("SIGNING_KEY", name)
        self.assertNotIn(TOKEN, json.dumps(report))
        status, lines = self.server.turn(turn_body("token"))
        self.assertIn({"type": "token", "present": True}, lines)

    def test_health_keeps_answering_during_a_long_turn(self):
        response, connection = self.server.post_turn(turn_body("sleep 1.5"))
        try:
            response.readline()
            for _ in range(5):
                started = time.monotonic()
                self.assertEqual(self.server.get("/health")[0], 200)
                self.assertLess(time.monotonic() - started, 0.5)
            response.read()
        finally:
            connection.close()

    def test_executor_stderr_reaches_the_log(self):
        self.server.turn(turn_body("stderr"))
        self.assertTrue(any(r["msg"] == "turn executor stderr" for r in self.server.logs()))


class DefaultUiMode(ServeCase):
    server_options = {"extra": ["--mode", "extraction-jobs"]}

    def test_mode_sets_the_ui_mode_of_requests_that_name_none(self):
        status, lines = self.server.turn(turn_body("which mode"))
        self.assertIn({"type": "thinking", "text": "ui_mode extraction-jobs"}, lines)
        status, lines = self.server.turn(turn_body("which mode", ui_mode="one-off-mutations"))
        self.assertIn({"type": "thinking", "text": "ui_mode one-off-mutations"}, lines)


class Startup(unittest.TestCase):
    def run_serve(self, extra, env_extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KARTOGRAPH_")}
        env.update(env_extra or {})
        return Run(["serve", "--listen", "127.0.0.1:0", *extra], env=env)

    def test_serve_refuses_to_start_without_a_runtime_token(self):
        run = self.run_serve(["--turn-command", '["/bin/true"]', "--insecure-skip-workload-token"])
        self.assertEqual(run.wait(), 2)
        self.assertIn("runtime token", run.stderr())

    def test_serve_refuses_to_start_without_a_jwt_key(self):
        run = self.run_serve(["--turn-command", '["/bin/true"]'], {"KARTOGRAPH_RUNTIME_AUTH_TOKEN": "t"})
        self.assertEqual(run.wait(), 2)
        self.assertIn("workload token key", run.stderr())

    def test_short_hs256_key_is_refused(self):
        run = self.run_serve(["--turn-command", '["/bin/true"]'],
                             {"KARTOGRAPH_RUNTIME_AUTH_TOKEN": "t",
                              "KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY": "short"})
        self.assertEqual(run.wait(), 2)
        self.assertIn("--jwt-key-file", run.stderr())
        self.assertNotIn("short", run.stderr().replace("shorter", ""))

    def test_serve_mode_must_be_a_ui_mode(self):
        run = self.run_serve(["--turn-command", '["/bin/true"]', "--insecure-skip-workload-token",
                              "--mode", "extraction-job"], {"KARTOGRAPH_RUNTIME_AUTH_TOKEN": "t"})
        self.assertEqual(run.wait(), 2)
        self.assertIn("--mode", run.stderr())

    def test_bad_turn_command_is_refused(self):
        run = self.run_serve(["--turn-command", '"not an array"', "--insecure-skip-workload-token"],
                             {"KARTOGRAPH_RUNTIME_AUTH_TOKEN": "t"})
        self.assertEqual(run.wait(), 2)
        self.assertIn("--turn-command", run.stderr())

    def test_insecure_skip_is_reported_as_a_finding(self):
        server = Server(extra=["--insecure-skip-workload-token"]).wait_ready()
        try:
            status, lines = server.turn({"message": "no token needed"})
            self.assertEqual(status, 200)
            self.assertTrue(any("finding" in r["msg"] for r in server.logs()))
        finally:
            server.stop()


class Shutdown(unittest.TestCase):
    def test_sigterm_lets_the_running_turn_end_within_grace_then_exits_0(self):
        server = Server(extra=["--grace", "1"]).wait_ready()
        response, connection = server.post_turn(turn_body("sleep 30"))
        response.readline()
        started = time.monotonic()
        server.run.send(signal.SIGTERM)
        lines = [json.loads(line) for line in response.read().decode().splitlines()]
        connection.close()
        self.assertEqual(lines[-1]["type"], "done")
        self.assertFalse(lines[-1]["ok"])
        self.assertEqual(server.stop(), 0)
        self.assertLess(time.monotonic() - started, 1 + 3)

    def test_sigterm_when_idle_exits_0_and_refuses_new_connections(self):
        server = Server().wait_ready()
        server.run.send(signal.SIGTERM)
        self.assertEqual(server.run.wait(10), 0)
        with self.assertRaises(OSError):
            server.get("/healthz")
        server.stop()


class SlowClients(ServeCase):
    def test_slowloris_does_not_starve_health(self):
        idle = []
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", self.server.port))
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
            idle.append(sock)
        try:
            started = time.monotonic()
            self.assertEqual(self.server.get("/health")[0], 200)
            self.assertLess(time.monotonic() - started, 1.0)
        finally:
            for sock in idle:
                sock.close()


class Probe(ServeCase):
    def test_probe_exits_0_on_2xx_and_1_otherwise(self):
        import subprocess as sp
        binary = os.environ["SANDBOX_INIT"]
        ok = sp.run([binary, "probe", f"http://127.0.0.1:{self.server.port}/healthz"])
        self.assertEqual(ok.returncode, 0)
        missing = sp.run([binary, "probe", f"http://127.0.0.1:{self.server.port}/nope"], capture_output=True)
        self.assertEqual(missing.returncode, 1)
        refused = sp.run([binary, "probe", "http://127.0.0.1:1/healthz"], capture_output=True)
        self.assertEqual(refused.returncode, 1)


if __name__ == "__main__":
    unittest.main()
