"""Part 2: the escape battery.  Each case runs the real binary as PID 1 of a PID
namespace under a policy, has a test workload try one escape, and asserts the
precise failure; each has a twin showing the same operation works where the
policy allows it."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import unittest

from harness import Run, helper, run

SIGSYS_EXIT = 128 + signal.SIGSYS
NOBODY = 65534


class Layout:
    """A tree outside every path the policies grant:
    ro/ (read-only: data, a copy of the escape helper, a setuid-root `id`),
    rw/ (read-write, the workspace), outside/ (not granted at all), and a
    mode policy allowing TCP connect to one of two loopback listeners."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="si-confinement-", dir="/var/tmp")
        os.chmod(self.root, 0o755)
        self.ro = self.make_dir("ro", 0o755)
        self.rw = self.make_dir("rw", 0o777)
        self.outside = self.make_dir("outside", 0o755)
        self.policies = self.make_dir("policies", 0o755)
        self.write(os.path.join(self.ro, "data"), "read-only data\n", 0o644)
        self.write(os.path.join(self.rw, "file"), "read-write data\n", 0o666)
        self.write(os.path.join(self.outside, "secret"), "outside\n", 0o644)
        self.escape = os.path.join(self.ro, "escape")
        shutil.copy(helper("escape"), self.escape)
        shutil.copy(helper("escape"), os.path.join(self.rw, "escape"))
        os.chmod(os.path.join(self.rw, "escape"), 0o755)
        self.setuid_id = os.path.join(self.ro, "setuid-id")
        shutil.copy("/usr/bin/id", self.setuid_id)
        os.chmod(self.setuid_id, 0o4755)
        os.symlink(os.path.join(self.outside, "secret"), os.path.join(self.rw, "link-out"))
        self.listeners = [self.listen(), self.listen()]
        self.allowed_port = self.listeners[0].getsockname()[1]
        self.denied_port = self.listeners[1].getsockname()[1]
        self.write(os.path.join(self.policies, "test-mode.yaml"), textwrap.dedent(f"""\
            version: 1
            name: test-mode
            enforcement: soft
            description: loopback stand-in for the Kartograph API
            endpoints:
              - "kartograph-api:{self.allowed_port}:read-write"
            """), 0o644)
        self.policy = self.sandbox_policy()

    def make_dir(self, name, mode):
        path = os.path.join(self.root, name)
        os.mkdir(path)
        os.chmod(path, mode)
        return path

    @staticmethod
    def write(path, text, mode):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    @staticmethod
    def listen():
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        return listener

    def sandbox_policy(self, name="policy.yaml", extra="", compatibility="best_effort",
                       read_only_extra=()):
        read_only = ["/usr", "/lib", "/lib64", "/bin", "/etc", "/proc", "/dev/urandom", self.ro,
                     *read_only_extra]
        path = os.path.join(self.policies, name)
        self.write(path, textwrap.dedent(f"""\
            version: 1
            filesystem_policy:
              include_workdir: true
              read_only: [{", ".join(read_only)}]
              read_write: [/dev/null]
            landlock:
              compatibility: {compatibility}
            """) + extra, 0o644)
        return path

    def close(self):
        for listener in self.listeners:
            listener.close()
        shutil.rmtree(self.root)


class ConfinedRun:
    layout = None

    @classmethod
    def setUpClass(cls):
        cls.layout = Layout()

    @classmethod
    def tearDownClass(cls):
        cls.layout.close()

    def sandbox_args(self, policy=None, extra=()):
        layout = self.layout
        return ["--policy", policy or layout.policy, "--policy-dir", layout.policies,
                "--mode", "test-mode", "--workspace", layout.rw,
                "--events-spool", "/var/lib/sandbox-init-test/events", *extra]

    def confined(self, *operation, policy=None, extra=()):
        return run(self.sandbox_args(policy, extra) + ["--", self.layout.escape, *operation])

    def outcome(self, *operation, **kwargs):
        result = self.confined(*operation, **kwargs)
        if result.process.returncode != 0:
            return f"exit {result.process.returncode}"
        return result.stdout().strip()


