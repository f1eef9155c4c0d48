"""Build hook: compile the redaction detectors with mypyc, when asked (``LLMLOG_COMPILE=1``).

llmlog is pure Python and stays so: a plain ``pip install`` builds the same wheel as
always. With ``LLMLOG_COMPILE=1`` in the environment, a wheel build (not an editable
install) also compiles the modules where redaction spends its time on text full of
numbers and keys (:data:`MODULES`) into C extensions with mypyc, as black and
charset-normalizer do; the wheel then carries them beside the sources and Python imports
them first. It needs a C compiler and the Python headers. ``bench/README.md`` has the
figures, ``llmlog.redact.compiled()`` says which build runs.

The sources are copied to ``build/mypyc`` and compiled there, so nothing is written into
``src``: an editable install next to it keeps running the ``.py`` files you edit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULES = (
    "llmlog/redact/detectors.py",
    "llmlog/redact/validators.py",
    "llmlog/redact/credentials.py",
    "llmlog/redact/prefilter.py",
    "llmlog/redact/operators.py",
    "llmlog/redact/engine.py",
    "llmlog/redact/walker.py",
    "llmlog/redact/names.py",
)

_SETUP = """
from mypyc.build import mypycify
from setuptools import setup

setup(name="llmlog-compiled", ext_modules=mypycify({modules!r}, opt_level="3"))
"""


_MYPY_INI = """[mypy]
ignore_missing_imports = True
follow_imports = silent
"""


def _wanted() -> bool:
    value = os.environ.get("LLMLOG_COMPILE", "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"LLMLOG_COMPILE must be 1 (compile) or 0, got {value!r}")


class CompileHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile :data:`MODULES` into the wheel when ``LLMLOG_COMPILE=1``."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        return ["mypy>=1.10", "setuptools>=70"] if _wanted() else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if not _wanted() or self.target_name != "wheel" or version == "editable":
            return
        work = Path(self.root) / "build" / "mypyc"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(Path(self.root) / "src" / "llmlog", work / "llmlog")
        (work / "setup.py").write_text(_SETUP.format(modules=list(MODULES)))
        # mypyc type-checks what it compiles; the build environment has none of llmlog's
        # dependencies, and the project's strict settings are CI's business, not the build's
        (work / "mypy.ini").write_text(_MYPY_INI)
        done = subprocess.run(
            [sys.executable, "setup.py", "build_ext", "--inplace"],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"LLMLOG_COMPILE=1: mypyc failed:\n{done.stdout[-4000:]}")
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = sorted(work.glob(f"*{suffix}")) + sorted((work / "llmlog").rglob(f"*{suffix}"))
        for path in built:
            build_data["force_include"][str(path)] = path.relative_to(work).as_posix()
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
