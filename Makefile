# Share Funnel — every target sets itself up (venv + dependencies) on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-stamp
NODE_STAMP := node_modules/.deps-stamp
STAGE  ?= dev
STORAGE_BACKEND ?= tcb

.PHONY: test test-python lint format demo bench compat build deploy-config deploy deploy-cloudbase smoke funnel report rewards dashboard admin-token clean
REGION ?=

# The project installs itself (editable) with its pinned dev extra: tests, tools, benches and the ops CLI import
# `shared` and `tools` as installed packages (the built function zips keep their own layout).
$(STAMP): pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Deploy tooling (Serverless Framework v3; our provider plugin is tools/serverless/), pinned by package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## make test: every test (Python 3.10 compatibility, generated deploy files, the pytest suite — including
## `make build` + the real serverless CLI deploying every function to the SCF API emulator — and the kit on node).
test: $(STAMP) $(NODE_STAMP) lint compat
	$(PY) tools/deploy_config.py --check
	@# The CloudBase backend first (the tcb API emulator over the embedded engine; what touches no database ran
	@# on the embedded pass), then everything on the embedded engine; coverage adds up, the floor is checked last.
	@# The CloudBase pass runs against the answers nobody documents at their least helpful: RunCommands writes
	@# answering Data: [""], duplicates as E11000 messages, new collections taking data only 50 ms after CreateTable
	@# (CI's real-server pass takes the other variants).
	DATABASE=cloudbase TCB_EMULATOR_WRITE_ANSWERS=blank TCB_EMULATOR_DUPLICATES=message TCB_EMULATOR_READY_AFTER_S=0.05 \
	  $(PY) -m pytest -m "not no_database" --cov --cov-fail-under=0 --cov-report= $(PYTEST_ARGS)
	$(PY) -m pytest --cov --cov-append --cov-report=term $(PYTEST_ARGS)
	cd miniprogram && SHARE_FUNNEL_PYTHON=$(abspath $(PY)) node --test test/

