"""Part 5: the images, end to end, without a container engine.

images/rootfs lays out the filesystem of images/Containerfile.sticky and
Containerfile.job in a temporary directory; tests/images/enter starts the
image's ENTRYPOINT + CMD (read from the Containerfile itself) in it the way an
engine would: PID 1 of new PID and mount namespaces, the host's /usr mounted
read-only, chrooted, as uid 65532 (the Containerfiles' USER), with the image's
ENV.  The sandbox's only network is a network namespace of our own, joined by a
veth pair to a second one where stand-ins for kartograph-api:8000, an unlisted
port 8001 and the event gateway listen.  Nothing reaches the host's network.
"""
import ctypes
import errno
import http.client
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import unittest
import uuid

from harness import SOURCE_DIR, process_state, wait_until
from serve_harness import GRAPH, HS256_KEY, SESSION, TENANT, TOKEN, mint

BUILD_DIR = os.environ["SI_BUILD_DIR"]
IMAGES = os.path.join(SOURCE_DIR, "images")
TOOLS = os.path.join(SOURCE_DIR, "tests", "images")
ENTER = os.path.join(TOOLS, "enter")
# debian:12's own ENV PATH, which both images inherit.
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SANDBOX_UID = 65532
API_ADDRESS = "10.231.0.1"
SANDBOX_ADDRESS = "10.231.0.2"
API_PORT, UNLISTED_PORT, RECEIVER_PORT = 8000, 8001, 9000
EVENTS_URL = f"http://{API_ADDRESS}:{RECEIVER_PORT}/v1/events"
SPOOL = "/var/lib/sandbox-init/events"
CLONE_NEWNET = 0x40000000


def missing_tools():
    needed = ("ip", "unshare", "nsenter", "setpriv", "chroot", "mount", "cmake")
    return [tool for tool in needed if shutil.which(tool) is None]


def skip_reason():
    if os.geteuid() != 0:
        return "needs root: network namespaces, mounts and chroot"
    if missing_tools():
        return "missing " + ", ".join(missing_tools())
    return None


def read_containerfile(name):
    """The final stage of images/NAME: USER, EXPOSE, ENV as a dict, and
    ENTRYPOINT, CMD and the HEALTHCHECK command as argv lists."""
    with open(os.path.join(IMAGES, name)) as f:
        lines = [line for line in f.read().splitlines() if not line.lstrip().startswith("#")]
    stage = {}
    for line in "\n".join(lines).replace("\\\n", " ").splitlines():
        instruction, _, argument = line.strip().partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stage = {"FROM": argument, "ENV": {}}
        elif instruction == "ENV":
            for word in shlex.split(argument):
                key, _, value = word.partition("=")
                stage["ENV"][key] = value
        elif instruction in ("ENTRYPOINT", "CMD"):
            stage[instruction] = json.loads(argument)
        elif instruction == "HEALTHCHECK":
            stage[instruction] = json.loads(argument.partition(" CMD ")[2])
        elif instruction:
            stage[instruction] = argument.strip()
    return stage


def run_checked(command, **kwargs):
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{shlex.join(command)} exited {result.returncode}:\n"
                             f"{result.stdout.decode(errors='replace')}")
    return result.stdout.decode()


class Rootfs:
    """A directory laid out by images/rootfs, removed at cleanup."""

    def __init__(self, add_cleanup):
        self.directory = tempfile.mkdtemp(prefix="si-image-root-", dir="/var/tmp")
        add_cleanup(self.remove)
        # mkdtemp's 0700 would keep uid 65532 out of its own root.
        os.chmod(self.directory, 0o755)
        run_checked([os.path.join(IMAGES, "rootfs"), self.directory, BUILD_DIR])

    def path(self, *parts):
        return os.path.join(self.directory, *parts)

    def add_host(self, address, *names):
        with open(self.path("etc", "hosts"), "a") as hosts:
            hosts.write(f"{address}\t{' '.join(names)}\n")

    def install(self, source, target, mode=0o755, owner=0):
        shutil.copyfile(source, self.path(target.lstrip("/")))
        os.chmod(self.path(target.lstrip("/")), mode)
        os.chown(self.path(target.lstrip("/")), owner, owner)

    def remove(self):
        # The host's /usr is mounted in here only inside the namespaces the
        # runs made; should one still show in ours, deleting would reach it.
        for directory, _, _ in os.walk(self.directory):
            if os.path.ismount(directory):
                raise AssertionError(f"{directory} is still a mount point: not removing "
                                     f"{self.directory}")
        shutil.rmtree(self.directory)


