# One-command set-up: `make demo`, `make test` and `make lint` create the venv and install everything
# from the pinned lock file (requirements-dev.lock), then kizuna itself without touching those pins.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
KIZUNA := $(VENV)/bin/kizuna
STAMP  := $(VENV)/.installed
LOCK   := requirements-dev.lock
LINT_PATHS := src tests benchmarks scripts

.PHONY: install demo test test-slow test-all bench lint lock clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r $(LOCK)
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(KIZUNA) demo

test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q -n auto --dist loadfile

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -q

test-all: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy

# Re-resolve every runtime and dev dependency (pyproject.toml) to exact versions with hashes, for
# Python 3.11 on every platform. Run after changing a dependency, then `make install`. Needs only uv
# (the version pinned in pyproject.toml), so it works even when the current lock no longer installs.
lock:
	test -x $(VENV)/bin/uv || { $(PYTHON) -m venv $(VENV) && \
		$(PIP) install --quiet "$$(grep -o '"uv==[^"]*"' pyproject.toml | tr -d '"')"; }
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" --quiet -o $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis build *.egg-info src/*.egg-info
