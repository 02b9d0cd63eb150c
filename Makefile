# Avika Console. The README gives the two commands: `make run` and `make test`.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON_CANDIDATES := python3.13 python3.12 \
	$(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
	$(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12)
# The first candidate that really runs and is 3.12 or newer (pyenv shims may
# exist for versions that are not selected, so "which" is not enough).
PY := $(shell for c in $(PYTHON_CANDIDATES); do \
	$$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 \
	&& { echo $$c; break; }; done)
# Debian packages the tests drive: a real registry and a real browser.
TEST_SYSTEM_PACKAGES := chromium:/usr/bin/chromium docker-registry:/usr/bin/docker-registry

.PHONY: run test test-only bench lint install install-dev assets system-packages clean

run: install assets
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py runconsole

test: install-dev assets system-packages test-only

test-only:
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Not a timed test: verifies a 1 GiB asset over loopback next to sha256sum.
bench: install
	$(BIN)/python bench/verify_bench.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(VENV)/.runtime

install-dev: $(VENV)/.dev

$(VENV)/bin/python:
	@if [ -z "$(PY)" ]; then \
		echo "Avika Console needs Python 3.12 or newer: install python3.13 or python3.12 and try again." >&2; \
		exit 1; \
	fi
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

assets: static/vendor/.installed

static/vendor/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed to fetch htmx and the CSS base." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico.min.css
	touch $@

system-packages:
	@missing=""; \
	for entry in $(TEST_SYSTEM_PACKAGES); do \
		pkg=$${entry%%:*}; path=$${entry#*:}; \
		[ -x "$$path" ] || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing$$missing with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		missing=""; \
		for entry in $(TEST_SYSTEM_PACKAGES); do \
			pkg=$${entry%%:*}; path=$${entry#*:}; \
			[ -x "$$path" ] || missing="$$missing $$pkg"; \
		done; \
	fi; \
	if [ -n "$$missing" ]; then \
		if [ "$${CI:-}" = true ]; then echo "Missing system packages:$$missing" >&2; exit 1; fi; \
		echo "Missing system packages:$$missing; the tests that need them will be skipped." >&2; \
	fi

clean:
	rm -rf $(VENV) node_modules static/vendor var/staticfiles
