"""The package works outside the repository: the wheel, installed into a fresh virtual
environment of each supported Python, finds its bundled rule files, examples, templates and
migrations; an unsupported Python is refused at install with a clear message."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.shared.migrations import head
from tests.support import EXAMPLES, ROOT, TEXTILE, missing

pytestmark = pytest.mark.packaging


def run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RULES_DIR", "DATABASE_URL",
                                                            "PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT,
                cwd=out)
    assert built.returncode == 0, built.stderr
    [found] = out.glob("*.whl")
    return found


def interpreter(version: str) -> str:
    """`python<version>` that runs: on the PATH, or one that pyenv installed (its shims answer
    only for the versions selected)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}"),
                  *map(str, sorted(pyenv.glob(f"{version}.*/bin/python{version}")))]
    found = next((c for c in candidates if c and subprocess.run(
        [c, "-c", "pass"], capture_output=True).returncode == 0), None)
    if not found:
        missing(f"python{version}", "not on the PATH nor installed by pyenv")
    assert found
    return found


def venv(version: str, where: Path) -> Path:
    made = run(interpreter(version), "-m", "venv", where, cwd=where.parent)
    assert made.returncode == 0, made.stderr
    return where / "bin"


@pytest.mark.parametrize("version", ["3.11", "3.12"])
def test_the_installed_wheel_checks_a_plan_outside_the_repository(version, wheel, tmp_path):
    bin_ = venv(version, tmp_path / "venv")
    installed = run(bin_ / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    plan = shutil.copy(EXAMPLES / TEXTILE, tmp_path / "plan.json")
    checked = run(bin_ / "covenant", "check", plan, cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr  # 1: high or critical findings
    assert "DD3-PRIORITY-RISK-HAS-ACTION" in checked.stdout
    assert "Traceback" not in checked.stderr
    for command in (["rules", "lint"], ["rules", "test"]):
        result = run(bin_ / "covenant", *command, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stdout[-500:], result.stderr[-500:])
    env_url = f"sqlite:///{tmp_path}/db.sqlite3"
    upgraded = subprocess.run([bin_ / "covenant", "db", "upgrade"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DATABASE_URL": env_url})
    assert upgraded.returncode == 0 and f"empty -> {head()}" in upgraded.stdout, upgraded.stderr


def test_python_3_13_is_refused_at_install_with_a_clear_message(wheel, tmp_path):
    bin_ = venv("3.13", tmp_path / "venv")
    refused = run(bin_ / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    assert refused.returncode != 0
    assert "requires a different Python" in refused.stderr
