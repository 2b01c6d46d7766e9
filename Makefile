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

.PHONY: install demo test test-slow test-all bench lint lock clean console chromium jre

# The web console (web/): built with the machine's Node.js and npm into the package, which serves it
# at `/`; rebuilt only when web/ changes. Chromium (Debian's) drives the console's browser tests.
CONSOLE_INDEX := src/kizuna/service/console/index.html
WEB_DEPS      := web/node_modules/.package-lock.json
WEB_SOURCES   := web/index.html web/vite.config.js $(wildcard web/src/*)

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r $(LOCK)
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_DEPS)

$(CONSOLE_INDEX): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build

console: $(CONSOLE_INDEX)

# Installs Debian's chromium when missing, as root or with passwordless sudo; otherwise says so and
# the browser tests skip.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium || \
		{ sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }; \
	else echo "chromium missing and no root or sudo: the console's browser tests will skip"; fi

# Orbit determination runs Orekit on a Java runtime (17 or newer): Debian's is installed when missing.
jre:
	@if command -v java >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jre-headless || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jre-headless; }; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jre-headless || \
		{ sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jre-headless; }; \
	else echo "java missing and no root or sudo: install a Java 17+ runtime for orbit determination"; fi

demo: $(STAMP) $(CONSOLE_INDEX) jre
	$(KIZUNA) demo

test: $(STAMP) $(CONSOLE_INDEX) chromium jre
	$(PY) -m pytest -m "not slow" -q -n auto --dist loadfile

test-slow: $(STAMP) $(CONSOLE_INDEX) chromium jre
	$(PY) -m pytest -m slow -q

test-all: $(STAMP) $(CONSOLE_INDEX) chromium jre
	$(PY) -m pytest -q

bench: $(STAMP) $(CONSOLE_INDEX) chromium jre
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
	rm -rf web/node_modules src/kizuna/service/console
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis build *.egg-info src/*.egg-info
