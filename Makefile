# parcours: `make demo` and `make test` set everything up on a fresh machine and reuse it after.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
PLAN ?= examples/moto-insurance.yaml
PORT ?= 8000
TAG := collector/static/t.js
# The build writes the tag and its add-ons together (tag_js/scripts/build.js).
TAG_OUT := $(TAG) collector/static/addons/markup.js collector/static/addons/numbers.js
TAG_SRC := $(wildcard tag_js/src/*.js) tag_js/package.json tag_js/scripts/build.js
DASH_DIR := journeys/dashboard
DASH := $(DASH_DIR)/static/manifest.json
DASH_SRC := $(wildcard $(DASH_DIR)/src/*.js $(DASH_DIR)/src/*/*.js $(DASH_DIR)/src/*.css) $(DASH_DIR)/package.json $(DASH_DIR)/scripts/build.js
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test test-py test-js bench tag dashboard chromium clean docs

setup: $(BIN)/.installed $(TAG_OUT) $(DASH)

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

tag_js/node_modules/.installed: tag_js/package.json tag_js/package-lock.json
	cd tag_js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

tag: $(TAG_OUT)
$(TAG_OUT) &: tag_js/node_modules/.installed $(TAG_SRC)
	cd tag_js && npm run --silent build

$(DASH_DIR)/node_modules/.installed: $(DASH_DIR)/package.json $(DASH_DIR)/package-lock.json
	cd $(DASH_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

dashboard: $(DASH)
$(DASH): $(DASH_DIR)/node_modules/.installed $(DASH_SRC)
	cd $(DASH_DIR) && npm run --silent build

# Segment's Node libraries, which e2e/test_segment.py drives against the collector
E2E_CLIENTS := e2e/clients/node_modules/.installed
$(E2E_CLIENTS): e2e/clients/package.json e2e/clients/package-lock.json
	cd e2e/clients && npm ci --no-audit --no-fund --loglevel=error
	touch $@

chromium:
	@[ -x $(CHROMIUM) ] || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

DEMO_VIEWER := demo
DEMO_PASSWORD := parcours-demo
# The demo's data directory, the same for each of its commands: with PARCOURS_DATA set in the shell, the viewer
# went into ./data and the collector served the other directory, where "log in as demo" was refused.
DEMO_DATA ?= data

demo: setup
	@# A viewer account for the demo's data directory only, with a password printed below.
	@echo "$(DEMO_PASSWORD)" | $(BIN)/parcours users add $(DEMO_VIEWER) --replace --password-stdin --data-dir $(DEMO_DATA) 2>/dev/null
	@echo
	@echo "  parcours demo"
	@echo "  dashboard: http://127.0.0.1:$(PORT)/dashboard   log in as $(DEMO_VIEWER) / $(DEMO_PASSWORD)"
	@echo "  demo site: http://127.0.0.1:$(PORT)/demo/?courtier=B042&utm_source=display&utm_medium=cpm&utm_campaign=moto-spring"
	@echo "  then, in another terminal: $(BIN)/parcours sql --data-dir $(DEMO_DATA) \"SELECT ts, event, form_id, step, step_index, broker_id, broker_name, lever FROM parcours.events FINAL ORDER BY ts, seq\""
	@echo "  (another port: make demo PORT=8001)"
	@echo "  the demo data set (Mrs X among 20,000 visitors, sales files in demo-files/) is seeded on first start;"
	@echo "  see what the sales matched: $(BIN)/parcours report match --data-dir $(DEMO_DATA)"
	@echo
	@$(BIN)/parcours demo seed --if-empty --wait 120 --files demo-files --data-dir $(DEMO_DATA) & \
	$(BIN)/parcours serve --plan $(PLAN) --port $(PORT) --demo --site-dir examples/demo-site --data-dir $(DEMO_DATA)

test: setup chromium test-js test-py

test-js: tag_js/node_modules/.installed $(DASH_DIR)/node_modules/.installed
	cd tag_js && npm test --silent
	cd $(DASH_DIR) && npm test --silent

# Two processes on the 2-core CI (each its own embedded engine, collectors and Chromium); a file's tests stay
# together, so its module fixtures start once. TEST_JOBS=0 runs them in this process.
TEST_JOBS ?= 2
test-py: setup chromium $(E2E_CLIENTS)
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile

bench: setup chromium
	@for f in bench/bench_*.py; do [ -e "$$f" ] || continue; echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) tag_js/node_modules e2e/clients/node_modules $(TAG) collector/static/addons $(DASH_DIR)/node_modules \
		$(DASH_DIR)/static data .pytest_cache

docs: setup
	$(BIN)/python -m collector.docs
	$(BIN)/python -m journeys.docs
