"""Run the CLI: ``python -m llmlog.cli``."""

from llmlog.cli import main

main()
