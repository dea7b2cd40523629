"""Part 1: sandbox-init as a correct PID 1 in job mode, through the real binary."""
import os
import re
import signal
import tempfile
import time
import unittest

from harness import JobRun as Run, helper, job_run as run, process_exists, wait_until

FORWARDED = ["SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"]


def read_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f.read().splitlines()]
    except FileNotFoundError:
        return []


class ExitStatus(unittest.TestCase):
    def test_exit_code_of_workload_is_passed_through(self):
        result = run(["--", "sh", "-c", "exit 7"])
        self.assertEqual(result.process.returncode, 7)

    def test_workload_killed_by_signal_exits_128_plus_signal(self):
        result = run(["--", "sh", "-c", "kill -KILL $$"])
        self.assertEqual(result.process.returncode, 128 + signal.SIGKILL)
        exits = [r for r in result.logs() if r["msg"] == "workload exited"]
        self.assertEqual(exits[0]["signal"], "SIGKILL")

    def test_workload_runs_as_pid_2_under_sandbox_init_as_pid_1(self):
        result = run(["--", "sh", "-c", 'echo "$$ $PPID"'])
        self.assertEqual(result.stdout().split(), ["2", "1"])
        start = result.logs()[0]
        self.assertEqual((start["msg"], start["pid1"], start["subreaper"]),
                         ("sandbox-init starting", True, False))

    def test_missing_program_exits_127_and_logs_enoent(self):
        result = run(["--", "/nonexistent/program"])
        self.assertEqual(result.process.returncode, 127)
        failure = [r for r in result.logs() if r["msg"] == "cannot start workload"][0]
        self.assertEqual((failure["step"], failure["errno"]), ("exec", 2))

    def test_program_not_in_path_exits_127(self):
        result = run(["--", "no-such-program-anywhere"])
        self.assertEqual(result.process.returncode, 127)

    def test_non_executable_file_exits_126_and_logs_eacces(self):
        with tempfile.NamedTemporaryFile(suffix=".sh") as script:
            os.chmod(script.name, 0o644)
            result = run(["--", script.name])
        self.assertEqual(result.process.returncode, 126)
        failure = [r for r in result.logs() if r["msg"] == "cannot start workload"][0]
        self.assertEqual(failure["errno"], 13)

    def test_program_found_through_path(self):
        result = run(["--", "true"])
        self.assertEqual(result.process.returncode, 0)

    def test_word_serve_after_double_dash_is_the_workload(self):
        result = run(["--", "serve"])
        self.assertEqual(result.process.returncode, 127)


class Reaping(unittest.TestCase):
    def test_orphan_grandchild_is_reaped_while_main_child_runs(self):
        result = run(["--", helper("orphan-storm"), "1", "10"])
        self.assertEqual(result.process.returncode, 0, result.stderr())
        self.assertIn("reaped 1 in", result.stdout())

    def test_double_forked_shell_grandchildren_leave_no_zombies(self):
        script = ('for i in 1 2 3 4 5; do (sleep 0.05 &) ; done; sleep 0.5; '
                  'ps -eo stat= | grep -c "^Z" || true')
        result = run(["--", "sh", "-c", script])
        self.assertEqual(result.stdout().strip(), "0")

    def test_storm_of_10000_orphans_leaves_no_zombies(self):
        result = run(["--", helper("orphan-storm"), "10000", "60"], timeout=120)
        self.assertEqual(result.process.returncode, 0, result.stderr()[-2000:])
        reaped = [r for r in result.logs() if r["msg"] == "reaped orphans"]
        self.assertEqual(reaped[-1]["total"], 10000)