class EscapeBattery(ConfinedRun, unittest.TestCase):
    def test_reading_a_read_only_path_works(self):
        self.assertEqual(self.outcome("read", f"{self.layout.ro}/data"), "ok")

    def test_reading_outside_the_policy_fails_with_eacces(self):
        self.assertEqual(self.outcome("read", f"{self.layout.outside}/secret"), "errno=EACCES")

    def test_writing_a_read_only_path_fails_with_eacces(self):
        self.assertEqual(self.outcome("write", f"{self.layout.ro}/new"), "errno=EACCES")

    def test_writing_the_workspace_works(self):
        self.assertEqual(self.outcome("write", f"{self.layout.rw}/new-file"), "ok")

    def test_truncating_a_read_only_file_fails_with_eacces(self):
        self.assertEqual(self.outcome("truncate", f"{self.layout.ro}/data"), "errno=EACCES")
        self.assertEqual(os.path.getsize(f"{self.layout.ro}/data"), 15)

    def test_truncating_a_workspace_file_works(self):
        path = f"{self.layout.rw}/to-truncate"
        Layout.write(path, "abc", 0o666)
        self.assertEqual(self.outcome("truncate", path), "ok")

    def test_renaming_out_of_the_workspace_into_read_only_fails_with_eacces(self):
        path = f"{self.layout.rw}/movable"
        Layout.write(path, "x", 0o666)
        self.assertEqual(self.outcome("rename", path, f"{self.layout.ro}/moved"), "errno=EACCES")
        self.assertEqual(self.outcome("rename", path, f"{self.layout.outside}/moved"), "errno=EACCES")
        self.assertTrue(os.path.exists(path))

    def test_renaming_within_the_workspace_works(self):
        path = f"{self.layout.rw}/rename-me"
        Layout.write(path, "x", 0o666)
        os.makedirs(f"{self.layout.rw}/sub", exist_ok=True)
        os.chmod(f"{self.layout.rw}/sub", 0o777)
        self.assertEqual(self.outcome("rename", path, f"{self.layout.rw}/sub/renamed"), "ok")

    def test_hard_linking_out_of_the_workspace_fails_with_eacces(self):
        self.assertEqual(self.outcome("link", f"{self.layout.rw}/file", f"{self.layout.outside}/link"),
                         "errno=EACCES")
        self.assertEqual(self.outcome("link", f"{self.layout.rw}/file", f"{self.layout.rw}/link"), "ok")

    def test_symlink_pointing_outside_does_not_open_the_target(self):
        self.assertEqual(self.outcome("read", f"{self.layout.rw}/link-out"), "errno=EACCES")

    def test_executing_from_the_writable_workspace_fails_with_eacces(self):
        self.assertEqual(self.outcome("exec", f"{self.layout.rw}/escape", "getppid"), "errno=EACCES")

    def test_executing_from_a_read_only_path_works(self):
        self.assertEqual(self.outcome("exec", self.layout.escape, "getppid"), "ok")

    def test_allow_exec_writable_lifts_w_xor_x(self):
        self.assertEqual(self.outcome("exec", f"{self.layout.rw}/escape", "getppid",
                                      extra=["--allow-exec-writable"]), "ok")

    def test_creating_a_device_node_fails_with_eacces(self):
        self.assertEqual(self.outcome("mknod-char", f"{self.layout.rw}/null"), "errno=EACCES")

    def test_connect_to_a_port_the_mode_lists_works(self):
        self.assertEqual(self.outcome("connect", str(self.layout.allowed_port)), "ok")

    def test_connect_to_a_port_the_mode_does_not_list_fails_with_eacces(self):
        # The listener is there: unconfined, the same connect succeeds.
        socket.create_connection(("127.0.0.1", self.layout.denied_port), timeout=2).close()
        self.assertEqual(self.outcome("connect", str(self.layout.denied_port)), "errno=EACCES")

    def test_bind_fails_with_eacces_even_on_an_allowed_port(self):
        self.assertEqual(self.outcome("bind", "0"), "errno=EACCES")
        self.assertEqual(self.outcome("bind", str(self.layout.allowed_port)), "errno=EACCES")

    def test_sockets_landlock_cannot_see_are_refused_by_seccomp(self):
        for kind in ("mptcp", "sctp", "packet", "raw", "netlink-uevent", "vsock"):
            with self.subTest(kind=kind):
                self.assertEqual(self.outcome("socket", kind), "errno=EPERM")

    def test_ordinary_sockets_still_work(self):
        for kind in ("inet-stream", "netlink-route"):
            with self.subTest(kind=kind):
                self.assertEqual(self.outcome("socket", kind), "ok")

    def test_io_uring_is_refused_with_enosys(self):
        self.assertEqual(self.outcome("io_uring"), "errno=ENOSYS")

    def test_new_namespaces_are_refused_with_eperm(self):
        self.assertEqual(self.outcome("unshare-user"), "errno=EPERM")
        self.assertEqual(self.outcome("unshare-net"), "errno=EPERM")

    def test_mount_is_refused_with_eperm(self):
        self.assertEqual(self.outcome("mount"), "errno=EPERM")

    def test_ptrace_of_pid_1_is_refused_with_eperm(self):
        self.assertEqual(self.outcome("ptrace-pid1"), "errno=EPERM")

    def test_killing_pid_1_is_refused_but_own_children_can_be_signalled(self):
        self.assertEqual(self.outcome("kill-pid1"), "errno=EPERM")
        self.assertEqual(self.outcome("kill-own-child"), "ok")

    def test_supervisor_memory_and_environment_are_unreadable(self):
        self.assertEqual(self.outcome("read", "/proc/1/environ"), "errno=EACCES")
        self.assertEqual(self.outcome("read", "/proc/1/mem"), "errno=EACCES")

    def test_tiocsti_is_refused_while_other_terminal_ioctls_pass(self):
        self.assertEqual(self.outcome("tiocsti"), "errno=EPERM")
        self.assertEqual(self.outcome("tiocgwinsz"), "errno=ENOTTY")  # stdin is /dev/null

    def test_x32_and_int_0x80_entries_are_killed(self):
        self.assertEqual(self.outcome("x32"), f"exit {SIGSYS_EXIT}")
        self.assertEqual(self.outcome("int80"), f"exit {SIGSYS_EXIT}")
        self.assertEqual(self.outcome("getppid"), "ok")

    def test_no_capabilities_and_no_new_privs_in_the_workload(self):
        result = run(self.sandbox_args() + ["--", "/bin/cat", "/proc/self/status"])
        status = dict(line.split(":", 1) for line in result.stdout().splitlines())
        for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(status[field], 16), 0, field)
        self.assertEqual(status["NoNewPrivs"].strip(), "1")
        self.assertEqual(status["Seccomp"].strip(), "2")

    def test_rlimits_are_applied(self):
        result = run(self.sandbox_args() + ["--", "/bin/sh", "-c", "ulimit -c; ulimit -n"])
        self.assertEqual(result.stdout().split(), ["0", "4096"])

    def test_environment_is_an_allow_list(self):
        env = dict(os.environ, LD_PRELOAD="/nonexistent.so", AWS_SECRET_ACCESS_KEY="aws",
                   KARTOGRAPH_SESSION_ID="session-1", ANTHROPIC_MODEL="claude",
                   KARTOGRAPH_RUNTIME_AUTH_TOKEN="runtime-secret")
        result = run(self.sandbox_args(extra=["--pass-env", "*"]) + ["--", "/usr/bin/env"], env=env)
        names = {line.split("=", 1)[0] for line in result.stdout().splitlines()}
        self.assertIn("KARTOGRAPH_SESSION_ID", names)
        self.assertIn("ANTHROPIC_MODEL", names)
        self.assertNotIn("KARTOGRAPH_RUNTIME_AUTH_TOKEN", names)
        self.assertNotIn("runtime-secret", result.stdout() + result.stderr())
        plain = run(self.sandbox_args() + ["--", "/usr/bin/env"], env=env)
        plain_names = {line.split("=", 1)[0] for line in plain.stdout().splitlines()}
        self.assertNotIn("LD_PRELOAD", plain_names)
        self.assertNotIn("AWS_SECRET_ACCESS_KEY", plain_names)


