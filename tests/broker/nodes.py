"""Private RabbitMQ nodes for tests that need a broker configured differently from the shared
one (a TLS listener, a cluster): each node has its own name, ports, data folder, config and
Erlang cookie, so it never touches the machine's broker. See deploy/rabbitmq/cluster.md."""

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # not the /usr/sbin wrapper, which su-s
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"  # run as we are, with the node's cookie in HOME


def available() -> bool:
    return Path(SERVER).exists() and Path(CTL).exists()


@dataclass
class Node:
    """One RabbitMQ node: `start()`, `ctl(...)`, `stop()`. `config` is rabbitmq.conf text
    added to the node's listener settings."""

    folder: Path
    short_name: str
    amqp_port: int | None  # None: TLS only
    dist_port: int
    cookie: str
    config: str = ""
    tls_port: int | None = None
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"{self.short_name}@localhost"
        self.folder.mkdir(parents=True, exist_ok=True)
        cookie = self.folder / ".erlang.cookie"
        cookie.write_text(self.cookie)
        cookie.chmod(0o400)
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "rabbitmq-env.conf").write_text("")
        listeners = (f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n" if self.amqp_port
                     else "listeners.tcp = none\n")
        if self.tls_port:
            listeners += f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\n"
        (self.folder / "rabbitmq.conf").write_text(
            listeners + "loopback_users = none\n" + self.config)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.folder),  # the node's and rabbitmqctl's Erlang cookie
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "node.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_CRASH_DUMP": str(self.folder / "erl_crash.dump"),
        }

    def ctl(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run([CTL, "-q", "-n", self.name, *args], env=self.env, cwd=self.folder,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} on {self.name}: "
                               f"{done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def start(self) -> None:
        self.launch()
        self.await_up()

    def launch(self) -> None:
        """Starts the node without waiting for it: nodes of a cluster that all went down wait
        for each other, so they are launched together and awaited after."""
        with (self.folder / "console.log").open("ab") as out:
            subprocess.run([SERVER, "-detached"], env=self.env, cwd=self.folder, stdout=out,
                           stderr=subprocess.STDOUT, check=True, timeout=60)

    def await_up(self) -> None:
        # `wait` (unlike await_startup) also waits for the node to come up at all
        self.ctl("wait", str(self.folder / "node.pid"), "--timeout", "240", timeout=270)

    def stop(self) -> None:
        """Stops the node (waiting for it to end); harmless when it is not running."""
        try:
            self.ctl("stop", timeout=120)
        except (RuntimeError, subprocess.TimeoutExpired):
            pid = self.folder / "node.pid"
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid.read_text()), signal.SIGKILL)

    def url(self, vhost: str = "%2F", tls: bool = False) -> str:
        if tls:
            return f"amqps://guest:guest@127.0.0.1:{self.tls_port}/{vhost}"
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/{vhost}"


def make_nodes(folder: Path, count: int, config: str = "", tls: bool = False) -> list[Node]:
    """`count` nodes (not started) sharing a new cookie, each on free ports; with `tls`, a TLS
    listener instead of the plain one."""
    cookie, tag = uuid.uuid4().hex.upper(), uuid.uuid4().hex[:6]
    return [Node(folder / f"node{i}", f"covtest{tag}n{i}", None if tls else free_port(),
                 free_port(), cookie, config, free_port() if tls else None)
            for i in range(count)]


def cluster(nodes: list[Node]) -> None:
    """Starts the nodes and joins the others to the first."""
    for node in nodes:
        node.start()
    for node in nodes[1:]:
        node.ctl("stop_app")
        node.ctl("join_cluster", nodes[0].name)
        node.ctl("start_app")
        node.ctl("await_startup")


def remove(nodes: list[Node]) -> None:
    """Stops the nodes and deletes their data; their logs stay in the test's folder (pytest
    keeps the last few runs' folders), for when a test has failed."""
    for node in nodes:
        node.stop()
        shutil.rmtree(node.folder / "mnesia", ignore_errors=True)
