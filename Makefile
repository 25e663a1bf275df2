# One target per job. `make book` and `make test` create .venv and install on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lint slides figures lab clean install weights repository full

install: $(STAMP)

# Reinstalled whenever pyproject.toml changes; the package itself is editable.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: run 'make PYTHON=python3 ...'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[book,test]"
	touch $(STAMP)

## The main job: execute every notebook and build the static site into _build/html.
## Pretrained weights are read from the weights folder (`make weights`), else downloaded; with
## neither, a notebook says so in one line and goes on.
book: $(STAMP)
	env -u MPLBACKEND $(BIN)/jupyter-book build -W --keep-going .

## Download once every pretrained file the book uses into $LECTURE21_WEIGHTS
## (default ~/.cache/lecture21/cache/weights); the notebooks then load them offline.
weights: $(STAMP)
	$(BIN)/python -m lecture21.pretrained

## Everything: lint, unit tests, every notebook through nbval, and the book build (as a test),
## in the smoke profile unless LECTURE21_PROFILE says otherwise, on two pytest-xdist workers.
test: $(STAMP)
	$(BIN)/ruff check .
	LECTURE21_PROFILE=$${LECTURE21_PROFILE-smoke} HF_HUB_OFFLINE=$${HF_HUB_OFFLINE-1} $(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .

## Reveal.js slideshows of the notebooks (executed) into _build/slides.
slides: $(STAMP)
	$(BIN)/python -m lecture21.slides _build/slides

## Redraw the figures in img/ from the model objects.
figures: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m lecture21.plots img

## JupyterLab with jupyterlab-rise and jupyterlab-myst: open a notebook, then "Render as slides"
## (or the page /rise/notebooks/<name>.md) to present it. Each notebook's `rise` metadata holds
## the deck settings they all share (theme, transition, scroll, slide numbers, footer);
## jupyter-config/ opens .md files as notebooks; notebooks/rise.css styles the decks.
lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
	    $(BIN)/jupyter lab notebooks

## Change the repository address (the one setting, _config.yml) and every notebook's Colab
## install cell with it: make repository URL=https://github.com/<owner>/<name>
repository:
	@test -n "$(URL)" || { echo "usage: make repository URL=https://github.com/<owner>/<name>"; exit 1; }
	@old=$$(sed -n 's/^  url: *//p' _config.yml | head -1); \
	sed -i "s|^  url: $$old\$$|  url: $(URL)|" _config.yml; \
	sed -i "s|git+$$old\"|git+$(URL)\"|" notebooks/*.md; \
	echo "repository: $$old -> $(URL)"

## The full profile on a GPU: every notebook executed, written to _build/full with the results
## store, each notebook's time printed. Refuses on a CPU unless FORCE=1.
full: $(STAMP)
	$(BIN)/python -m lecture21.full _build/full $(if $(FORCE),--force)

clean:
	rm -rf _build .pytest_cache .ruff_cache
