"""The test harness's own promises."""

from tests.support import free_port


def test_free_port_never_hands_out_the_same_port_twice():
    """A cluster takes several ports before any of its nodes listens: one port given twice
    (a node's distribution port and another's AMQP port) kept a node from starting. Without
    the record of ports given, 500 draws from 6,000 repeat one about 20 times on average."""
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)
