# Penguins pipeline: `make run` sets up and runs the pipeline, `make test` sets up and runs the tests,
# `make report` writes every plot and metric into one offline HTML file.
# Everything runs inside .venv, created from the pinned requirements.txt on first use (with uv, else pip).
# No make (Windows)? `python tasks.py run` and `python tasks.py test` do the same (a test keeps them in step).

PYTHON ?= python3
VENV   ?= .venv
# The checkout's path may hold spaces ("My Projects"): make's path functions ($(abspath) ...) split words on
# them, so BIN is joined by hand, and every recipe quotes "$(BIN)", "$(VENV)" and "$(PYTHON)".
BIN    := $(if $(filter /%,$(firstword $(VENV))),$(VENV),$(CURDIR)/$(VENV))/bin
SELF   := $(strip $(MAKEFILE_LIST))
# VENV, PYTHON and INSTALLER are pasted into recipes inside quotes: refuse what such quotes do not hold.
UNSAFE := \ " ' ` $$
$(foreach v,VENV PYTHON INSTALLER,$(foreach c,$(UNSAFE),$(if $(findstring $c,$(value $v)),$(error \
	$v=$(value $v) holds a $c, which make cannot pass on safely; use a path or name without \ " ' ` $$))))
# dvc.yaml's commands say `python -m stages.X`: put the venv first so that is the venv's Python.
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Every variable a user or CI hands to a target (REVS="main exp-a", ARGS=..., GRID=...): exported unexpanded
# (make's $(value): a git branch named `$(date)` stays `$(date)`), and made into the tool's words by
# tools/make_args.py, never pasted into the shell ($(RUN) execs the tool: the target's status is the tool's).
REVS   ?=
SWEEP  ?= sweep
GRID   ?=
SHARDS ?= 1
SHARD  ?= 0/1
JOBS   ?= 1
ROWS   ?= 10000 100000 1000000
LOCK_ARGS ?=
CHROMIUM ?= chromium
RAW_VARS := ARGS PYTEST_ARGS LOCK_ARGS REVS ROWS GRID BASE SWEEP SHARDS SHARD JOBS CHROMIUM
$(foreach v,$(RAW_VARS),$(eval override $v := $$(value $v))$(eval export $v))
RUN := python -m tools.make_args

.DEFAULT_GOAL := help
.PHONY: help install run report test lint format browser exp-show check-repro bench lock clean-venv push pull bench-remote
.PHONY: sweep-plan sweep-worker sweep-collect bench-sweep reset bench-slurm notebook

# `make help` lists the learner's targets first, then one group per heading; a target in no group is listed
# under "Other" (so a new target shows up before it is placed here). Colour only on a terminal.
HELP_GROUPS := \
	"Start here:run test report exp-show reset notebook" \
	"Experiments and sweeps:sweep-plan sweep-worker sweep-collect" \
	"Sharing (a DVC remote):push pull" \
	"Checks:lint format check-repro" \
	"Benchmarks:bench bench-experiment bench-predict bench-scale bench-sweep bench-remote bench-slurm bench-suite" \
	"Maintenance:install lock browser clean-venv help"
help: ## Show this help: the learner's targets first, then the rest by group
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=; off=; fi; \
	awk -v on="$$on" -v off="$$off" -v groups='$(HELP_GROUPS)' ' \
		BEGIN { FS = ":.*## " } \
		/^[a-zA-Z_-]+:.*## / { desc[$$1] = $$2; order[++n] = $$1 } \
		END { \
			ngroups = split(groups, g, "\" \""); \
			for (i = 1; i <= ngroups; i++) { \
				gsub(/"/, "", g[i]); split(g[i], parts, ":"); printf "%s%s:\n", (i > 1 ? "\n" : ""), parts[1]; \
				k = split(parts[2], names, " "); \
				for (j = 1; j <= k; j++) if (names[j] in desc) { \
					printf "  %smake %-14s%s %s\n", on, names[j], off, desc[names[j]]; seen[names[j]] = 1 } \
			} \
			for (i = 1; i <= n; i++) if (!(order[i] in seen)) { \
				if (!other++) printf "\nOther:\n"; printf "  %smake %-14s%s %s\n", on, order[i], off, desc[order[i]] } \
		}' "$(SELF)"

# The lock has wheels for these Python versions on every platform it claims (tests/unit/test_lock.py).
PYTHON_OK := import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v <= (3, 13) else \
	"make: error: $(PYTHON) is Python %d.%d; requirements.txt has wheels for Python 3.11 to 3.13 only: run make with PYTHON=python3.12" % v)
# uv installs the lock in seconds; its exact pin comes from the lock itself. INSTALLER=pip installs with pip alone.
# --compile-bytecode: uv writes no .pyc files by default, and where PYTHONDONTWRITEBYTECODE=1 is set (many
# containers, this CI) Python never writes them either, so every stage would compile TensorFlow's sources on
# each start (docs/benchmarks.md, "Install"). pip compiles at install by default.
UV_PIN    := $(shell sed -n 's/^\(uv==[^ ;]*\).*/\1/p' requirements.txt)
INSTALLER ?= uv
UV        := "$(BIN)/uv" pip install --python "$(BIN)/python" --quiet --compile-bytecode
PIP       := "$(BIN)/python" -m pip install --quiet --no-input

# Re-installs when the lock or the declared project changes, and once when the penguins package first appears
# (an editable install made before it existed does not map it). A venv whose python no longer runs (deleted, or
# a link to a Python that moved or was upgraded away) is made again (venv --clear), never "Nothing to be done".
$(VENV)/.installed: requirements.txt pyproject.toml $(wildcard penguins/__init__.py)
	"$(BIN)/python" -I -c '' 2>/dev/null || { "$(PYTHON)" -c '$(PYTHON_OK)' && \
		{ [ ! -e "$(VENV)" ] || echo "make: $(VENV)'s python does not run: making $(VENV) again"; } && \
		"$(PYTHON)" -m venv --clear "$(VENV)"; }
	@if [ "$(INSTALLER)" = uv ] && $(PIP) $(UV_PIN); then \
		echo '$(UV) -r requirements.txt && $(UV) --no-deps --no-build-isolation -e .'; \
		$(UV) -r requirements.txt && $(UV) --no-deps --no-build-isolation -e .; \
	else \
		[ "$(INSTALLER)" = pip ] || echo "make: could not install $(UV_PIN) with pip: installing with pip (slower)" >&2; \
		echo '$(PIP) -r requirements.txt && $(PIP) --no-deps --no-build-isolation -e .'; \
		$(PIP) -r requirements.txt && $(PIP) --no-deps --no-build-isolation -e .; \
	fi
	touch "$@"

# Also when the stages' packages went missing from it (stages/__init__.py checks them, standard library only).
ifneq ($(wildcard $(VENV)/.installed),)
ifneq ($(shell "$(BIN)/python" -c 'import stages' >/dev/null 2>&1 || echo broken),)
$(VENV)/.installed: .venv-broken
.PHONY: .venv-broken
.venv-broken: ;
endif
endif

install: $(VENV)/.installed .dvc/plots_page.html ## Create .venv, install the lock and the project (only when they changed; INSTALLER=pip: no uv)

# DVC's own `dvc plots show/diff` page with Vega inlined from the locked vl-convert, so it works offline.
.dvc/plots_page.html: $(VENV)/.installed tools/plots_page.py
	python -m tools.plots_page

# validate_params --check first: DVC reads params.yaml (expanding YAML aliases, failing on a list) before any stage.
# Then what to look at next (tasks.py's next_steps, shared with `python tasks.py run`): with no DVC remote,
# DVC's closing hint "Use `dvc push`..." names a command that fails.
run: install ## Set up and run the whole pipeline (dvc repro), then say what to look at next
	python -m stages.validate_params --check
	dvc repro
	@python tasks.py next-steps

report: install ## Write reports/index.html: all plots, metrics, params; offline (REVS="main exp-a" to compare)
	$(RUN) python -m tools.report @REVS

test: install browser ## Set up and run the test suite (unit + end-to-end with the real dvc and Keras)
	@$(RUN) python -m pytest @PYTEST_ARGS; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): treated as a failure" >&2; fi; \
	exit $$status

lint: install ## Check formatting and lint with ruff (settings in pyproject.toml), dvc.yaml's code deps, private APIs
	ruff format --check .
	ruff check .
	python -m tools.checks.stage_deps --check
	python -m tools.checks.private_api
	python -m tools.checks.notebooks

# Notebooks: jupytext --sync first (the newer of each notebook and its script wins, so an edit made in either is
# kept), ruff on the scripts, sync again (script -> notebook), then nbstripout removes outputs and counts.
# override: never a value from the command line. (No comment after the value: its spaces would be part of it,
# and $(if) would see "  " as notebooks to format.)
override NOTEBOOKS := $(wildcard notebooks/*.ipynb)
format: install ## Format the code and apply ruff's safe fixes; sync and strip the notebooks
	$(if $(NOTEBOOKS),jupytext --quiet --sync $(NOTEBOOKS))
	ruff format .
	ruff check --fix .
	$(if $(NOTEBOOKS),jupytext --quiet --sync $(NOTEBOOKS) && nbstripout $(NOTEBOOKS))

# The report's browser test runs $(CHROMIUM), else the first of these it finds (GitHub's runners have
# google-chrome). Run as root (CI, containers), this installs Debian's chromium when none is there;
# otherwise, or if apt-get fails, the test skips with the reason (and fails under CI=true).
BROWSERS := chromium chromium-browser google-chrome google-chrome-stable
browser: ## Install Chromium for the report's browser test if missing (Debian apt-get, as root)
	@for b in "$$CHROMIUM" $(BROWSERS); do command -v "$$b" >/dev/null 2>&1 && exit 0; done; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "make: chromium not found (install: sudo apt-get install chromium); the browser test will be skipped" >&2; exit 0; fi; \
	echo "make: installing chromium with apt-get for the browser test"; \
	export DEBIAN_FRONTEND=noninteractive; pkgs="chromium fonts-dejavu-core"; \
	apt-get install -y -qq --no-install-recommends $$pkgs >/dev/null 2>&1 || \
	{ apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $$pkgs >/dev/null; } || \
	echo "make: could not install chromium; the browser test will be skipped (fails under CI=true)" >&2

# JupyterLab (installed into .venv from requirements-notebook.txt on first use) with .venv as the kernel; the
# one-line check first: a .venv whose Python is gone (an upgraded system Python) or lacks the kernel.
notebook: install ## JupyterLab on notebooks/ with .venv as the kernel, offline (installed on first use); prints the URL
	@"$(BIN)/python" -c "import ipykernel, penguins" >/dev/null 2>&1 || { echo "make notebook: error: $(VENV) cannot run the notebooks' kernel (its Python or packages are missing or broken); run: make clean-venv install" >&2; exit 1; }
	$(RUN) python -m tools.notebook @ARGS

# Metrics that matter, plus only the params that differ between the experiments shown (tools/exp_show.py);
# failed and queued experiments are named after the table instead of shown with their baseline's metrics.
exp-show: install ## Compact `dvc exp show`: test accuracy, f1_macro, loss, validation accuracy, params; no failed runs
	$(RUN) python -m tools.exp_show @ARGS

# Back to the committed baseline after a failed experiment: every tracked file (params.yaml included, whatever
# git's timestamps say) and DVC's outputs as dvc.lock lists them; discarded edits are kept as a git stash.
reset: install ## Return the workspace to HEAD after a failed experiment: tracked files by content, then dvc checkout
	$(RUN) python -m tools.reset @ARGS

# Sweeps over many machines (docs/sweeps.md, python -m tools.sweep --help). GRID holds
# -S values separated by spaces, e.g. GRID="train.seed=range(5) train.learning_rate=0.001,0.01".
SWEEP_ARGS := @GRID --name @SWEEP
sweep-plan: install ## List a sweep's experiments and their shards: make sweep-plan GRID="train.seed=range(5)" SHARDS=2
	$(RUN) python -m tools.sweep plan $(SWEEP_ARGS) --shards @SHARDS @ARGS

sweep-worker: install ## Run one shard, push each experiment: make sweep-worker GRID=... SHARD=0/2 [JOBS=2]
	$(RUN) python -m tools.sweep worker $(SWEEP_ARGS) --shard @SHARD -j @JOBS @ARGS

sweep-collect: install ## Fetch a sweep's experiments, compare, name the best by validation accuracy (ARGS=--apply)
	$(RUN) python -m tools.sweep collect $(SWEEP_ARGS) @ARGS

check-repro: install ## CI reproducibility check: lock in step, re-run in a clean clone, metrics/params diff (Markdown)
	$(RUN) python -m tools.check_repro @BASE

bench: install ## Time cold/no-op dvc repro, one dvc exp run, 4 queued experiments (-j 2 vs -j 1), in-process reference
	python -m tools.benchmarks.pipeline

.PHONY: bench-experiment
bench-experiment: install ## One `dvc exp run` and a cold repro vs the lesson as one script: CPU by stage and phase (ARGS="--compare main")
	$(RUN) python -m tools.benchmarks.experiment @ARGS

.PHONY: bench-scale
bench-scale: install ## Cold dvc repro on synthetic penguins of ROWS rows (1 epoch): each stage's seconds and peak memory
	$(RUN) python -m tools.benchmarks.scale --rows @ROWS @ARGS

.PHONY: bench-predict
bench-predict: install ## penguins-predict for one penguin and 100,000 rows: the light path vs --keras (wall, CPU, peak MB)
	python -m tools.benchmarks.predict

bench-slurm: install ## 8 experiments: dvc queue -j 2 vs a 2-task SLURM array + collect job, with/without SWEEP_CACHE (root)
	$(RUN) python -m tools.benchmarks.slurm @ARGS

bench-sweep: install ## Time one experiment stage by stage, and 8 experiments: dvc queue -j 2 vs two pinned sweep workers
	$(RUN) python -m tools.benchmarks.sweep @ARGS

push: install ## dvc push --run-cache to the default DVC remote (ARGS="-r NAME ..."), plus what the run-cache needs
	$(RUN) python -m tools.remote push --run-cache @ARGS

pull: install ## dvc pull --run-cache from the default DVC remote (ARGS="-r NAME ..."), every pulled file md5-checked
	$(RUN) python -m tools.remote pull --run-cache @ARGS

bench-remote: install ## Time dvc push/pull to a local-directory and an S3 (moto) remote, and a run-cache restore
	python -m tools.benchmarks.remote

.PHONY: bench-suite
bench-suite: install ## make test in a fresh clone of HEAD: whole CPU (daemons included, in a cgroup as root), wall, CPU per file
	$(RUN) python -m tools.benchmarks.suite @ARGS

# One lock for every platform and Python >= 3.11: environment markers where they differ (tensorflow-cpu on
# Linux x86_64 and Windows, tensorflow elsewhere). uv keeps the existing pins that still satisfy pyproject.toml;
# LOCK_ARGS="--upgrade-package dvc" (or --upgrade) moves them. uv writes the file atomically.
lock: ## Re-lock requirements.txt (and requirements-notebook.txt) from pyproject.toml for every platform (LOCK_ARGS="--upgrade-package NAME")
	test -x "$(BIN)/uv" || { "$(BIN)/python" -I -c '' 2>/dev/null || { "$(PYTHON)" -c '$(PYTHON_OK)' && \
		"$(PYTHON)" -m venv --clear "$(VENV)"; }; $(PIP) $(UV_PIN); }
	"$(BIN)/python" -m tools.make_args "$(BIN)/uv" pip compile pyproject.toml --extra dev --universal \
		--python-version 3.11 --quiet --custom-compile-command "make lock" @LOCK_ARGS -o requirements.txt
	"$(BIN)/python" -m tools.make_args "$(BIN)/uv" pip compile pyproject.toml --extra dev --extra notebook --universal \
		--python-version 3.11 --quiet --custom-compile-command "make lock" -c requirements.txt @LOCK_ARGS \
		-o requirements-notebook.txt

clean-venv: ## Remove .venv (the next make target recreates it)
	rm -rf "$(VENV)"