class SignalForwarding(unittest.TestCase):
    def start_recorder(self, record):
        instance = Run(["--", helper("signal-recorder"), record])
        self.addCleanup(instance.close)
        ready = wait_until(lambda: len([l for l in read_lines(record) if l[1] == "ready"]) == 3)
        self.assertTrue(ready, "signal-recorder group did not start")
        return instance

    def receivers(self, record, name):
        return {line[0] for line in read_lines(record) if line[1] == name}

    def test_each_forwarded_signal_reaches_the_whole_process_group(self):
        with tempfile.TemporaryDirectory() as directory:
            record = os.path.join(directory, "signals")
            instance = self.start_recorder(record)
            group = {line[0] for line in read_lines(record)}
            for name in FORWARDED:
                instance.send(getattr(signal, name))
                self.assertTrue(wait_until(lambda: self.receivers(record, name) == group),
                                f"{name} reached {self.receivers(record, name)} of {group}")
            instance.send(signal.SIGTERM)
            self.assertEqual(instance.wait(), 0)
            self.assertEqual(self.receivers(record, "SIGTERM"), group)
            forwarded = [r["signal"] for r in instance.logs() if r["msg"] == "forwarded signal"]
            self.assertEqual(forwarded, FORWARDED + ["SIGTERM"])

    def test_sigint_reaches_the_group_and_starts_shutdown(self):
        with tempfile.TemporaryDirectory() as directory:
            record = os.path.join(directory, "signals")
            instance = self.start_recorder(record)
            group = {line[0] for line in read_lines(record)}
            instance.send(signal.SIGINT)
            self.assertEqual(instance.wait(), 0)
            self.assertEqual(self.receivers(record, "SIGINT"), group)

    def test_signal_sent_as_soon_as_sandbox_init_blocks_signals_is_not_lost(self):
        # Sent at the first moment sandbox-init can hold a signal, most likely
        # before the workload exists: it must wait in the signalfd and reach
        # the workload once it does.
        instance = Run(["--", "sleep", "30"])
        self.addCleanup(instance.close)
        pid = instance.init_pid

        def sigterm_blocked():
            # unshare's child blocks SIGTERM around its fork too: only count
            # the mask once the process is sandbox-init itself.
            try:
                if os.path.realpath(f"/proc/{pid}/exe") != os.path.realpath(os.environ["SANDBOX_INIT"]):
                    return False
                with open(f"/proc/{pid}/status") as f:
                    blocked = int(re.search(r"SigBlk:\s+([0-9a-f]+)", f.read()).group(1), 16)
            except (FileNotFoundError, AttributeError):
                return False
            return bool(blocked & (1 << (signal.SIGTERM - 1)))
        self.assertTrue(wait_until(sigterm_blocked, interval=0.0005))
        instance.send(signal.SIGTERM)
        self.assertEqual(instance.wait(timeout=10), 128 + signal.SIGTERM)


class Shutdown(unittest.TestCase):
    def test_workload_ignoring_sigterm_is_killed_within_grace_plus_one_second(self):
        instance = Run(["--grace", "1", "--", helper("stubborn"), "ignore-term"])
        self.addCleanup(instance.close)
        self.assertTrue(wait_until(lambda: "ready" in instance.stdout()))
        started = time.monotonic()
        instance.send(signal.SIGTERM)
        status = instance.wait(timeout=10)
        elapsed = time.monotonic() - started
        self.assertEqual(status, 128 + signal.SIGKILL)
        self.assertLess(elapsed, 1 + 1)
        self.assertIn("grace period over, killing remaining processes", instance.log_messages())

    def test_descendant_that_left_the_session_is_terminated_when_workload_exits(self):
        with tempfile.TemporaryDirectory() as directory:
            pid_file = os.path.join(directory, "pid")
            result = run(["--grace", "1", "--", "sh", "-c",
                          f"{helper('stubborn')} leave-behind {pid_file}; exit 5"],
                         pid_namespace=False, timeout=10)
            self.assertEqual(result.process.returncode, 5)
            with open(pid_file) as f:
                left_behind = int(f.read())
            self.assertFalse(process_exists(left_behind), "descendant survived sandbox-init")
            messages = result.log_messages()
            self.assertIn("terminating remaining processes", messages)
            self.assertIn("grace period over, killing remaining processes", messages)

    def test_descendants_that_obey_sigterm_end_without_sigkill(self):
        result = run(["--grace", "5", "--", "sh", "-c", "(sleep 60 &) ; exit 0"], timeout=10)
        self.assertEqual(result.process.returncode, 0)
        messages = result.log_messages()
        self.assertIn("terminating remaining processes", messages)
        self.assertNotIn("grace period over, killing remaining processes", messages)


class Subreaper(unittest.TestCase):
    def test_not_pid_1_becomes_subreaper_and_adopts_orphans(self):
        result = run(["--", "sh", "-c", "(sh -c 'sleep 0.2; echo adopted-by $PPID' &); sleep 1"],
                     pid_namespace=False)
        self.assertEqual(result.process.returncode, 0)
        self.assertIn(f"adopted-by {result.process.pid}", result.stdout())
        self.assertIn("became child subreaper", result.log_messages())

    def test_orphan_storm_is_reaped_as_subreaper(self):
        result = run(["--", helper("orphan-storm"), "500", "30"], pid_namespace=False)
        self.assertEqual(result.process.returncode, 0, result.stderr()[-2000:])

    def test_subreaper_flag_as_pid_1_is_honoured(self):
        result = run(["--subreaper", "--", "true"])
        self.assertTrue(result.logs()[0]["subreaper"])

    def test_subreaper_variable_is_honoured(self):
        env = dict(os.environ, SANDBOX_INIT_SUBREAPER="1")
        result = run(["--", "true"], env=env)
        self.assertTrue(result.logs()[0]["subreaper"])


