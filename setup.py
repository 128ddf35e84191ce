"""Only what pyproject.toml cannot say: the wheel carries the bundled rule files and example
plans (the repository's `rules/` and `examples/`) as `services/bundled/`, so that an installed
`covenant` finds them outside the repository (services/bundled.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("rules", "examples")


class BuildWithBundle(build_py):
    def run(self) -> None:
        super().run()
        for name in BUNDLED:
            source = Path(name)
            if source.is_dir():  # from an sdist or a checkout
                shutil.copytree(source, Path(self.build_lib) / "services" / "bundled" / name,
                                dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithBundle})
