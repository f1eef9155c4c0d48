# Developer tasks. CI runs exactly the README's two commands (see .ci/run); these are extras.
.PHONY: install test lint typecheck format bench

install:
	pip install -e '.[dev]'

test:
	pytest

lint:
	ruff check src tests bench

format:
	ruff format src tests bench

typecheck:
	mypy

bench:
	python bench/overhead.py
