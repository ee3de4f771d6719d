# Two entry points a new user needs:  `make book`  and  `make test`  (and `make test-fast` while editing).
# Each creates (or reuses) the virtualenv .venv and installs what it needs into it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
INSTALL := $(PIP) install --progress-bar off

.PHONY: book test test-fast test-exhaustive rehearsal bench clean venv sandbox-tools browser-tools

$(VENV)/.created:
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
	  echo "$(PYTHON) cannot create virtual environments: install its venv module" >&2; \
	  echo "  (Debian/Ubuntu: sudo apt-get install python3-venv)" >&2; exit 1; }
	@echo "==> Creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(INSTALL) --upgrade pip
	touch $@

# Stamp files: re-install only when pyproject.toml changes.
$(VENV)/.book: $(VENV)/.created pyproject.toml
	@echo "==> Installing rnnkit with the book tools into $(VENV) (Jupyter Book v1; about 1-2 minutes the first time)"
	$(INSTALL) -e ".[book]"
	touch $@

$(VENV)/.test: $(VENV)/.created pyproject.toml
	@echo "==> Installing rnnkit with the book, grading and test tools into $(VENV) (about 2 minutes the first time)"
	$(INSTALL) -e ".[book,grading,test]"
	touch $@

venv: $(VENV)/.test

# The grading sandbox needs bubblewrap (util-linux's setpriv is always there).
# As root on Debian/Ubuntu it is installed here; otherwise the message says what to run.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing bubblewrap (the grading sandbox) with apt-get ..."; \
	    apt-get update -qq && apt-get install -y -qq bubblewrap; \
	  else \
	    echo "The grading tests need bubblewrap: sudo apt-get install bubblewrap (Debian/Ubuntu)" >&2; exit 1; \
	  fi; }

# The book's phone-width and search checks (tests/course/test_book.py) drive headless Chromium.
browser-tools:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Chromium (the book's browser checks) with apt-get ..."; \
	    apt-get update -qq && apt-get install -y -qq chromium; \
	  else \
	    echo "The book's browser checks need Chromium: sudo apt-get install chromium (Debian/Ubuntu)" >&2; exit 1; \
	  fi; }

## Build the HTML book (warnings are errors; any cell error fails the build).
book: $(VENV)/.book
	@echo "==> Building the book (executes every chapter; about 3-4 minutes cold, seconds when cached)"
	RNNKIT_PROGRESS=0 $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Book: _build/html/index.html"

# The tests run on every core with pytest-xdist: TEST_JOBS workers ("auto": one per core; TEST_JOBS=1
# runs them in one process). `--dist loadfile` keeps a module on one worker, so a built book or a graded
# course (module-scoped fixtures) is made once; tests/conftest.py hands the bug table out test by test.
TEST_JOBS ?= auto
PARALLEL  := -n $(TEST_JOBS) --dist loadfile
# Run apart from every other sandbox: the attack suite checks that no
# sandbox process outlives its batch, machine-wide. Its companions start no sandbox: the book build, the library.
# (pytest's --ignore skips nothing named on the command line or in testpaths: the first run names its folders.)
ALONE     := tests/course/test_grading_adversarial.py tests/course/test_book.py tests/library

# Both pytest runs of a target run even if the first fails; the target fails if either failed. Exit 5 ("no
# tests collected") fails it only if both collected nothing: PYTEST_ARGS="-k ..." may select from one run only.
BOTH_PASSED = r2=$$?; [ $$r1$$r2 = 55 ] && exit 5; for s in $$r1 $$r2; do [ $$s = 0 ] || [ $$s = 5 ] || exit $$s; done

## The README's test command: every test except the exhaustive tier (see test-exhaustive): tests/library,
## tests/grading (the bug table on 3 seeds), tests/course (book build with forced execution, browser
## checks, real nbgrader runs, the attack suite). Two pytest runs, each on every core.
test: $(VENV)/.test sandbox-tools browser-tools
	$(PY) -m pytest $(PARALLEL) -m "not exhaustive" tests/grading tests/course $(foreach p,$(ALONE),--ignore=$(p)) \
	  $(PYTEST_ARGS); r1=$$?; \
	$(PY) -m pytest $(PARALLEL) -m "not exhaustive" $(ALONE) $(PYTEST_ARGS); $(BOTH_PASSED)

## What `make test` leaves out (CI runs both): the bug table on seeds 3-9, then every chapter under
## 6 OpenBLAS configurations (tests/course/test_portability.py, alone: it schedules both cores itself).
test-exhaustive: $(VENV)/.test sandbox-tools
	$(PY) -m pytest $(PARALLEL) -m exhaustive --ignore=tests/course/test_portability.py $(PYTEST_ARGS); r1=$$?; \
	$(PY) -m pytest -m exhaustive tests/course/test_portability.py $(PYTEST_ARGS); $(BOTH_PASSED)

## The fast tier while editing: tests/library and tests/grading (no book build, no nbgrader runs).
test-fast: $(VENV)/.test sandbox-tools
	RNNKIT_TABLE_SEEDS=1 $(PY) -m pytest $(PARALLEL) -m "not slow" tests/library tests/grading $(PYTEST_ARGS)

## A rehearsal before the term (book/instructor-guide.md): grade a synthetic class of assignment A (default
## a3-bptt; N students, default 40) in the course directory COURSE (default: this one) and check every score.
rehearsal: $(VENV)/.test sandbox-tools
	cd $(or $(COURSE),.) && $(abspath $(PY)) -m rnnkit.grading.pipeline.rehearsal $(or $(A),a3-bptt) --students $(or $(N),40)

## The notebooks nbgrader reads (source/<name>/<name>.ipynb, ignored by git), built from solutions/*.md.
.PHONY: source release
source: $(VENV)/.test
	$(PY) tools/release.py --source

## Regenerate source/ and the committed student notebooks in exercises/ from solutions/*.md.
release: $(VENV)/.test
	$(PY) tools/release.py

## Speed of rnnkit against PyTorch (if installed in .venv) on the CPU.
bench: $(VENV)/.created
	$(INSTALL) -e .
	$(PY) tools/bench.py

clean:
	rm -rf _build .jupyter_cache