## make lint: ruff (lint + format check) and mypy, strict on the product package (configured in pyproject.toml).
## Part of make test, so CI fails on a lint error, a format difference or a type error.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@# Each entry is a module named `index` (as SCF loads it): one mypy run per function.
	@for entry in functions/*/index.py; do $(VENV)/bin/mypy --no-error-summary $$entry || exit 1; done

## make format: apply ruff's fixes and formatting.
format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make test-python: the pytest suite alone (e.g. MONGODB_URI=mongodb://… make test-python against a real server,
## DATABASE=cloudbase make test-python on the CloudBase backend through the tcb API emulator;
## PYTEST_ARGS='-m "not no_database"' leaves out what runs the same on any engine).
test-python: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## Runtime code must run on SCF's Python 3.10.
compat: $(STAMP)
	$(VENV)/bin/vermin --no-tips --violations -t=3.10- --eval-annotations functions shared

## make demo: a simulated share campaign through the real handlers on the embedded engine, then the same campaign on
## the CloudBase database backend (the tcb API emulator), with the API requests it cost.
demo: $(STAMP)
	$(PY) tools/demo.py
	DEMO_OUTPUT=demo-output/cloudbase $(PY) tools/demo.py --cloudbase

## make bench: benchmarks; numbers are appended to bench/RESULTS.md.
bench: $(STAMP) build $(NODE_STAMP)
	$(PY) bench/landing.py
	$(PY) bench/cloudbase.py
	$(PY) bench/wxacode_batch.py
	$(PY) bench/funnel.py
	$(PY) bench/deploy.py
	$(PY) bench/dashboard.py
	$(PY) bench/scf_deploy.py
	@# On MONGODB_URI the issue's sizes: settlement --orders 100000, backfill --days 400 --landings 10000.
	$(PY) bench/runs.py settlement --orders 5000 --batch 1000
	$(PY) bench/runs.py backfill --days 40 --landings 1000

## make build: build/<fn>/ and build/<fn>.zip per function (STORAGE_BACKEND=cos adds boto3 to genWxacode).
build: $(STAMP)
	$(PY) tools/build.py --storage $(STORAGE_BACKEND)

## make deploy-config: regenerate serverless.yml and cloudbaserc.json from shared/ops/deployment.py.
deploy-config: $(STAMP)
	$(PY) tools/deploy_config.py

## make deploy FUNCTION=recordShare STAGE=prod [PRUNE=1]: ship one function through Tencent's cloud API (created by
## CloudBase's CreateFunction, updated through SCF's; values from .env / .env.<stage>: credentials, TCB_ENV,
## VPC_ID/SUBNET_ID and the functions' variables; see .env.example). PRUNE=1 removes variables no longer defined.
deploy: $(STAMP) $(NODE_STAMP)
	@test -n "$(FUNCTION)" || (echo "usage: make deploy FUNCTION=recordShare|genWxacode|dailyFunnel|rewards STAGE=prod" && exit 2)
	$(PY) tools/build.py --storage $(STORAGE_BACKEND) --only $(FUNCTION)
	SHARE_FUNNEL_PYTHON=$(abspath $(PY)) $(if $(PRUNE),DEPLOY_PRUNE=1) npx serverless deploy function -f $(FUNCTION) --stage $(STAGE) $(if $(REGION),--region $(REGION))

## make deploy-cloudbase: the same functions through CloudBase's own CLI (`tcb`, after `tcb login`; cloudbaserc.json
## reads {{env.X}} from .env). Not verifiable offline: tcb needs a login.
deploy-cloudbase: build
	npx --yes @cloudbase/cli@2.12.10 fn deploy $(if $(FUNCTION),$(FUNCTION),--all) --force --yes

## make smoke STAGE=prod: invoke every deployed function with a harmless probe through the SCF Invoke API
## (same credentials and TCB_ENV as the deploy).
smoke: $(STAMP)
	$(PY) -m shared.ops.cli smoke --stage $(STAGE) $(if $(REGION),--region $(REGION))

## make dashboard [FROM=… TO=…] [DASHBOARD_LANG=en]: the operator's multi-day dashboard (default: the last 14 days) from the
## report rows on MONGODB_URI, written to dashboard.html.
dashboard: $(STAMP)
	$(PY) -m shared.ops.cli dashboard $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(if $(DASHBOARD_LANG),--lang $(DASHBOARD_LANG)) --out $(or $(OUT),dashboard.html)

## make funnel FROM=2026-11-01 TO=2026-11-10: backfill the daily funnel on MONGODB_URI (same code as the timer).
funnel: $(STAMP)
	@test -n "$(FROM)" -a -n "$(TO)" || (echo "usage: make funnel FROM=YYYY-MM-DD TO=YYYY-MM-DD (MONGODB_URI=…)" && exit 2)
	$(PY) -m shared.ops.cli funnel --from $(FROM) --to $(TO)

## make admin-token SCOPE=read [SCOPE2=pay]: a 1-hour admin token granting only those scopes (ADMIN_TOKEN_SECRET).
admin-token: $(STAMP)
	@test -n "$(SCOPE)" || (echo "usage: make admin-token SCOPE=read|operate|pay [SCOPE2=…] (ADMIN_TOKEN_SECRET=…)" && exit 2)
	@$(PY) -m shared.ops.cli admin-token --scope $(SCOPE) $(if $(SCOPE2),--scope $(SCOPE2))

## make rewards: rewards per inviter and the programme's liability, from MONGODB_URI.
rewards: $(STAMP)
	$(PY) -m shared.ops.cli rewards

## make report DATE=2026-11-10 [HTML=report.html | JSON=1]: a day's report rows from MONGODB_URI.
report: $(STAMP)
	@test -n "$(DATE)" || (echo "usage: make report DATE=YYYY-MM-DD [HTML=file.html | JSON=1] (MONGODB_URI=…)" && exit 2)
	$(PY) -m shared.ops.cli report --date $(DATE) $(if $(HTML),--html $(HTML)) $(if $(JSON),--json)

clean:
	rm -rf $(VENV) .pytest_cache build .serverless node_modules
