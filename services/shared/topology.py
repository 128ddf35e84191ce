"""The broker topology, as data: declared on RabbitMQ by the services and by
`covenant topology declare`, and mirrored by the in-process broker of the one-process mode.

    upstream ──plan.<covenant>──▶ irbc.plans (topic) ──▶ irbc.ingest
    ingest ──submission.accepted.<covenant>──▶ irbc.events (topic) ──▶ irbc.rules
    ingest ──submission.rejected.<covenant>──▶ irbc.events ──▶ irbc.notify
    rules ──assessment.completed.<covenant>──▶ irbc.events ──▶ irbc.notify
    console ──review.finalised.<covenant>──▶ irbc.events ──▶ irbc.notify (the feedback letter)
    register ──signal.forwarded.<covenant>──▶ irbc.events ──▶ irbc.notify (a signal's letter)
    notify ──notification.delivered.<covenant>──▶ irbc.events (for subscribers; none required)
    any stage ──<stage>──▶ irbc.dlx (topic) ──▶ irbc.<stage>.dead
"""

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .contracts.messages import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, PLANS_EXCHANGE

DEFAULT_DELIVERY_LIMIT = 5


@dataclass(frozen=True)
class Stage:
    """One service's input: a durable quorum queue, its bindings and its dead-letter queue.

    `patience` multiplies the base delivery limit: a stage that waits on the outside world
    (notify: the mail server) retries longer than one whose failures are its own."""

    name: str
    bindings: tuple[tuple[str, str], ...]  # (exchange, binding key)
    patience: int = 1

    def delivery_limit(self, base: int) -> int:
        return base * self.patience

    @property
    def queue(self) -> str:
        return f"irbc.{self.name}"

    @property
    def dead_letter_queue(self) -> str:
        return f"irbc.{self.name}.dead"

    def queue_arguments(self, base_delivery_limit: int) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": self.name,
            "x-delivery-limit": self.delivery_limit(base_delivery_limit),
            # at-least-once dead-lettering: the broker keeps a message until the DLQ confirms it
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }


INGEST = Stage("ingest", ((PLANS_EXCHANGE, "plan.*"),))
RULES = Stage("rules", ((EVENTS_EXCHANGE, "submission.accepted.*"),))
NOTIFY = Stage(
    "notify",
    ((EVENTS_EXCHANGE, "assessment.completed.*"), (EVENTS_EXCHANGE, "submission.rejected.*"),
     (EVENTS_EXCHANGE, "review.finalised.*"), (EVENTS_EXCHANGE, "signal.forwarded.*")),
    patience=4,  # with the default 5: 20 deliveries, about 7.5 minutes of retry pauses
)
STAGES: dict[str, Stage] = {s.name: s for s in (INGEST, RULES, NOTIFY)}
EXCHANGES: tuple[str, ...] = (PLANS_EXCHANGE, EVENTS_EXCHANGE, DEAD_LETTER_EXCHANGE)


@dataclass
class Topology:
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT
    stages: dict[str, Stage] = field(default_factory=lambda: dict(STAGES))

    def routes(self, exchange: str, routing_key: str) -> list[str]:
        """Queues a message reaches, by the same topic rules the broker applies."""
        queues = [
            s.queue
            for s in self.stages.values()
            if any(ex == exchange and topic_matches(key, routing_key) for ex, key in s.bindings)
        ]
        if exchange == DEAD_LETTER_EXCHANGE and routing_key in self.stages:
            queues.append(self.stages[routing_key].dead_letter_queue)
        return queues

    def definitions(self, vhost: str = "/",
                    users: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
        """The same topology in RabbitMQ's definitions format (deploy/rabbitmq/definitions.json
        is generated from it and checked against it by a test), with the vhost, and with
        `users` ({name: {"password", "role"}}; see ROLES) and their permissions on it: a node
        that loads definitions at boot seeds no default user, so they must be here."""
        queues, bindings = [], []
        for stage in self.stages.values():
            queues.append({"name": stage.queue, "vhost": vhost, "durable": True,
                           "auto_delete": False,
                           "arguments": stage.queue_arguments(self.delivery_limit)})
            queues.append({"name": stage.dead_letter_queue, "vhost": vhost, "durable": True,
                           "auto_delete": False, "arguments": {"x-queue-type": "quorum"}})
            bindings += [{"source": exchange, "vhost": vhost, "destination": stage.queue,
                          "destination_type": "queue", "routing_key": key, "arguments": {}}
                         for exchange, key in stage.bindings]
            bindings.append({"source": DEAD_LETTER_EXCHANGE, "vhost": vhost,
                             "destination": stage.dead_letter_queue, "destination_type": "queue",
                             "routing_key": stage.name, "arguments": {}})
        exchanges = [{"name": name, "vhost": vhost, "type": "topic", "durable": True,
                      "auto_delete": False, "internal": False, "arguments": {}}
                     for name in EXCHANGES]
        found: dict[str, Any] = {"vhosts": [{"name": vhost}], "exchanges": exchanges,
                                 "queues": queues, "bindings": bindings}
        if users:
            found["users"] = [{"name": name, "password_hash": password_hash(user["password"]),
                               "hashing_algorithm": "rabbit_password_hashing_sha256",
                               "tags": ROLES[user["role"]]["tags"], "limits": {}}
                              for name, user in sorted(users.items())]
            found["permissions"] = [{"user": name, "vhost": vhost,
                                     **{k: ROLES[user["role"]][k]
                                        for k in ("configure", "write", "read")}}
                                    for name, user in sorted(users.items())]
        return found

    def declare(self, channel: Any) -> None:
        """Declare everything on a pika BlockingChannel; idempotent."""
        for exchange in EXCHANGES:
            channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        for stage in self.stages.values():
            channel.queue_declare(
                stage.queue, durable=True, arguments=stage.queue_arguments(self.delivery_limit)
            )
            for exchange, key in stage.bindings:
                channel.queue_bind(stage.queue, exchange, routing_key=key)
            channel.queue_declare(
                stage.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
            )
            channel.queue_bind(stage.dead_letter_queue, DEAD_LETTER_EXCHANGE,
                               routing_key=stage.name)


# What each kind of broker user may do on the vhost. The services declare the topology and use
# every queue; an upstream system may only publish plans; an operator administers the node.
ROLES: dict[str, dict[str, str]] = {
    "services": {"tags": "", "configure": ".*", "write": ".*", "read": ".*"},
    "publisher": {"tags": "", "configure": "^$", "write": f"^{re.escape(PLANS_EXCHANGE)}$",
                  "read": "^$"},
    "administrator": {"tags": "administrator", "configure": ".*", "write": ".*",
                      "read": ".*"},
}


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)),
    with a random 4-byte salt; the definitions never hold a password itself."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` is zero or more words."""
    return _match(pattern.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])


if __name__ == "__main__":  # make schemas: deploy/rabbitmq/definitions.json
    import json
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else "deploy/rabbitmq/definitions.json"
    with open(target, "w", encoding="utf-8") as f:
        f.write(json.dumps(Topology().definitions(), indent=2, sort_keys=True) + "\n")
