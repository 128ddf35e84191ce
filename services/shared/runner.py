"""Runs one service against RabbitMQ until SIGTERM/SIGINT: the part of every composition root
that is the same for all three."""

import signal
from typing import Any

from prometheus_client import CollectorRegistry

from services.shared.logging import get_logger

from .contracts.messages import DEAD_LETTER_EXCHANGE
from .logging import configure_logging
from .messaging.handling import Handler, Processor
from .messaging.pika_adapter import PikaConsumer
from .metrics import ServiceMetrics
from .operations import Checks, serve_operations
from .settings import ServiceSettings
from .topology import STAGES, Topology


def build_processor(stage: str, handler: Handler, metrics: ServiceMetrics,
                    settings: ServiceSettings) -> Processor:
    limit = STAGES[stage].delivery_limit(settings.delivery_limit)
    return Processor(stage, handler, metrics, limit, DEAD_LETTER_EXCHANGE)


def run_service(stage: str, settings: ServiceSettings, handler: Handler,
                metrics: ServiceMetrics, registry: CollectorRegistry,
                checks: Checks | None = None) -> None:
    """Runs until SIGTERM/SIGINT. `checks` are the service's own readiness checks, next to
    the broker consumer's."""
    configure_logging(settings.log_level)
    topology = Topology(delivery_limit=settings.delivery_limit)
    consumer = PikaConsumer(
        settings.broker(),
        STAGES[stage].queue,
        build_processor(stage, handler, metrics, settings),
        prefetch=settings.prefetch,
        stop_timeout=settings.stop_timeout_s,
        declare=topology.declare,
    )

    if settings.metrics_port is not None:
        serve_operations(settings.metrics_port, registry,
                         {"broker": lambda: consumer.alive, **(checks or {})})

    def request_stop(signum: int, _: Any) -> None:
        get_logger().info("signal received", signal=signal.Signals(signum).name)
        consumer.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    get_logger().info("service starting", stage=stage)
    consumer.run()
