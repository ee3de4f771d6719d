# Two entry points a new user needs:  `make book`  and  `make test`.
# Each creates (or reuses) the virtualenv .venv and installs what it needs into it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: book test bench clean venv

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

## Build the HTML book (warnings are errors; any cell error fails the build).
book: $(VENV)/.book
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Book: _build/html/index.html"

## Run the whole test suite (library, book build with forced execution, grading pipeline).
test: $(VENV)/.test
	$(PY) -m pytest $(PYTEST_ARGS)

## Speed of rnnkit against PyTorch (if installed in .venv) on the CPU.
bench: $(VENV)/.created
	$(PIP) install --quiet -e .
	$(PY) -m rnnkit.bench

clean:
	rm -rf _build .jupyter_cache
