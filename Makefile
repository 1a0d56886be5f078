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

# Packages first (the sandbox's installer, a no-op when nothing is missing),
# then static checks, unit tests (e2e tests skip without a sandbox), and the
# e2e tests against a fresh sandbox that is torn down whatever happens. Unit
# and e2e tests both run even if the other fails; the exit code is non-zero
# if either did.
test: deps vet
	@rc=0; \
	$(MAKE) --no-print-directory unit || rc=$$?; \
	$(MAKE) --no-print-directory e2e || rc=$$?; \
	exit $$rc

deps:
	$(SANDBOX) install

vet:
	$(GO) vet ./...

# Everything but test/e2e, which runs against the sandbox below (it would
# also run here, a second time, whenever a sandbox happens to be up).
unit:
	$(GO) test -race $$($(GO) list ./... | grep -v /test/e2e)

# On failure the sandbox's state and logs are printed before it goes.
e2e:
	@trap '$(SANDBOX) down' EXIT; \
	$(SANDBOX) up && OVN_DOCKER_E2E=1 $(GO) test -race -count=1 -v -timeout 10m ./test/e2e/... && $(GO) run ./test/killcampaign -n 60 || { \
		rc=$$?; $(SANDBOX) status; $(SANDBOX) logs 30; exit $$rc; }

# The main job: bring the local cloud up and run the documented workflow in
# its VMs (sandbox/demo says each step). The cloud stays up afterwards.
demo:
	sandbox/demo

clean:
	rm -rf bin
