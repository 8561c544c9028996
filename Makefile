# feedsvc: `make run` starts the service with demo data, `make test` runs the whole suite.
# POSIX make (tested with GNU make 4.3). Everything lives in .venv; nothing is installed globally
# except the Debian programs the tests drive: chromium and chromium-driver, nginx, newsboat and wrk (`make system-deps`).

PYTHON = python3
VENV = .venv
# The CPU build of torch: pinned exactly, because any other version resolves to a multi-GB CUDA build.
TORCH = torch==2.13.0
PYTEST_ARGS =
CHROMIUM = /usr/bin/chromium
CHROMEDRIVER = /usr/bin/chromedriver
NGINX = /usr/sbin/nginx
NEWSBOAT = /usr/bin/newsboat
WRK = /usr/bin/wrk

.PHONY: install run test check-floors system-deps browser-deps deploy-deps reader-deps

install: $(VENV)/.installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The stamp is remade whenever pyproject.toml changes, so a second `make` installs nothing.
$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(VENV)/bin/pip install $(TORCH)
	$(VENV)/bin/pip install -e '.[test,convert]'
	touch $@

run: install
	$(VENV)/bin/feedsvc serve --demo

# The Debian programs the tests drive: headless Chromium (pages), nginx (the production front, run with the
# project's own configuration, no system daemon), newsboat (a feed reader) and wrk (the serving benchmarks, run at smoke
# size by tests/test_bench.py). Installed when one is missing.
SYSTEM_PROGRAMS = $(CHROMIUM) $(CHROMEDRIVER) $(NGINX) $(NEWSBOAT) $(WRK)
SYSTEM_PACKAGES = chromium chromium-driver nginx newsboat wrk

system-deps:
	@missing=; for program in $(SYSTEM_PROGRAMS); do [ -x $$program ] || missing=1; done; \
	if [ -z "$$missing" ]; then \
		echo "chromium, chromedriver, nginx, newsboat and wrk are installed"; \
	else \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y $(SYSTEM_PACKAGES); \
	fi

# The names the README and the tests' skip messages use.
browser-deps deploy-deps reader-deps: system-deps

test: install system-deps
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

# Every dependency at the lowest version pyproject.toml allows, in a fresh temporary venv: demo, worker, a few
# test files (minutes; needs the package index). Not part of `make test`; run it when a floor changes.
check-floors: install
	$(VENV)/bin/python scripts/check-floors