class Identity(ConfinedRun, unittest.TestCase):
    def test_policy_identity_is_taken_and_a_setuid_binary_gains_nothing(self):
        policy = self.layout.sandbox_policy(
            "nobody.yaml", extra="process:\n  run_as_user: nobody\n  run_as_group: nogroup\n")
        result = run(self.sandbox_args(policy) + ["--", self.layout.setuid_id, "-u"])
        self.assertEqual(result.stdout().strip(), str(NOBODY))
        # Twin: the same setuid binary run as nobody without sandbox-init does gain root.
        twin = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                               self.layout.setuid_id, "-u"], capture_output=True, text=True)
        self.assertEqual(twin.stdout.strip(), "0")

    def test_workload_runs_with_the_policy_uid_and_gid(self):
        policy = self.layout.sandbox_policy(
            "nobody-ids.yaml", extra="process:\n  run_as_user: \"65534\"\n  run_as_group: \"65534\"\n")
        result = run(self.sandbox_args(policy) + ["--", "/usr/bin/id"])
        self.assertTrue(result.stdout().startswith("uid=65534(nobody) gid=65534(nogroup)"),
                        result.stdout() + result.stderr())


class Unprivileged(ConfinedRun, unittest.TestCase):
    """OpenShell starts sandbox-init as its unprivileged sandbox user: the
    identity and bounding-set steps are skipped and said so; Landlock and
    seccomp still hold."""

    def unprivileged(self, *operation, policy=None):
        # The spool must be the unprivileged supervisor's own.
        spool_parent = tempfile.mkdtemp(prefix="si-spool-", dir="/var/tmp")
        os.chown(spool_parent, NOBODY, NOBODY)
        self.addCleanup(shutil.rmtree, spool_parent, True)
        sandbox_args = self.sandbox_args(policy)
        sandbox_args[sandbox_args.index("--events-spool") + 1] = os.path.join(spool_parent, "events")
        args = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
                os.environ["SANDBOX_INIT"]] + sandbox_args + ["--", self.layout.escape, *operation]
        # A sanitizer build's LeakSanitizer needs ptrace of its own threads,
        # which a non-dumpable process without CAP_SYS_PTRACE is denied.
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        result = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc"] + args,
                                capture_output=True, text=True, timeout=30, env=env)
        return result

    def test_escapes_still_fail_when_started_unprivileged(self):
        cases = {("write", f"{self.layout.ro}/new"): "errno=EACCES",
                 ("connect", str(self.layout.denied_port)): "errno=EACCES",
                 ("connect", str(self.layout.allowed_port)): "ok",
                 ("unshare-user",): "errno=EPERM",
                 ("kill-pid1",): "errno=EPERM",
                 ("write", f"{self.layout.rw}/unprivileged"): "ok"}
        for operation, expected in cases.items():
            with self.subTest(operation=operation):
                result = self.unprivileged(*operation)
                self.assertEqual(result.stdout.strip(), expected, result.stderr)

    def test_receipt_says_what_an_unprivileged_start_could_not_do(self):
        policy = self.layout.sandbox_policy(
            "unprivileged-nobody.yaml", extra="process:\n  run_as_user: daemon\n")
        result = self.unprivileged("getppid", policy=policy)
        self.assertEqual(result.stdout.strip(), "ok", result.stderr)
        records = [json.loads(line) for line in result.stderr.splitlines()]
        receipt = [r for r in records if r["msg"] == "policy applied"][0]["receipt"]
        self.assertFalse(receipt["process"]["privileged"])
        self.assertEqual(receipt["process"]["capabilities"]["bounding"], "unchanged (unprivileged)")
        self.assertTrue(receipt["degraded"])
        self.assertIn("enforcement degraded: best_effort left part of the policy unenforced",
                      [r["msg"] for r in records])

    def test_hard_requirement_refuses_an_identity_it_cannot_take(self):
        policy = self.layout.sandbox_policy(
            "unprivileged-hard.yaml", compatibility="hard_requirement",
            extra="process:\n  run_as_user: daemon\n")
        result = self.unprivileged("write", f"{self.layout.rw}/must-not-exist", policy=policy)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertFalse(os.path.exists(f"{self.layout.rw}/must-not-exist"))
        self.assertIn("policy not enforceable", result.stderr)


