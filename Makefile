# labelport: `make run` starts it, `make test` checks it. Each target creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
REFEREE_VENV := .venv-referee
BENCH_STAMP := $(VENV)/.installed-bench

REFEREE_STAMP := $(REFEREE_VENV)/.installed
# The vendors' own SDKs, dcmqi (SEG and SR readers) and rt-utils (the RTSTRUCT bench; it pulls opencv-python,
# which clashes with our opencv-python-headless) referee our formats from a venv of their own (their pins
# clash with ours).
REFEREE_REQUIREMENTS := "labelbox[data]==5.2.1" "pillow<11" packaging "dcmqi==1.5.7" "rt-utils==1.2.7"
# redbrick-sdk pins its own numpy, pydicom and SimpleITK: the RedBrick referee has a venv of its own.
REDBRICK_VENV := .venv-redbrick
REDBRICK_STAMP := $(REDBRICK_VENV)/.installed
REDBRICK_REQUIREMENTS := "redbrick-sdk==2.35.4"
# Encord's SDK referees at two versions either side of its classification change, one venv each.
ENCORD_VERSIONS := 0.1.211 0.1.190
ENCORD_REFEREE_STAMPS := $(foreach v,$(ENCORD_VERSIONS),.venv-referee-encord-$(v)/.installed)

.PHONY: run demo cluster test lint typecheck pytest bench fuzz referee-venv redbrick-venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[server,scale,dev,dicom]'
	touch $@

run: $(STAMP)
	$(BIN)/labelport serve --demo

demo: run

# A local scale-out cluster (SeaweedFS, Redis, 2 API replicas, 2 workers) on the machine's PostgreSQL.
CLUSTER_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/labelport
cluster: $(STAMP)
	psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'labelport'" | grep -q 1 || \
		psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE labelport"
	$(BIN)/labelport cluster up --database-url $(CLUSTER_DATABASE_URL)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

$(REFEREE_STAMP):
	test -x $(REFEREE_VENV)/bin/python || $(PYTHON) -m venv $(REFEREE_VENV)
	$(REFEREE_VENV)/bin/python -m pip install --quiet $(REFEREE_REQUIREMENTS)
	touch $@

$(REDBRICK_STAMP):
	test -x $(REDBRICK_VENV)/bin/python || $(PYTHON) -m venv $(REDBRICK_VENV)
	$(REDBRICK_VENV)/bin/python -m pip install --quiet $(REDBRICK_REQUIREMENTS)
	touch $@

redbrick-venv: $(REDBRICK_STAMP)

.venv-referee-encord-%/.installed:
	test -x .venv-referee-encord-$*/bin/python || $(PYTHON) -m venv .venv-referee-encord-$*
	.venv-referee-encord-$*/bin/python -m pip install --quiet "encord==$*"
	touch $@

referee-venv: $(REFEREE_STAMP) $(ENCORD_REFEREE_STAMPS)

pytest: $(STAMP) $(REFEREE_STAMP) $(REDBRICK_STAMP) $(ENCORD_REFEREE_STAMPS)
	$(BIN)/pytest

test: lint typecheck pytest

# The long fuzz run (tests/fuzz): 100,000 inputs per registered reader, DICOM headers and whole imports,
# each test its own process, FUZZ_JOBS at a time (Hypothesis holds up to 4 GB each at this budget);
# `make test` runs the same tests with a budget of seconds.
FUZZ_JOBS ?= $(shell nproc)
fuzz: $(STAMP)
	LABELPORT_FUZZ_EXAMPLES=100000 LABELPORT_FUZZ_DICOM_EXAMPLES=3000 LABELPORT_FUZZ_IMPORT_EXAMPLES=2000 \
		$(BIN)/python -m tests.fuzz.parallel --jobs $(FUZZ_JOBS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[server,scale,dev,dicom,bench]'
	touch $@

bench: $(BENCH_STAMP) $(REFEREE_STAMP) $(REDBRICK_STAMP) $(ENCORD_REFEREE_STAMPS)
	@for f in benchmarks/*/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(REFEREE_VENV) $(REDBRICK_VENV) .venv-referee-encord-* .mypy_cache .ruff_cache .pytest_cache
