# Developer tasks. CI runs the README's two commands plus lint, format, mypy and the suite
# against the compiled build (.ci/run).
.PHONY: install test test-compiled lint format typecheck check lock test-sdks-newest test-sdks-oldest bench

install:
	pip install -e '.[dev]' -c constraints.txt

test:
	pytest

# the suite against the LLMLOG_COMPILE=1 build (mypyc; needs a C compiler)
test-compiled:
	bash scripts/test-compiled.sh

lint:
	ruff check src tests bench docs hatch_build.py

format:
	ruff format src tests bench docs hatch_build.py

typecheck:
	mypy

# everything .ci/run checks after installing
check: lint typecheck
	ruff format --check src tests bench docs hatch_build.py
	pytest
	bash scripts/test-compiled.sh

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
