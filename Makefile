# AMI « Usages numériques » — site (Pelican) and collector (Flask under gunicorn).
# `make run` and `make test` work on a fresh clone: they create .venv and install first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PELICAN := $(BIN)/pelican
INPUTDIR := content
OUTPUTDIR := output
CONFFILE := pelicanconf.py
PUBLISHCONF := publishconf.py
PORT ?= 8000
# `make run` previews a moment inside the open phase; set AMI_NOW= (empty) for the real clock.
AMI_NOW ?= 2021-04-15T10:00:00
COLLECTOR_DATA_DIR ?= $(CURDIR)/var/data
UMASK := 027
PYTEST_ARGS ?=

export COLLECTOR_DATA_DIR

.PHONY: help install html clean regenerate serve devserver publish run test bench mutation

help:
	@echo "make run       install, build the site, serve site + collector on http://127.0.0.1:$(PORT), run the mailer"
	@echo "make test      install and run the whole test suite, then its PostgreSQL pass"
	@echo "make html      build the site into $(OUTPUTDIR)/"
	@echo "make devserver rebuild on change and serve the site alone on port $(PORT)"
	@echo "make publish   production build (publishconf.py)"
	@echo "make bench     print every figure (page weights, build time, throughput, exports)"
	@echo "make mutation  mutation tests of the security and durability modules (long; not in CI)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

html: install
	AMI_NOW=$(AMI_NOW) $(PELICAN) $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE)

clean:
	rm -rf $(OUTPUTDIR)

regenerate: install
	AMI_NOW=$(AMI_NOW) $(PELICAN) -r $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE)

serve: install
	$(PELICAN) -l $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE) -b 127.0.0.1 -p $(PORT)

devserver: install
	AMI_NOW=$(AMI_NOW) $(PELICAN) -lr $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE) -b 127.0.0.1 -p $(PORT)

publish: install
	AMI_NOW= $(PELICAN) $(INPUTDIR) -o $(OUTPUTDIR) -s $(PUBLISHCONF)

# The same umask as the systemd units (UMask=0027): the data folder 0750, its files 0640.
# The mailer runs beside gunicorn, as in production; when gunicorn ends (Ctrl-C, an error),
# the EXIT trap stops the mailer (SIGTERM) and waits for it: both stop together.
run: html
	umask $(UMASK); mkdir -p $(COLLECTOR_DATA_DIR) && chmod 0750 $(COLLECTOR_DATA_DIR) || exit 1; \
	export AMI_NOW=$(AMI_NOW) COLLECTOR_SITE_DIR=$(CURDIR)/$(OUTPUTDIR) \
	       COLLECTOR_PUBLIC_URL=http://127.0.0.1:$(PORT) COLLECTOR_COOKIE_SECURE=0; \
	$(BIN)/flask --app collector mailer & mailer=$$!; \
	trap 'kill -TERM $$mailer 2>/dev/null; wait $$mailer' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(BIN)/gunicorn --config deploy/gunicorn.conf.py --bind 127.0.0.1:$(PORT) --workers 2 'collector:create_app()'

# The whole suite (data folder; the modules that say so run on PostgreSQL too), then the PostgreSQL
# pass: the tests of PG_PASS that the --store switch moves to PostgreSQL (tests/support/store_switch.py).
# `make test PG_PASS=` skips that pass.
PG_PASS ?= tests/collector tests/porteur tests/review tests/proof tests/deploy
# Both passes run in TEST_WORKERS processes (pytest-xdist); `--dist loadfile` keeps each test file in
# one process, so that a module's shared server or site build is made once and its tests never meet
# another process's. Each process has its own Chromium, PostgreSQL cluster and temporary folders
# (tests/conftest.py). TEST_WORKERS=0 runs in this one process, as before.
TEST_WORKERS ?= 2
PARALLEL = -n $(TEST_WORKERS) --dist loadfile
test: install
	$(BIN)/pytest $(PARALLEL) $(PYTEST_ARGS)
	$(if $(strip $(PG_PASS)),$(BIN)/pytest $(PARALLEL) --store=postgres -m switched_to_postgresql $(PG_PASS))

bench: install
	$(BIN)/python bench/all.py

# MUTATION_MODULES=collector/durable.py limits the run to some modules of mutation/config.toml.
MUTATION_MODULES ?=
$(VENV)/.mutation-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,mutation]'
	touch $@

mutation: $(VENV)/.mutation-installed
	$(BIN)/python mutation/run.py $(MUTATION_MODULES)