class Network:
    """Two network namespaces of our own, "api" and "sandbox", joined by a veth
    pair (10.231.0.1/30 and 10.231.0.2/30, inside them only).  The sandbox has
    that link and its loopback: no route out."""

    def __init__(self, add_cleanup):
        suffix = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.names = {"api": f"si-images-api-{suffix}", "sandbox": f"si-images-sbx-{suffix}"}
        for name in self.names.values():
            run_checked(["ip", "netns", "add", name])
            add_cleanup(subprocess.run, ["ip", "netns", "delete", name],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        api, sandbox = self.names["api"], self.names["sandbox"]
        # Made inside api with its peer moved straight into sandbox: the pair
        # never exists in the host's namespace.
        run_checked(["ip", "-n", api, "link", "add", "si-api", "type", "veth",
                     "peer", "name", "si-sandbox", "netns", sandbox])
        for name, device, address in ((api, "si-api", API_ADDRESS),
                                      (sandbox, "si-sandbox", SANDBOX_ADDRESS)):
            run_checked(["ip", "-n", name, "address", "add", f"{address}/30", "dev", device])
            run_checked(["ip", "-n", name, "link", "set", device, "up"])
            run_checked(["ip", "-n", name, "link", "set", "lo", "up"])

    def exec_prefix(self, which):
        return ["ip", "netns", "exec", self.names[which]]

    def path(self, which):
        return f"/run/netns/{self.names[which]}"


def kill_and_wait(process):
    if process.poll() is None:
        process.kill()
    process.wait()


class StandIns:
    """tests/images/standin.py in the api namespace: kartograph-api on 8000, a
    listener on the unlisted port 8001, the event receiver on 9000."""

    def __init__(self, network, add_cleanup):
        handle, self.record = tempfile.mkstemp(prefix="si-image-standin-", dir="/var/tmp")
        os.close(handle)
        add_cleanup(os.unlink, self.record)
        self.process = subprocess.Popen(
            network.exec_prefix("api") + ["/usr/bin/python3", os.path.join(TOOLS, "standin.py"),
                                          API_ADDRESS, self.record, str(API_PORT),
                                          str(UNLISTED_PORT), str(RECEIVER_PORT)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        add_cleanup(kill_and_wait, self.process)
        add_cleanup(self.process.stdout.close)
        readable, _, _ = select.select([self.process.stdout], [], [], 10)
        line = self.process.stdout.readline() if readable else b""
        if line.strip() != b"ready":
            raise AssertionError(f"stand-ins did not start: {line + self.process.stdout.read1()}")

    def requests(self, port=None):
        with open(self.record) as f:
            entries = [json.loads(line) for line in f]
        return [entry for entry in entries if port is None or entry["port"] == port]

    def events(self):
        """Every event the receiver was sent, in arrival order."""
        return [json.loads(line) for request in self.requests(RECEIVER_PORT)
                if request["method"] == "POST" for line in request["body"].splitlines() if line]


def image_environment(image, **extra):
    """What the engine gives the entrypoint: the image's ENV over debian's PATH,
    then what OpenShell and Kartograph's API pass at start."""
    environment = {"PATH": BASE_PATH}
    environment.update(image["ENV"])
    environment.update(extra)
    return environment


def as_image_user(image):
    """setpriv the way an engine applies USER: the numeric uid and gid, no
    supplementary groups."""
    uid = int(image["USER"])
    return ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--"]


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(word) for word in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


class Container:
    """argv run in rootfs by tests/images/enter, inside the network namespace:
    PID 1 of its own PID namespace.  The Popen process ends up as unshare,
    whose only child is that PID 1."""

    def __init__(self, rootfs, network, argv, environment, add_cleanup):
        self.stdout_file = tempfile.TemporaryFile()
        add_cleanup(self.stdout_file.close)
        self.stderr_file = tempfile.TemporaryFile()
        add_cleanup(self.stderr_file.close)
        self.process = subprocess.Popen(
            network.exec_prefix("sandbox") + [ENTER, rootfs.directory] + argv,
            stdin=subprocess.DEVNULL, stdout=self.stdout_file, stderr=self.stderr_file,
            env=environment)
        add_cleanup(self.kill)

    def kill(self):
        """SIGKILL to the namespace's PID 1 ends every process in it.  Killing
        unshare is not enough: its --kill-child is a parent-death signal, which
        the kernel clears when setpriv changes the uid.  Stopped first, unshare
        cannot fork a PID 1 this would miss; continued, it reaps PID 1 and
        exits."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGSTOP)
            wait_until(lambda: process_state(self.process.pid) in ("T", "Z", None), timeout=5)
            pids = children(self.process.pid)
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            if pids:
                os.kill(self.process.pid, signal.SIGCONT)
            try:
                self.process.wait(10 if pids else 0)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()

    def pid1(self, executable):
        """Host pid of the namespace's PID 1 once it has exec'ed executable."""
        def started():
            for pid in children(self.process.pid):
                try:
                    if os.readlink(f"/proc/{pid}/exe") == executable:
                        return pid
                except (FileNotFoundError, ProcessLookupError):
                    pass
            return None
        pid = wait_until(started, timeout=10)
        if pid is None:
            raise AssertionError(f"{executable} did not start as PID 1:\n{self.stderr()}")
        return pid

    def wait(self, timeout=60):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"did not exit within {timeout} s; stderr:\n{self.stderr()}")

    def stdout(self):
        self.stdout_file.seek(0)
        return self.stdout_file.read().decode()

    def stderr(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode()

    def logs(self):
        return [json.loads(line) for line in self.stderr().splitlines()]


def connect_inside(netns_path, address, timeout):
    """A TCP connection made from inside another network namespace.  setns()
    moves only the calling thread, and a socket stays in the namespace it was
    made in: a short-lived thread joins, connects and hands the socket back."""
    outcome = {}

    def join_and_connect():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns", netns_path)
            finally:
                os.close(fd)
            outcome["socket"] = socket.create_connection(address, timeout)
        except OSError as error:
            outcome["error"] = error
    thread = threading.Thread(target=join_and_connect)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["socket"]


class NamespacedConnection(http.client.HTTPConnection):
    def __init__(self, netns_path, host, port, timeout=30):
        super().__init__(host, port, timeout=timeout)
        self.netns_path = netns_path

    def connect(self):
        self.sock = connect_inside(self.netns_path, (self.host, self.port), self.timeout)


@unittest.skipIf(skip_reason(), skip_reason())
class StickyImage(unittest.TestCase):
    """Containerfile.sticky's ENTRYPOINT + CMD (`sandbox-init serve`), as uid
    65532, listening on the image's default 0.0.0.0:8787 in the sandbox's
    network namespace."""

    @classmethod
    def setUpClass(cls):
        cls.image = read_containerfile("Containerfile.sticky")
        cls.rootfs = Rootfs(cls.addClassCleanup)
        # Kartograph's API seeds the workspace; /health reports on it.
        marker = cls.rootfs.path("workspace", "knowledge-graph-id")
        with open(marker, "w") as f:
            f.write(GRAPH)
        os.chown(marker, SANDBOX_UID, SANDBOX_UID)
        cls.network = Network(cls.addClassCleanup)
        cls.stand_ins = StandIns(cls.network, cls.addClassCleanup)
        environment = image_environment(
            cls.image, KARTOGRAPH_SESSION_ID=SESSION, KARTOGRAPH_TENANT_ID=TENANT,
            KARTOGRAPH_KNOWLEDGE_GRAPH_ID=GRAPH, KARTOGRAPH_RUNTIME_AUTH_TOKEN=TOKEN,
            KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY=HS256_KEY.decode(),
            SANDBOX_INIT_EVENTS_URL=EVENTS_URL)
        cls.container = Container(cls.rootfs, cls.network,
                                  as_image_user(cls.image) + cls.image["ENTRYPOINT"] +
                                  cls.image["CMD"], environment, cls.addClassCleanup)
        cls.pid = cls.container.pid1(cls.rootfs.path("usr", "local", "bin", "sandbox-init"))
        cls.port = int(cls.image["EXPOSE"])

        def answering():
            try:
                return cls.get("/healthz")[0] == 200
            except OSError:
                return cls.container.process.poll() is not None
        if not wait_until(answering, timeout=10) or cls.container.process.poll() is not None:
            raise AssertionError(f"serve did not start answering:\n{cls.container.stderr()}")

    @classmethod
    def connection(cls):
        return NamespacedConnection(cls.network.path("sandbox"), "127.0.0.1", cls.port)

    @classmethod
    def get(cls, path):
        connection = cls.connection()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def healthcheck(self):
        """The image's HEALTHCHECK command, run the way an engine runs it: in
        the container's mount, PID and network namespaces and root, as USER."""
        command = (["nsenter", "--target", str(self.pid), "--mount", "--pid", "--net", "--root",
                    "--wd", "--"] + as_image_user(self.image) + self.image["HEALTHCHECK"])
        return subprocess.run(command, env=image_environment(self.image), timeout=30,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def test_image_runs_sandbox_init_serve_as_uid_65532_and_pid_1(self):
        self.assertEqual((self.image["FROM"], self.image["ENTRYPOINT"], self.image["CMD"],
                          self.image["USER"]),
                         ("debian:12-slim", ["sandbox-init"], ["serve"], str(SANDBOX_UID)))
        with open(f"/proc/{self.pid}/status") as f:
            status = f.read()
        self.assertEqual(re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split(),
                         [str(SANDBOX_UID)] * 4)
        self.assertEqual(re.search(r"^NSpid:\s+(.*)$", status, re.M).group(1).split()[-1], "1")

    def test_health_answers_ok_on_the_exposed_port(self):
        status, body = self.get("/health")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok", "session_id": SESSION}))

    def test_turn_with_a_pyjwt_hs256_token_streams_back_ending_in_done(self):
        connection = self.connection()
        self.addCleanup(connection.close)
        connection.request("POST", "/v1/turn",
                           body=json.dumps({"message": "hello env", "workload_token": mint()}),
                           headers={"Content-Type": "application/json",
                                    "X-Kartograph-Runtime-Auth": TOKEN})
        response = connection.getresponse()
        body = response.read().decode()
        self.assertEqual((response.status, response.getheader("Content-Type")),
                         (200, "application/x-ndjson"), body)
        events = [json.loads(line) for line in body.splitlines()]
        self.assertEqual(events[-1], {"type": "done", "ok": True})
        self.assertIn({"type": "message", "text": "echo: hello env"}, events)
        # The image's KARTOGRAPH_TURN_COMMAND: the executor installed in the image.
        reported = [event for event in events if event["type"] == "env"][0]
        self.assertEqual(reported["argv"], ["/usr/local/libexec/sandbox-init/turn-executor"])

    def test_serve_events_reach_the_receiver_in_order(self):
        def started_and_ready():
            kinds = [(e["class_uid"], e["activity_id"]) for e in self.stand_ins.events()]
            return (6002, 3) in kinds and (6002, 99) in kinds and kinds.count((5019, 1)) == 3
        self.assertTrue(wait_until(started_and_ready, timeout=10), self.stand_ins.events())
        events = self.stand_ins.events()
        self.assertEqual([e["metadata"]["sequence"] for e in events], list(range(1, len(events) + 1)))

    def test_healthcheck_command_exits_0_inside_the_container(self):
        result = self.healthcheck()
        self.assertEqual(result.returncode, 0, result.stdout.decode(errors="replace"))

    def test_healthcheck_command_exits_1_while_the_workspace_is_unavailable(self):
        marker = self.rootfs.path("workspace", "knowledge-graph-id")
        os.rename(marker, marker + ".away")
        self.addCleanup(os.rename, marker + ".away", marker)
        result = self.healthcheck()
        self.assertEqual(result.returncode, 1, result.stdout.decode(errors="replace"))


@unittest.skipIf(skip_reason(), skip_reason())
class ExtractionJobImage(unittest.TestCase):
    """Containerfile.job's ENTRYPOINT + CMD (`sandbox-init --mode extraction-job
    -- /app/extraction-job`), as uid 65532, in the sandbox's network namespace
    where kartograph-api is the stand-in across the veth pair.  The same job is
    also run without sandbox-init, in the same root and namespace, to show what
    the confinement takes away."""

    @classmethod
    def setUpClass(cls):
        cls.image = read_containerfile("Containerfile.job")
        cls.rootfs = Rootfs(cls.addClassCleanup)
        # The job a derived image would install where the image's CMD runs it.
        cls.rootfs.install(os.path.join(TOOLS, "extraction-job"), cls.image["CMD"][0])
        cls.rootfs.add_host(API_ADDRESS, "kartograph-api", "api")
        cls.network = Network(cls.addClassCleanup)
        cls.stand_ins = StandIns(cls.network, cls.addClassCleanup)
        environment = image_environment(cls.image, KARTOGRAPH_SESSION_ID=SESSION,
                                        KARTOGRAPH_TENANT_ID=TENANT,
                                        KARTOGRAPH_KNOWLEDGE_GRAPH_ID=GRAPH,
                                        SANDBOX_INIT_EVENTS_URL=EVENTS_URL)
        unconfined = Container(cls.rootfs, cls.network, as_image_user(cls.image) + cls.image["CMD"],
                               environment, cls.addClassCleanup)
        cls.unconfined_status = unconfined.wait()
        cls.unconfined = json.loads(unconfined.stdout())
        cls.container = Container(cls.rootfs, cls.network,
                                  as_image_user(cls.image) + cls.image["ENTRYPOINT"] +
                                  cls.image["CMD"], environment, cls.addClassCleanup)
        cls.status = cls.container.wait()
        try:
            cls.report = json.loads(cls.container.stdout())
        except ValueError:
            raise AssertionError(f"no report from the job (status {cls.status}):\n"
                                 f"{cls.container.stdout()}\n{cls.container.stderr()}")

    def test_image_runs_the_job_under_sandbox_init_in_extraction_job_mode(self):
        self.assertEqual((self.image["FROM"], self.image["ENTRYPOINT"], self.image["USER"]),
                         ("debian:12-slim", ["sandbox-init", "--mode", "extraction-job", "--"],
                          str(SANDBOX_UID)))
        applied = [r for r in self.container.logs() if r["msg"] == "policy applied"][0]["receipt"]
        self.assertEqual(applied["policy"]["mode"], "/etc/openshell/policies/extraction-job.yaml")
        self.assertEqual(applied["network"]["tcp_connect_ports"], [443, API_PORT])

    def test_job_runs_as_uid_65532_under_sandbox_init_as_pid_1(self):
        self.assertEqual((self.report["uid"], self.report["gid"], self.report["ppid"]),
                         (SANDBOX_UID, SANDBOX_UID, 1))

    def test_sandbox_init_exits_with_the_jobs_own_status(self):
        self.assertEqual(self.unconfined_status, 7)
        self.assertEqual(self.status, 7, self.container.stderr())
        exiting = [r for r in self.container.logs() if r["msg"] == "sandbox-init exiting"]
        self.assertEqual(exiting[-1]["exit_code"], 7)

    def test_every_event_of_the_job_reaches_the_receiver_in_order(self):
        events = self.stand_ins.events()
        self.assertEqual([(e["class_uid"], e["activity_id"]) for e in events],
                         [(6002, 3), (5019, 1), (1007, 1), (1007, 2), (6002, 4)])
        self.assertEqual([e["metadata"]["sequence"] for e in events], list(range(1, len(events) + 1)))
        self.assertEqual(events[3]["exit_code"], 7)
        self.assertEqual(events[0]["unmapped"]["session_id"], SESSION)

    def test_job_reaches_the_kartograph_api_stand_in_on_port_8000(self):
        self.assertEqual(self.report["api"]["status"], 200, self.report)
        self.assertEqual(self.report["api"]["body"]["port"], API_PORT)
        arrived = [(r["method"], r["path"], r["peer"]) for r in self.stand_ins.requests(API_PORT)]
        self.assertIn(("GET", "/extraction/workloads/jobs/42", SANDBOX_ADDRESS), arrived)

    def test_job_is_refused_with_eacces_on_a_port_the_policy_does_not_list(self):
        self.assertEqual(self.report["unlisted_port"].get("errno"), errno.EACCES, self.report)

    def test_same_job_without_sandbox_init_reaches_the_unlisted_port(self):
        self.assertEqual(self.unconfined["unlisted_port"], {"connected": True})
        self.assertEqual(self.unconfined["api"]["status"], 200)

    def test_job_has_no_route_out_of_its_network_namespace(self):
        # 443 is in the policy: what stops it is the namespace, confined or not.
        for report in (self.report, self.unconfined):
            self.assertEqual(report["outside"].get("errno"), errno.ENETUNREACH, report)

    def test_job_cannot_enter_the_spool_its_uid_owns_but_writes_the_workspace(self):
        self.assertEqual(os.stat(self.rootfs.path(SPOOL.lstrip("/"))).st_uid, SANDBOX_UID)
        applied = [r for r in self.container.logs() if r["msg"] == "policy applied"][0]["receipt"]
        self.assertEqual(applied["state_dir"], {"path": SPOOL, "protected": True})
        self.assertEqual(self.report["spool_write"].get("errno"), errno.EACCES, self.report)
        self.assertEqual(self.report["spool_list"].get("errno"), errno.EACCES, self.report)
        self.assertEqual(self.report["workspace_write"], {"written": True})

    def test_same_job_without_sandbox_init_could_write_the_spool(self):
        # Ownership alone does not protect the spool: Landlock does.
        self.assertEqual(self.unconfined["spool_write"], {"written": True})


if __name__ == "__main__":
    unittest.main()
