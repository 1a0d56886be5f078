# The project's commands. `make test` is the one test command (CI runs it).
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
SANDBOX := sandbox/sandbox

.PHONY: all build test deps vet unit e2e demo clean

all: build

build:
	@mkdir -p bin
	@if compgen -G 'cmd/*/' >/dev/null; then $(GO) build -o bin/ ./cmd/...; else echo "no ./cmd yet"; fi

# The test sandbox: its own instance, named after this checkout, so that
# `make test` in one clone never meets `make demo` (the default instance) or
# `make test` in another. SANDBOX_NAME / SANDBOX_DIR / SANDBOX_INDEX (and the
# port overrides) win when set.
TEST_SANDBOX_NAME := $(or $(SANDBOX_NAME),t$(shell printf %s '$(CURDIR)' | sha1sum | cut -c1-7))
TEST_SANDBOX_DIR := $(or $(SANDBOX_DIR),$(CURDIR)/.sandbox-test)
# The clouds the e2e suite runs against, one after the other (2 cores).
CLOUDS := neutrond openstack
CLOUD ?= neutrond

# Packages first (the sandbox's installer, a no-op when nothing is missing),
# then static checks, unit tests (e2e tests skip without a sandbox), and the
# e2e tests against a fresh sandbox of each cloud, each torn down whatever
# happens. Every stage runs even if an earlier one failed; the exit code is
# non-zero if any did.
test: deps vet
	@rc=0; \
	$(MAKE) --no-print-directory unit || rc=$$?; \
	for c in $(CLOUDS); do $(MAKE) --no-print-directory e2e CLOUD=$$c || rc=$$?; done; \
	exit $$rc

deps:
	$(SANDBOX) install --cloud openstack

vet:
	$(GO) vet ./...

# Everything but test/e2e, which runs against the sandbox below (it would
# also run here, a second time, whenever a sandbox happens to be up).
unit:
	$(GO) test -race $$($(GO) list ./... | grep -v /test/e2e)

# e2e against a sandbox of CLOUD (neutrond or openstack). A sandbox left in
# the test dir by a killed run goes first. On failure the sandbox's state
# and logs are printed before it goes.
e2e:
	@export SANDBOX_NAME=$(TEST_SANDBOX_NAME) SANDBOX_DIR=$(TEST_SANDBOX_DIR); \
	echo "== e2e against cloud $(CLOUD) (sandbox $$SANDBOX_NAME in $$SANDBOX_DIR)"; \
	$(SANDBOX) down; \
	trap '$(SANDBOX) down' EXIT; \
	$(SANDBOX) up --cloud $(CLOUD) && OVN_DOCKER_E2E=1 $(GO) test -race -count=1 -v -timeout 15m ./test/e2e/... || { \
		rc=$$?; $(SANDBOX) status; $(SANDBOX) logs 30; echo "== e2e against cloud $(CLOUD) FAILED"; exit $$rc; }

# The main job: bring the local cloud up and run the documented workflow in
# its VMs (sandbox/demo says each step). The cloud stays up afterwards.
demo:
	sandbox/demo

clean:
	rm -rf bin
