"""Runs the real sandbox-init binary the way OpenShell does: as PID 1 of a fresh
PID and mount namespace (or, for subreaper tests, as a plain child)."""
import json
import os
import signal
import subprocess
import tempfile
import time

SANDBOX_INIT = os.environ["SANDBOX_INIT"]
HELPERS = os.environ["SI_HELPERS"]
SOURCE_DIR = os.environ["SI_SOURCE_DIR"]


def helper(name):
    return os.path.join(HELPERS, name)


def wait_until(predicate, timeout=10.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Run:
    """One sandbox-init process.  pid_namespace=True puts it at PID 1."""

    def __init__(self, args, pid_namespace=True, env=None, pass_fds=(), stdin=subprocess.DEVNULL):
        self.stderr_file = tempfile.TemporaryFile()
        self.stdout_file = tempfile.TemporaryFile()
        prefix = ["unshare", "--pid", "--fork", "--mount-proc"] if pid_namespace else []
        full_env = dict(os.environ if env is None else env)
        # Each run its own event spool: the spool admits one supervisor at a time.
        if "--events-spool" not in args and "SANDBOX_INIT_EVENTS_SPOOL" not in full_env:
            self.spool_parent = tempfile.mkdtemp(prefix="si-spool-", dir="/var/tmp")
            full_env["SANDBOX_INIT_EVENTS_SPOOL"] = os.path.join(self.spool_parent, "events")
        self.process = subprocess.Popen(
            prefix + [SANDBOX_INIT] + list(args),
            stdin=stdin, stdout=self.stdout_file, stderr=self.stderr_file,
            env=full_env, pass_fds=pass_fds)
        self.pid_namespace = pid_namespace
        self._returncode = None

    @property
    def init_pid(self):
        """Host pid of sandbox-init itself (unshare's child inside a namespace)."""
        if not self.pid_namespace:
            return self.process.pid

        def child():
            path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
            try:
                with open(path) as f:
                    words = f.read().split()
            except FileNotFoundError:
                return None
            return int(words[0]) if words else None
        pid = wait_until(child, timeout=5)
        if pid is None:
            raise AssertionError("sandbox-init did not start inside the namespace")
        return pid

    def send(self, signo):
        os.kill(self.init_pid, signo)

    def wait(self, timeout=30):
        try:
            self._returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"sandbox-init did not exit within {timeout} s; log:\n{self.stderr()}")
        return self._returncode

    def stdout(self):
        self.stdout_file.seek(0)
        return self.stdout_file.read().decode()

    def stderr(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode()

    def logs(self):
        """Every stderr line parsed as JSON; a line that is not JSON fails the test."""
        records = []
        for line in self.stderr().splitlines():
            record = json.loads(line)
            assert "level" in record and "msg" in record and "time" in record, line
            records.append(record)
        return records

    def log_messages(self):
        return [record["msg"] for record in self.logs()]

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if getattr(self, "spool_parent", None):
            import shutil
            shutil.rmtree(self.spool_parent, ignore_errors=True)


def run(args, timeout=30, **kwargs):
    instance = Run(args, **kwargs)
    try:
        instance.wait(timeout)
    finally:
        if instance.process.poll() is not None and getattr(instance, "spool_parent", None):
            import shutil
            shutil.rmtree(instance.spool_parent, ignore_errors=True)
    return instance


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def process_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


_job_policy = None


def job_policy():
    """An OpenShell policy for tests of PID-1 behaviour: the built-in default's
    paths, plus the test helpers read-only so they may be executed (W^X keeps
    them from running out of a writable build folder otherwise)."""
    global _job_policy
    if _job_policy is None:
        handle = tempfile.NamedTemporaryFile("w", prefix="si-job-policy-", suffix=".yaml",
                                             dir="/var/tmp", delete=False)
        handle.write("version: 1\n"
                     "filesystem_policy:\n"
                     "  include_workdir: false\n"
                     f"  read_only: [/usr, /lib, /lib64, /bin, /sbin, /etc, /proc, /dev/urandom, "
                     f"{HELPERS}, {SOURCE_DIR}/examples]\n"
                     "  read_write: [/tmp, /dev/null]\n")
        handle.close()
        os.chmod(handle.name, 0o644)
        import atexit
        atexit.register(os.unlink, handle.name)
        _job_policy = handle.name
    return _job_policy


class JobRun(Run):
    """A Run under job_policy()."""

    def __init__(self, args, **kwargs):
        super().__init__(["--policy", job_policy()] + list(args), **kwargs)


def job_run(args, timeout=30, **kwargs):
    instance = JobRun(args, **kwargs)
    try:
        instance.wait(timeout)
    finally:
        if instance.process.poll() is not None and getattr(instance, "spool_parent", None):
            import shutil
            shutil.rmtree(instance.spool_parent, ignore_errors=True)
    return instance


def descendants(root):
    """Host pids of every live (not zombie) descendant of root, read from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= frontier
    return found
