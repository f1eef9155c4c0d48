#!/usr/bin/env bash
# Re-resolve the test environment from pyproject.toml's ranges and pin it in constraints.txt.
#
# The README's install command (pip install -e '.[dev]' -c constraints.txt) installs exactly
# these versions, so a fresh machine tests what CI tested and a release on PyPI tomorrow
# cannot turn main red. Run this (`make lock`) to take newer releases on purpose, then run
# the suite and commit constraints.txt with whatever the new versions needed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --upgrade pip
"$tmp/venv/bin/pip" install -q -e '.[dev]'
{
    echo "# The test environment CI uses: every package of llmlog[dev], pinned."
    echo "# Installed by the README's command: pip install -e '.[dev]' -c constraints.txt"
    echo "# Regenerate with: make lock (scripts/lock.sh), on $("$tmp/venv/bin/python" -V)."
    "$tmp/venv/bin/pip" freeze --exclude-editable | grep -v -i '^llmlog[ =@]' | LC_ALL=C sort -f
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages pinned"
