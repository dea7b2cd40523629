"""Part 4: lifecycle events reach the gateway through the spool, with nothing
lost: the real binary as PID 1, a loopback receiver that can be down, failing,
cutting connections or behind mTLS, and a supervisor killed mid-batch."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import JobRun, helper, job_run, wait_until
from receiver import Receiver, reserved_port
from serve_harness import Server, mint, turn_body


def classes(events):
    return [(event["class_uid"], event["activity_id"]) for event in events]


def assert_gap_free(test, events, first=1):
    sequences = [event["metadata"]["sequence"] for event in events]
    test.assertEqual(sequences, list(range(first, first + len(sequences))), sequences)


class SpoolDir:
    def __init__(self, test):
        self.parent = tempfile.mkdtemp(prefix="si-events-", dir="/var/tmp")
        test.addCleanup(shutil.rmtree, self.parent, True)
        self.path = os.path.join(self.parent, "events")


class JobEvents(unittest.TestCase):
    def setUp(self):
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.spool = SpoolDir(self)

    def job(self, command, url=None, extra=(), timeout=30):
        return job_run(["--events-spool", self.spool.path, "--events-url", url or self.receiver.url,
                        "--grace", "1", *extra, "--", *command], timeout=timeout)

    def test_job_lifecycle_events_all_arrive_in_order_without_gaps(self):
        result = self.job(["sh", "-c", "(sleep 0.05 &); sleep 0.3; exit 3"])
        self.assertEqual(result.process.returncode, 3)
        events = self.receiver.unique()
        self.assertEqual(classes(events), [(6002, 3), (5019, 1), (1007, 1), (1007, 99), (1007, 2), (6002, 4)],
                         [e["message"] for e in events])
        assert_gap_free(self, events)
        terminate = events[4]
        self.assertEqual(terminate["exit_code"], 3)
        for event in events:
            self.assertEqual(event["metadata"]["product"]["name"], "sandbox-init")
            self.assertEqual(event["type_uid"], event["class_uid"] * 100 + event["activity_id"])
            self.assertIn("session_id", event["unmapped"])
        self.assertIn("receipt", events[1]["unmapped"])
        self.assertEqual(self.receiver.content_types, {"application/x-ndjson"})
        self.assertEqual(len({e["metadata"]["uid"] for e in events}), len(events))

    def test_signal_forwarded_is_an_event(self):
        instance = JobRun(["--events-spool", self.spool.path, "--events-url", self.receiver.url, "--",
                           helper("stubborn"), "ignore-term"])
        self.addCleanup(instance.close)
        self.assertTrue(wait_until(lambda: "ready" in instance.stdout()))
        instance.send(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: any(e["activity_name"] == "Signal" for e in self.receiver.snapshot())))
        instance.send(signal.SIGKILL if False else signal.SIGINT)
        instance.wait(timeout=20)

    def test_gateway_down_then_up_loses_nothing_across_restarts(self):
        port = reserved_port()
        url = f"http://127.0.0.1:{port}/events"
        started = time.monotonic()
        first = self.job(["sh", "-c", "exit 0"], url=url)
        self.assertEqual(first.process.returncode, 0)
        self.assertLess(time.monotonic() - started, 10, "the flush is bounded by the grace period")
        self.assertIn("events left in the spool for the next start", first.log_messages())
        warnings = [r for r in first.logs()
                    if r["msg"] == "events cannot be delivered to the gateway; they wait in the spool"]
        self.assertEqual(len(warnings), 1, "said once, however often it retried")
        self.assertIn("onnect", warnings[0]["error"])
        receiver = Receiver(port=port)
        self.addCleanup(receiver.close)
        second = self.job(["sh", "-c", "exit 0"], url=url)
        self.assertEqual(second.process.returncode, 0)
        events = receiver.unique()
        self.assertEqual([e["activity_id"] for e in events if e["class_uid"] == 6002], [3, 4, 3, 4])
        assert_gap_free(self, events)

    def test_failures_and_cut_connections_are_retried_until_delivered(self):
        self.receiver.fail_next = 3
        self.receiver.cut_next = 2
        result = self.job(["sh", "-c", "exit 0"], extra=["--grace", "10"])
        self.assertEqual(result.process.returncode, 0)
        events = self.receiver.unique()
        self.assertEqual(classes(events)[0], (6002, 3))
        self.assertEqual(classes(events)[-1], (6002, 4))
        assert_gap_free(self, events)
        self.assertGreaterEqual(self.receiver.requests, 6)
        messages = result.log_messages()
        self.assertEqual(messages.count("events cannot be delivered to the gateway; they wait in the spool"), 1)
        self.assertEqual(messages.count("events are delivered to the gateway again"), 1)
        self.assertLess(messages.index("events cannot be delivered to the gateway; they wait in the spool"),
                        messages.index("events are delivered to the gateway again"))

    def test_workload_cannot_delete_or_rewrite_the_spool(self):
        self.job(["sh", "-c", "exit 0"])
        segments = sorted(os.listdir(self.spool.path))
        segment = os.path.join(self.spool.path, [s for s in segments if s.startswith("seg-")][0])
        before = open(segment, "rb").read()
        result = self.job([helper("escape"), "unlink", segment])
        self.assertEqual(result.stdout().strip(), "errno=EACCES")
        result = self.job([helper("escape"), "write", segment])
        self.assertEqual(result.stdout().strip(), "errno=EACCES")
        result = self.job([helper("escape"), "write", os.path.join(self.spool.path, "forged")])
        self.assertEqual(result.stdout().strip(), "errno=EACCES")
        self.assertTrue(open(segment, "rb").read().startswith(before))


class ServeEvents(unittest.TestCase):
    def test_auth_failures_and_turns_are_events_and_no_token_is_in_any(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        server = Server(extra=["--events-url", receiver.url]).wait_ready()
        token = mint()
        try:
            server.turn({"message": "x"}, token=None)
            server.turn({"message": "x", "workload_token": "garbage.token.here"})
            status, _ = server.turn({"message": "hello", "workload_token": token})
            self.assertEqual(status, 200)
        finally:
            server.stop()
        events = receiver.unique()
        text = json.dumps(events)
        self.assertNotIn(token, text)
        self.assertNotIn("garbage.token.here", text)
        self.assertNotIn("session-bound-runtime-token", text)
        auth = [e for e in events if e["class_uid"] == 3002]
        self.assertEqual([e["status_id"] for e in auth], [2, 2])
        codes = json.dumps(auth)
        self.assertIn("RUNTIME_AUTH_REQUIRED", codes)
        self.assertIn("WORKLOAD_TOKEN_INVALID", codes)
        turns = [e for e in events if e["class_uid"] == 6003]
        self.assertEqual([e["activity_id"] for e in turns], [1, 99])
        self.assertIn((6002, 99), classes(events))  # ready
        assert_gap_free(self, events)

    def test_kill_9_mid_batch_then_restart_on_the_same_spool_loses_nothing(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        receiver.delay = 0.5
        spool = SpoolDir(self)
        server = Server(extra=["--events-url", receiver.url, "--events-spool", spool.path]).wait_ready()
        for _ in range(20):
            server.turn({"message": "x"}, token=None)
        os.kill(server.run.init_pid, signal.SIGKILL)
        server.run.wait(10)
        receiver.delay = 0
        again = Server(extra=["--events-url", receiver.url, "--events-spool", spool.path]).wait_ready()
        again.turn({"message": "x"}, token=None)
        self.assertEqual(again.stop(), 0)
        events = receiver.unique()
        starts = [e for e in events if classes([e]) == [(6002, 3)]]
        self.assertEqual(len(starts), 2)
        self.assertEqual(len([e for e in events if e["class_uid"] == 3002]), 21)
        assert_gap_free(self, sorted(events, key=lambda e: e["metadata"]["sequence"]))


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory, name):
    key, cert = os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}")
    return key, cert


def issue(directory, name, ca_key, ca_cert, extension):
    key, csr, cert = (os.path.join(directory, f"{name}.{ext}") for ext in ("key", "csr", "pem"))
    extfile = os.path.join(directory, f"{name}.ext")
    with open(extfile, "w") as f:
        f.write(extension)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", csr, "-subj", f"/CN={name}")
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
            "-days", "2", "-extfile", extfile)
    return key, cert


class MutualTls(unittest.TestCase):
    def setUp(self):
        import ssl
        self.directory = tempfile.mkdtemp(prefix="si-mtls-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.directory, True)
        ca_key, self.ca = make_ca(self.directory, "test-ca")
        _, self.other_ca = make_ca(self.directory, "other-ca")
        server_key, server_cert = issue(self.directory, "receiver", ca_key, self.ca,
                                        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        self.client_key, self.client_cert = issue(self.directory, "sandbox-init", ca_key, self.ca,
                                                  "extendedKeyUsage=clientAuth\n")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(server_cert, server_key)
        context.load_verify_locations(self.ca)
        context.verify_mode = ssl.CERT_REQUIRED  # the gateway insists on our client certificate
        self.receiver = Receiver(tls=context)
        self.addCleanup(self.receiver.close)
        self.spool = SpoolDir(self)

    def job(self, ca):
        return job_run(["--events-spool", self.spool.path, "--events-url", self.receiver.url, "--grace", "2",
                        "--events-ca", ca, "--events-cert", self.client_cert, "--events-key", self.client_key,
                        "--", "sh", "-c", "exit 0"])

    def test_events_arrive_over_mtls_with_the_test_ca(self):
        result = self.job(self.ca)
        self.assertEqual(result.process.returncode, 0)
        events = self.receiver.unique()
        self.assertEqual(classes(events)[0], (6002, 3))
        assert_gap_free(self, events)

    def test_a_receiver_certificate_from_another_ca_is_refused(self):
        result = self.job(self.other_ca)
        self.assertEqual(result.process.returncode, 0)
        self.assertEqual(self.receiver.events, [])
        self.assertIn("events left in the spool for the next start", result.log_messages())


class FullSpool(unittest.TestCase):
    def test_a_full_spool_loses_no_workload_and_says_what_it_lost(self):
        parent = tempfile.mkdtemp(prefix="si-full-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, parent, True)
        env = dict(os.environ, SANDBOX_INIT_EVENTS_SPOOL=os.path.join(parent, "fs", "events"))
        # An 8 KiB tmpfs in a private mount namespace: the receipt alone outgrows it.
        script = (f"mkdir -p {parent}/fs && mount -t tmpfs -o size=8k tmpfs {parent}/fs && "
                  f"exec unshare --pid --fork --mount-proc {os.environ['SANDBOX_INIT']} "
                  f"--policy {JobRun.__init__.__globals__['job_policy']()} -- sh -c 'exit 4'")
        result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(result.returncode, 4, result.stderr[-2000:])
        records = [json.loads(line) for line in result.stderr.splitlines()]
        unspooled = [r for r in records if r["msg"] == "event" and r.get("spooled") is False]
        self.assertTrue(unspooled, "no event was reported as not spooled")
        self.assertTrue(any(r["event"]["class_uid"] == 5019 for r in unspooled))


if __name__ == "__main__":
    unittest.main()
