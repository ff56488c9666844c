# Share Funnel — every target sets itself up (venv + dependencies) on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-stamp
NODE_STAMP := node_modules/.deps-stamp
STAGE  ?= dev
STORAGE_BACKEND ?= tcb

.PHONY: test test-python demo bench compat build package deploy-config deploy smoke funnel report rewards clean
REGION ?= ap-shanghai

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# Deploy tooling (Serverless Framework v3 + serverless-tencent-scf), pinned by package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## make test: every test (Python 3.10 compatibility, generated deploy files, the pytest suite — including
## `make build` + the real serverless CLI packaging offline — and the mini program kit on node).
test: $(STAMP) $(NODE_STAMP) compat
	$(PY) tools/deploy_config.py --check
	$(PY) -m pytest
	cd miniprogram && SHARE_FUNNEL_PYTHON=$(abspath $(PY)) node --test test/

## make test-python: the pytest suite alone (e.g. MONGODB_URI=mongodb://… make test-python against a real server).
test-python: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest

## Runtime code must run on SCF's Python 3.10.
compat: $(STAMP)
	$(VENV)/bin/vermin --no-tips --violations -t=3.10- --eval-annotations functions shared

## make demo: a simulated share campaign through the real handlers on the embedded engine.
demo: $(STAMP)
	$(PY) tools/demo.py

## make bench: benchmarks; numbers are appended to bench/RESULTS.md.
bench: $(STAMP)
	$(PY) bench/landing.py
	$(PY) bench/wxacode_batch.py
	$(PY) bench/funnel.py
	$(PY) bench/deploy.py
	$(PY) bench/rewards.py --orders 5000 --batch 2000   # on MONGODB_URI: --orders 100000 --batch 10000

## make build: build/<fn>/ and build/<fn>.zip per function (STORAGE_BACKEND=cos adds boto3 to genWxacode).
build: $(STAMP)
	$(PY) tools/build.py --storage $(STORAGE_BACKEND)

## make package: the real serverless CLI packages build/ into .serverless/<fn>.zip (offline-safe).
package: build $(NODE_STAMP)
	$(PY) tools/serverless_offline.py package

## make deploy-config: regenerate serverless.yml and cloudbaserc.json from shared/ops/deployment.py.
deploy-config: $(STAMP)
	$(PY) tools/deploy_config.py

## make deploy FUNCTION=recordShare STAGE=prod: ship one function (needs Tencent Cloud credentials).
deploy: build $(NODE_STAMP)
	@test -n "$(FUNCTION)" || (echo "usage: make deploy FUNCTION=recordShare|genWxacode|dailyFunnel STAGE=prod" && exit 2)
	mkdir -p .serverless
	npx serverless deploy function -f $(FUNCTION) --stage $(STAGE) 2>&1 | tee .serverless/deploy-$(FUNCTION).log
	@# the 2020 plugin can print an error and still exit 0: require its success line
	@grep -q "Deployed function .* successful" .serverless/deploy-$(FUNCTION).log || \
		(echo "deploy of $(FUNCTION) did not report success; see .serverless/deploy-$(FUNCTION).log" && exit 1)

## make smoke STAGE=prod REGION=ap-shanghai [NAMESPACE=<CloudBase env id>]: invoke every deployed function with a
## harmless probe through the SCF Invoke API (NAMESPACE given: the plainly named CloudBase functions).
smoke: $(STAMP)
	$(PY) -m shared.ops.cli smoke --stage $(STAGE) --region $(REGION) $(if $(NAMESPACE),--cloudbase --namespace $(NAMESPACE))

## make funnel FROM=2026-11-01 TO=2026-11-10: backfill the daily funnel on MONGODB_URI (same code as the timer).
funnel: $(STAMP)
	@test -n "$(FROM)" -a -n "$(TO)" || (echo "usage: make funnel FROM=YYYY-MM-DD TO=YYYY-MM-DD (MONGODB_URI=…)" && exit 2)
	$(PY) -m shared.ops.cli funnel --from $(FROM) --to $(TO)

## make rewards: rewards per inviter and the programme's liability, from MONGODB_URI.
rewards: $(STAMP)
	$(PY) -m shared.ops.cli rewards

## make report DATE=2026-11-10 [HTML=report.html | JSON=1]: a day's report rows from MONGODB_URI.
report: $(STAMP)
	@test -n "$(DATE)" || (echo "usage: make report DATE=YYYY-MM-DD [HTML=file.html | JSON=1] (MONGODB_URI=…)" && exit 2)
	$(PY) -m shared.ops.cli report --date $(DATE) $(if $(HTML),--html $(HTML)) $(if $(JSON),--json)

clean:
	rm -rf $(VENV) .pytest_cache build .serverless node_modules
