# feedsvc: `make run` starts the service with demo data, `make test` runs the whole suite.
# POSIX make (tested with GNU make 4.3). Everything lives in .venv; nothing is installed globally
# except Debian's chromium and chromium-driver for the browser tests (`make browser-deps`) and nginx for the
# production front's tests (`make deploy-deps`).

PYTHON = python3
VENV = .venv
# The CPU build of torch: pinned exactly, because any other version resolves to a multi-GB CUDA build.
TORCH = torch==2.13.0
PYTEST_ARGS =
CHROMIUM = /usr/bin/chromium
CHROMEDRIVER = /usr/bin/chromedriver
NGINX = /usr/sbin/nginx

.PHONY: install run test browser-deps deploy-deps

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

browser-deps:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then \
		echo "chromium and chromedriver are installed"; \
	else \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi

# Debian's nginx, only the binary: tests/test_deploy.py runs it with its own configuration (no system daemon).
deploy-deps:
	@if [ -x $(NGINX) ]; then \
		echo "nginx is installed"; \
	else \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx; \
	fi

test: install browser-deps deploy-deps
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)
