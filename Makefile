# Task runner: every target goes through ./dev, which installs what it needs.
.PHONY: run test lint setup schemas asyncapi screenshots

run:      ## start the whole system on its embedded default
	./dev run
test:     ## run the whole test suite
	./dev test
lint:     ## ruff + mypy (strict)
	./dev lint
setup:    ## install everything
	./dev setup
schemas:  ## export the JSON Schemas of the events to docs/events/schemas
	./dev setup && .venv/bin/realtoros-contracts schemas docs/events/schemas
asyncapi: ## write every service's AsyncAPI document to docs/events/asyncapi
	./dev setup && .venv/bin/python -m tests.support.asyncapi_docs docs/events/asyncapi
screenshots: ## PNGs of the web app's main pages (demo data) to docs/screenshots
	./dev setup && .venv/bin/python -m tests.web.screenshots
