# Outbreak Desk — `make run` serves the demo province, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT
# People in the demo's generated tracing scenario, made on the first run only (website/demo/tracing.py).
# The full 3000 take about a minute on SQLite: `manage.py demo_tracing` adds the rest at any time.
DEMO_PEOPLE ?= 1500
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test lint format messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Outbreak Desk needs Python 3.11 or newer; found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.test-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py demo_tracing --once --people $(DEMO_PEOPLE)
	@echo "Serving on http://$(HOST):$(PORT)/ (admin: http://$(HOST):$(PORT)/admin/)"
ifneq ($(and $(DATABASE_URL),$(REDIS_URL)),)
	$(BIN)/honcho start --port $(PORT) web worker scheduler
else
	$(BIN)/uvicorn website.asgi:application --host $(HOST) --port $(PORT)
endif

# Two pytest processes (pytest-xdist), whole files each; each has its own test database and the
# Redis database after REDIS_URL's (website/settings/test.py). TEST_WORKERS=0 runs one process.
TEST_WORKERS ?= 2
test: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Needs GNU gettext (msgfmt); the compiled .mo files are committed so that `make run` does not.
messages: $(VENV)/.run-deps
	$(BIN)/python manage.py makemessages --locale vi --no-obsolete --ignore '.venv/*' \
		--ignore 'static_collected/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'locale_overrides/*'
	msgfmt --check -o locale/vi/LC_MESSAGES/django.mo locale/vi/LC_MESSAGES/django.po

clean:
	rm -rf $(VENV) static_collected .pytest_cache .ruff_cache
