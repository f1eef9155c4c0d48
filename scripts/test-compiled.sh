#!/usr/bin/env bash
# The optional compiled build (LLMLOG_COMPILE=1, hatch_build.py): build the wheel with the
# redaction modules compiled by mypyc, install it into a folder of its own, put that first on
# the path (child processes inherit it) and run the test suite against it. Arguments go to
# pytest (e.g. tests/redact).
set -euo pipefail
cd "$(dirname "$0")/.."
compiled="$(mktemp -d)"
trap 'rm -rf "$compiled"' EXIT
LLMLOG_COMPILE=1 pip wheel . --no-deps -q -w "$compiled/wheel"
pip install -q --no-deps --target "$compiled/site" "$compiled"/wheel/*.whl
LLMLOG_TEST_COMPILED=1 PYTHONPATH="$compiled/site" pytest -q -p no:cacheprovider "$@"