class Terminal(unittest.TestCase):
    def test_a_terminal_that_is_not_ours_does_not_stop_the_workload(self):
        import pty
        master, slave = pty.openpty()
        try:
            result = run(["--", "sh", "-c", "test -t 0 && echo on-a-terminal"], stdin=slave)
        finally:
            os.close(master)
            os.close(slave)
        self.assertEqual(result.process.returncode, 0, result.stderr())
        self.assertEqual(result.stdout().strip(), "on-a-terminal")


class FileDescriptors(unittest.TestCase):
    def test_workload_gets_only_fds_0_to_2(self):
        read_end, write_end = os.pipe()
        os.set_inheritable(read_end, True)
        os.set_inheritable(write_end, True)
        try:
            result = run(["--", helper("fd-report")], pass_fds=(read_end, write_end))
        finally:
            os.close(read_end)
            os.close(write_end)
        self.assertEqual(result.stdout().split(), ["0", "1", "2"])


class JobHealth(unittest.TestCase):
    def test_job_serves_health_only_when_listen_is_given(self):
        import http.client
        import json
        import socket
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with tempfile.TemporaryDirectory() as workspace:
            open(os.path.join(workspace, "knowledge-graph-id"), "w").close()
            instance = Run(["--listen", f"127.0.0.1:{port}", "--workspace", workspace, "--",
                            "sleep", "30"])
            self.addCleanup(instance.close)

            def get(path, method="GET"):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    connection.request(method, path)
                    response = connection.getresponse()
                    return response.status, response.read()
                except OSError:
                    return None, b""
                finally:
                    connection.close()
            self.assertTrue(wait_until(lambda: get("/healthz")[0] == 200))
            self.assertEqual(json.loads(get("/health")[1])["status"], "ok")
            self.assertEqual(get("/readyz")[0], 200)
            self.assertEqual(get("/v1/turn", "POST")[0], 404)
            instance.send(signal.SIGTERM)
            self.assertEqual(instance.wait(), 128 + signal.SIGTERM)


class Configuration(unittest.TestCase):
    def test_unknown_flag_exits_2_with_one_line_naming_it(self):
        result = run(["--no-such-flag", "--", "true"])
        self.assertEqual(result.process.returncode, 2)
        lines = result.stderr().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertIn("--no-such-flag", lines[0])

    def test_bad_grace_exits_2_naming_the_flag(self):
        result = run(["--grace", "soon", "--", "true"])
        self.assertEqual(result.process.returncode, 2)
        self.assertIn("--grace", result.stderr())

    def test_bad_grace_variable_exits_2_naming_the_variable(self):
        env = dict(os.environ, SANDBOX_INIT_GRACE_SECONDS="-1")
        result = run(["--", "true"], env=env)
        self.assertEqual(result.process.returncode, 2)
        self.assertIn("SANDBOX_INIT_GRACE_SECONDS", result.stderr())

    def test_workload_token_in_environment_is_refused_before_spawning(self):
        env = dict(os.environ, KARTOGRAPH_WORKLOAD_TOKEN="eyJhbGciOi.x.y")
        result = run(["--", "sh", "-c", "echo spawned"], env=env)
        self.assertEqual(result.process.returncode, 2)
        self.assertNotIn("spawned", result.stdout())
        self.assertIn("KARTOGRAPH_WORKLOAD_TOKEN", result.stderr())
        self.assertNotIn("eyJhbGciOi", result.stderr())

    def test_secret_variables_never_reach_the_workload(self):
        env = dict(os.environ, KARTOGRAPH_RUNTIME_AUTH_TOKEN="runtime-secret-value",
                   KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY="signing-secret-value-0123456789abcdef",
                   OTHER_SIGNING_KEY="other-secret")
        result = run(["--", "sh", "-c", "env; cat /proc/self/cmdline"], env=env)
        self.assertEqual(result.process.returncode, 0)
        for secret in ("runtime-secret-value", "signing-secret-value", "other-secret"):
            self.assertNotIn(secret, result.stdout())
            self.assertNotIn(secret, result.stderr())

    def test_no_command_exits_2(self):
        result = run([])
        self.assertEqual(result.process.returncode, 2)

    def test_help_and_version(self):
        self.assertIn("usage: sandbox-init", run(["--help"]).stdout())
        self.assertRegex(run(["--version"]).stdout(), r"^sandbox-init \d+\.\d+\.\d+")

    def test_every_log_line_is_json_with_a_level(self):
        result = run(["--", "sh", "-c", "exit 0"])
        levels = {record["level"] for record in result.logs()}
        self.assertTrue(levels <= {"debug", "info", "warn", "error"})


if __name__ == "__main__":
    unittest.main()
