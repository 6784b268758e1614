# Shortcuts for the scripts in scripts/ (the README's commands call those directly, so a fresh
# machine needs no make).
.PHONY: bootstrap demo test lint bench

bootstrap:
	scripts/bootstrap.sh

demo:
	scripts/demo.sh

test:
	scripts/test.sh

lint: bootstrap
	.venv/bin/ruff check src tests bench

bench: bootstrap
	.venv/bin/python bench/audit_chain.py
