#!/usr/bin/env bash
# Run the capture tests against the newest (default) or the oldest supported releases of the
# SDKs that llmlog patches, in a throwaway virtualenv; the locked environment is left alone.
#
#   scripts/test-sdks.sh            # newest releases on PyPI (make test-sdks-newest)
#   scripts/test-sdks.sh oldest     # the lower bounds in pyproject.toml's dev extra
#
# Everything else comes from constraints.txt, so a failure points at the SDK release.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-newest}
python=${PYTHON:-python3}
sdks=(openai anthropic litellm google-genai ollama mistralai cohere groq)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv "$tmp/venv"
pip="$tmp/venv/bin/pip"
"$pip" install -q --upgrade pip
grep -v -i -E "^($(IFS='|'; echo "${sdks[*]}"))==" constraints.txt > "$tmp/others.txt"
case "$which" in
    newest) wanted=("${sdks[@]}") ;;
    oldest)
        mapfile -t wanted < <("$tmp/venv/bin/python" - "${sdks[@]}" <<'PY'
import re, sys, tomllib
dev = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["dev"]
for name in sys.argv[1:]:
    spec = next(d for d in dev if re.match(rf"{name}\b", d))
    print(f"{name}=={re.search(r'>=([^,]+)', spec).group(1)}")
PY
        ) ;;
    *) echo "usage: $0 [newest|oldest]" >&2; exit 1 ;;
esac
"$pip" install -q -e '.[dev]' -c "$tmp/others.txt"
"$pip" install -q --upgrade "${wanted[@]}" -c "$tmp/others.txt" 2>/dev/null \
    || "$pip" install -q --upgrade "${wanted[@]}"
echo "capture tests against the $which SDKs:"
"$tmp/venv/bin/python" - "${sdks[@]}" <<'PY'
import sys
from importlib.metadata import version
for name in sys.argv[1:]:
    print(f"  {name} {version(name)}")
PY
CI=true "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider tests/capture
