# Sequence Models I: two commands on a fresh machine with Python 3.11, git and make.
#   make book   build the student edition of the book into _build/html
#   make test   install what the tests need (Python packages, and Debian packages through
#               tools/system-packages.sh), then run every test
#   make check  the fast tier for every change (< 3 min): ruff, the import contracts, then every test not marked slow
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: book test check system venv lock clean release bench

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyter-book build -W -n --keep-going .
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

# Chromium and its driver, PostgreSQL, setpriv: installed with apt-get (as root, or with a
# sudo that asks no password), or a one-line message saying what to install, in seconds.
system:
	@bash tools/system-packages.sh

test: system $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

# The reference, the checks, the grading internals, one chapter released and graded; no
# browser, no book build, no database server, so no system packages beyond Python.
check: $(STAMP)
	@bash tools/system-packages.sh sandbox
	$(PY) -m ruff check .
	cd $(CURDIR) && $(VENV)/bin/lint-imports --no-cache
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

release: $(STAMP)
	$(PY) -m autograde release

# Grading throughput against plain nbgrader, a class of 100 honest notebooks alone and with
# the red team's attacks mixed in, chapter 8's training time, and the submission service
# under a burst against `grade` (prints figures; not part of `make test`).
bench: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/grading.py --n 20 100 400 --attacks 100
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/ch08_training.py --runs 3
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/service.py --n 200 --learners 50

# Refresh requirements.txt from requirements.in (needs the network, maintainers only).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -r requirements.in
	.venv-lock/bin/pip freeze > requirements.txt
	rm -rf .venv-lock

clean:
	rm -rf _build _course .pytest_cache
