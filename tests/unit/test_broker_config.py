"""AMQP_URL with one node or several, amqps:// with a private CA and a client certificate, and
configuration errors that name the variable but never show its value."""

import ssl

import pytest

from services.cli import EXIT_CONFIG, main
from services.shared.messaging.broker import BrokerConfigError, broker_parameters
from services.shared.settings import ServiceSettings
from tests.support import issued


def test_a_cluster_url_gives_each_node_in_order():
    nodes = broker_parameters("amqp://u:p@a:5672/v, amqp://u:p@b:5673/v,amqp://u:p@c/v")
    assert [(n.host, n.port, n.virtual_host) for n in nodes] == [
        ("a", 5672, "v"), ("b", 5673, "v"), ("c", 5672, "v")]
    assert {n.credentials.username for n in nodes} == {"u"}


def test_amqps_verifies_the_broker_against_the_ca_and_its_host_name(tmp_path):
    client = issued(tmp_path, "client")
    [node] = broker_parameters("amqps://u:p@broker.example/v", ca_file=client.ca,
                               cert_file=client.cert, key_file=client.key)
    context = node.ssl_options.context
    assert (node.port, node.ssl_options.server_hostname) == (5671, "broker.example")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert any("covenant test CA" in str(c.get("subject")) for c in context.get_ca_certs())


def test_amqps_without_a_ca_file_trusts_the_systems_cas_only(tmp_path):
    [node] = broker_parameters("amqps://u:p@broker.example/v")
    assert node.ssl_options.context.verify_mode == ssl.CERT_REQUIRED
    assert node.ssl_options.server_hostname == "broker.example"


@pytest.mark.parametrize("urls, files, message", [
    ("", {}, "names no broker"),
    ("amqp://u:p@a/v,http://u:secret@b/v", {}, "node 2 is not"),
    ("amqp://u:p@a/v", {"ca_file": "ca.pem"}, "use amqps://"),
    ("amqps://u:p@a/v", {"key_file": "key.pem"}, "needs AMQP_CERT_FILE"),
    ("amqps://u:p@a/v", {"ca_file": "missing.pem"}, "AMQP_CA_FILE cannot be read"),
    ("amqps://u:p@a/v", {"cert_file": "missing.pem"}, "AMQP_CERT_FILE / AMQP_KEY_FILE cannot"),
])
def test_a_broker_setting_that_cannot_work_is_refused(urls, files, message, tmp_path):
    with pytest.raises(BrokerConfigError, match=message) as refused:
        broker_parameters(urls, **{k: tmp_path / v for k, v in files.items()})
    assert "secret" not in str(refused.value)


def test_settings_build_the_parameters_from_the_environment(monkeypatch, tmp_path):
    ca = issued(tmp_path, "client").ca
    monkeypatch.setenv("AMQP_URL", "amqps://u:p@127.0.0.1:5671/v,amqps://u:p@127.0.0.1:5674/v")
    monkeypatch.setenv("AMQP_CA_FILE", str(ca))
    assert [n.port for n in ServiceSettings().broker()] == [5671, 5674]


@pytest.mark.parametrize("variable, value, named, command", [
    ("AMQP_URL", "amqp://user:s3cretpw@host/v,ftp://user:s3cretpw@host/", "AMQP_URL",
     ["topology", "declare"]),
    ("PREFETCH", "s3cretpw", "PREFETCH", ["topology", "declare"]),
    ("SMTP_URL", "http://user:s3cretpw@host", "SMTP_URL", ["notify"]),
    ("DATABASE_URL", "mysql://user:s3cretpw@host/db", "DATABASE_URL", ["ingest"]),
    ("LOG_LEVEL", "s3cretpw", "LOG_LEVEL", ["rules"]),
    ("SECRETARIAT_ADDRESSES", '{"*": "s3cretpw', "SECRETARIAT_ADDRESSES", ["notify"]),
])
def test_a_configuration_error_names_the_variable_and_never_its_value(
        variable, value, named, command, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    assert main(command) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.startswith("configuration error: ") and named in err
    assert "s3cretpw" not in err


def test_secrets_come_from_files_in_secrets_dir_and_the_environment_wins(monkeypatch,
                                                                         tmp_path):
    from services.notify.settings import NotifySettings

    (tmp_path / "amqp_url").write_text("amqp://svc:from-file@rabbit:5672/irbc\n")
    (tmp_path / "smtp_url").write_text("smtp://notify:also-from-file@mail:587\n")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    settings = NotifySettings()
    assert settings.amqp_url.get_secret_value() == "amqp://svc:from-file@rabbit:5672/irbc"
    assert settings.smtp_url.get_secret_value() == "smtp://notify:also-from-file@mail:587"
    assert "from-file" not in repr(settings)
    monkeypatch.setenv("AMQP_URL", "amqp://svc:from-env@rabbit:5672/irbc")
    assert "from-env" in NotifySettings().amqp_url.get_secret_value()


def test_a_rules_folder_without_rules_stops_the_service_with_exit_78(monkeypatch, capsys,
                                                                    tmp_path):
    monkeypatch.setenv("RULES_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/r.sqlite3")
    assert main(["rules"]) == EXIT_CONFIG
    assert "configuration error: RULES_DIR: no rule files" in capsys.readouterr().err
    assert main(["rules", "lint"]) == 1  # and lint no longer says "rule files OK"


def test_a_metrics_port_in_use_stops_the_service_with_exit_78(monkeypatch, capsys, tmp_path):
    import socket

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/i.sqlite3")
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["ingest", "--metrics-port", str(port)]) == EXIT_CONFIG
    assert f"METRICS_PORT: cannot listen on port {port}" in capsys.readouterr().err


def test_a_database_that_is_not_up_at_start_exits_69_with_a_clear_reason(monkeypatch, capsys):
    from tests.support import free_port

    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert main(["ingest"]) == 69
    assert "unavailable: database unavailable" in capsys.readouterr().err


def test_every_broker_connection_is_bounded_unless_its_url_says_otherwise(monkeypatch):
    """A frozen node must be noticed: a client heartbeat, a bound on opening a connection and
    on a blocked one, by default; a node's own URL parameters win."""
    monkeypatch.setenv("AMQP_URL", "amqp://u:p@a/v,amqp://u:p@b/v?heartbeat=30&socket_timeout=3")
    monkeypatch.setenv("AMQP_CONNECT_TIMEOUT_S", "4")
    first, second = ServiceSettings().broker()
    assert (first.heartbeat, first.socket_timeout, first.stack_timeout,
            first.blocked_connection_timeout, first.connection_attempts) == (30, 4, 4, 60, 1)
    assert (second.heartbeat, second.socket_timeout, second.stack_timeout) == (30, 3, 4)


def test_retry_pauses_double_from_half_a_second_to_thirty():
    from services.shared.messaging.pika_adapter import retry_pause

    assert [retry_pause(n) for n in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    # notify's 20 deliveries of a failing event span about 7.5 minutes of pauses
    assert 420 <= sum(retry_pause(n) for n in range(19)) <= 480
