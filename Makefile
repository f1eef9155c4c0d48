# Developer tasks. CI runs the README's two commands plus lint, format and mypy (.ci/run).
.PHONY: install test lint format typecheck check lock test-sdks-newest test-sdks-oldest bench

install:
	pip install -e '.[dev]' -c constraints.txt

test:
	pytest

lint:
	ruff check src tests bench docs

format:
	ruff format src tests bench docs

typecheck:
	mypy

# everything .ci/run checks after installing
check: lint typecheck
	ruff format --check src tests bench docs
	pytest

# re-pin the test environment (constraints.txt) to the newest releases the ranges allow
lock:
	bash scripts/lock.sh

# the capture tests against the newest SDK releases on PyPI, or the oldest we support
test-sdks-newest:
	bash scripts/test-sdks.sh newest

test-sdks-oldest:
	bash scripts/test-sdks.sh oldest

bench:
	python bench/overhead.py
