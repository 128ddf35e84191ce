"""Where the bundled rule files and example plans are: `services/bundled/<name>` in an
installed wheel (setup.py copies them there at build time), the repository's own `rules/` and
`examples/` in a checkout or an editable install."""

from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "bundled"
_CHECKOUT = Path(__file__).resolve().parents[1]


def bundled(name: str) -> Path:
    """`rules` or `examples`."""
    packaged = _PACKAGED / name
    return packaged if packaged.is_dir() else _CHECKOUT / name
