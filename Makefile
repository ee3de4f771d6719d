# Two entry points a new user needs:  `make book`  and  `make test`.
# Each creates (or reuses) the virtualenv .venv and installs what it needs into it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: book test bench clean venv sandbox-tools

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

# Stamp files: re-install only when pyproject.toml changes.
$(VENV)/.book: $(VENV)/.created pyproject.toml
	$(PIP) install --quiet -e ".[book]"
	touch $@

$(VENV)/.test: $(VENV)/.created pyproject.toml
	$(PIP) install --quiet -e ".[book,grading,test]"
	touch $@

venv: $(VENV)/.test

# The grading sandbox needs bubblewrap (util-linux's prlimit and setpriv are always there).
# As root on Debian/Ubuntu it is installed here; otherwise the message says what to run.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing bubblewrap (the grading sandbox) with apt-get ..."; \
	    apt-get update -qq && apt-get install -y -qq bubblewrap; \
	  else \
	    echo "The grading tests need bubblewrap: sudo apt-get install bubblewrap (Debian/Ubuntu)" >&2; exit 1; \
	  fi; }

## Build the HTML book (warnings are errors; any cell error fails the build).
book: $(VENV)/.book
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Book: _build/html/index.html"

## Run the whole test suite (library, book build with forced execution, grading pipeline).
test: $(VENV)/.test sandbox-tools
	$(PY) -m pytest $(PYTEST_ARGS)

## Speed of rnnkit against PyTorch (if installed in .venv) on the CPU.
bench: $(VENV)/.created
	$(PIP) install --quiet -e .
	$(PY) -m rnnkit.bench

clean:
	rm -rf _build .jupyter_cache