class Enforcement(ConfinedRun, unittest.TestCase):
    def test_hard_requirement_with_a_missing_path_refuses_to_start_the_workload(self):
        policy = self.layout.sandbox_policy("hard-missing.yaml", compatibility="hard_requirement",
                                            read_only_extra=("/nonexistent-for-test",))
        marker = f"{self.layout.rw}/spawned"
        result = run(self.sandbox_args(policy) + ["--", "/bin/touch", marker])
        self.assertEqual(result.process.returncode, 2)
        self.assertFalse(os.path.exists(marker))
        errors = [r["msg"] for r in result.logs() if r["level"] == "error" and r["msg"] != "event"]
        self.assertEqual(len(errors), 1)
        self.assertIn("/nonexistent-for-test", errors[0])
        findings = [r["event"] for r in result.logs() if r["msg"] == "event" and r["event"]["class_uid"] == 2004]
        self.assertEqual(len(findings), 1)
        self.assertEqual(findings[0]["severity_id"], 4)

    def test_best_effort_with_a_missing_path_runs_and_records_the_skip(self):
        policy = self.layout.sandbox_policy("soft-missing.yaml",
                                            read_only_extra=("/nonexistent-for-test",))
        result = run(self.sandbox_args(policy) + ["--", "/bin/true"])
        self.assertEqual(result.process.returncode, 0)
        receipt = [r for r in result.logs() if r["msg"] == "policy applied"][0]["receipt"]
        self.assertIn({"what": "/nonexistent-for-test", "why": "read_only path: No such file or directory"},
                      receipt["skipped"])

    def test_enforcement_flag_overrides_the_policy(self):
        policy = self.layout.sandbox_policy("soft-missing-2.yaml",
                                            read_only_extra=("/nonexistent-for-test",))
        result = run(self.sandbox_args(policy, extra=["--enforcement", "hard_requirement"]) +
                     ["--", "/bin/true"])
        self.assertEqual(result.process.returncode, 2)

    def test_read_write_path_over_the_state_dir_is_refused_under_hard_requirement(self):
        spool = f"{self.layout.rw}/spool"
        args = self.sandbox_args(extra=["--enforcement", "hard_requirement"])
        args[args.index("--events-spool") + 1] = spool
        result = run(args + ["--", "/bin/true"])
        self.assertEqual(result.process.returncode, 2)
        self.assertIn("state directory", result.stderr())

    def test_read_write_path_over_the_state_dir_is_a_finding_under_best_effort(self):
        args = self.sandbox_args()
        args[args.index("--events-spool") + 1] = f"{self.layout.rw}/spool"
        result = run(args + ["--", "/bin/true"])
        self.assertEqual(result.process.returncode, 0)
        receipt = [r for r in result.logs() if r["msg"] == "policy applied"][0]["receipt"]
        self.assertFalse(receipt["state_dir"]["protected"])
        self.assertTrue(receipt["degraded"])

    def test_broken_policy_exits_2_naming_file_line_and_field(self):
        broken = os.path.join(self.layout.policies, "broken.yaml")
        Layout.write(broken, "version: 1\nfilesystem_policy:\n  read_only: [relative/path]\n", 0o644)
        result = run(self.sandbox_args(broken) + ["--", "/bin/true"])
        self.assertEqual(result.process.returncode, 2)
        self.assertIn(f"{broken}:3", result.stderr())
        self.assertIn("read_only", result.stderr())

    def test_unknown_mode_exits_2_naming_the_file(self):
        args = self.sandbox_args()
        args[args.index("--mode") + 1] = "no-such-mode"
        result = run(args + ["--", "/bin/true"])
        self.assertEqual(result.process.returncode, 2)
        self.assertIn("no-such-mode.yaml", result.stderr())

    def test_mode_name_cannot_climb_out_of_the_policy_dir(self):
        args = self.sandbox_args()
        args[args.index("--mode") + 1] = "../policies/test-mode"
        result = run(args + ["--", "/bin/true"])
        self.assertEqual(result.process.returncode, 2)
        self.assertIn("is not a policy name", result.stderr())


class CheckPolicy(ConfinedRun, unittest.TestCase):
    def receipt(self, *extra):
        result = run(["check-policy"] + self.sandbox_args(extra=extra), pid_namespace=False)
        return result, (json.loads(result.stdout()) if result.stdout() else None)

    def test_receipt_lists_abi_rights_rules_ports_scopes_seccomp_and_identity(self):
        result, receipt = self.receipt()
        self.assertEqual(result.process.returncode, 0, result.stderr())
        landlock = receipt["landlock"]
        self.assertGreaterEqual(landlock["abi"], 6)
        self.assertIn("truncate", landlock["handled_access_fs"])
        self.assertIn({"path": self.layout.ro, "kind": "read_only", "type": "directory",
                       "access": ["execute", "read_file", "read_dir"]}, landlock["rules"])
        self.assertEqual(receipt["network"]["tcp_connect_ports"], [self.layout.allowed_port])
        self.assertEqual(landlock["scopes"], ["abstract_unix_socket", "signal"])
        denied = {rule["syscall"] for rule in receipt["seccomp"]["denied"]}
        self.assertTrue({"ptrace", "bpf", "mount", "io_uring_setup", "kexec_load"} <= denied)
        self.assertEqual(receipt["process"]["capabilities"]["effective"], [])
        self.assertEqual(receipt["process"]["rlimits"]["core"], [0, 0])
        self.assertIn("udp", receipt["open"])
        self.assertNotIn("mptcp", receipt["open"])

    def test_proxy_port_joins_the_connect_allow_list(self):
        env = dict(os.environ, HTTPS_PROXY="http://10.200.0.1:3128")
        result = run(["check-policy"] + self.sandbox_args(), pid_namespace=False, env=env)
        receipt = json.loads(result.stdout())
        self.assertEqual(receipt["network"]["tcp_connect_ports"], sorted([self.layout.allowed_port, 3128]))
        self.assertEqual(receipt["network"]["proxy_port"], 3128)

    def test_unenforceable_hard_requirement_prints_the_receipt_and_exits_2(self):
        policy = self.layout.sandbox_policy("check-hard.yaml", compatibility="hard_requirement",
                                            read_only_extra=("/nonexistent-for-check",))
        result = run(["check-policy"] + self.sandbox_args(policy), pid_namespace=False)
        self.assertEqual(result.process.returncode, 2)
        receipt = json.loads(result.stdout())
        self.assertFalse(receipt["enforceable"])
        self.assertIn("/nonexistent-for-check", receipt["refused"])

    def test_builtin_default_applies_without_a_policy(self):
        result = run(["check-policy", "--workspace", self.layout.rw], pid_namespace=False)
        receipt = json.loads(result.stdout())
        if os.path.exists("/etc/openshell/policy.yaml"):
            self.skipTest("this machine has /etc/openshell/policy.yaml, which takes precedence")
        self.assertEqual(receipt["policy"]["sandbox"], "built-in default")
        self.assertEqual(receipt["filesystem"]["read_write"], ["/tmp", "/dev/null", self.layout.rw])
        self.assertEqual(receipt["network"]["tcp_connect_ports"], [])


if __name__ == "__main__":
    unittest.main()
