# The project's commands. `make test` is the one test command (CI runs it).
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
SANDBOX := sandbox/sandbox

.PHONY: all build test deps vet unit e2e e2e-nb-cluster demo clean man

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
# Random operations the kill campaign kills at random moments, per cloud.
KILL_CAMPAIGN_N ?= 60
# The test/neutrond scenarios run against real Neutron in `e2e` (below):
# every one that can run against a sandbox's cloud (the others are about
# ovn-neutrond's own processes and skip there). About 12 minutes there.
NEUTRON_SCENARIOS := TestFidelity|TestRefusedRequestsChangeNothing|TestForeignParentLooksMissing|TestGophercloudContainerPortLifecycle|TestProviderNetworks|TestProviderNetworkCLI|TestRouters|TestFloatingIPs|TestTrunkRefusals|TestTrunkLifecycle|TestUpdatesReachNB|TestSharedNetworksAndListScoping|TestSecurityGroups|TestOpenstackCLI|TestTrunkOpenstackCLI|TestPortDNSName

# Packages first (the sandbox's installer, a no-op when nothing is missing),
# then static checks, unit tests (e2e tests skip without a sandbox), and the
# e2e tests against a fresh sandbox of each cloud, each torn down whatever
# happens. Every stage runs even if an earlier one failed; the exit code is
# non-zero if any did.
test: deps vet
	@rc=0; \
	$(MAKE) --no-print-directory unit || rc=$$?; \
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s || rc=$$?; \
	for c in $(CLOUDS); do $(MAKE) --no-print-directory e2e CLOUD=$$c || rc=$$?; done; \
	$(MAKE) --no-print-directory e2e-nb-cluster || rc=$$?; \
	exit $$rc

deps:
	$(SANDBOX) install --cloud openstack

vet:
	$(GO) vet ./...

# Everything but test/e2e, which runs against the sandbox below (it would
# also run here, a second time, whenever a sandbox happens to be up).
unit:
	$(GO) test -race $$($(GO) list ./... | grep -v /test/e2e)

# e2e against a sandbox of CLOUD (neutrond or openstack), then the API
# suite of test/neutrond against that cloud's API (tests about
# ovn-neutrond's own processes skip there; `unit` runs them), then the kill
# campaign. `unit` already ran the whole API suite against an ovn-neutrond
# of its own, the same code the neutrond sandbox serves, so only another
# cloud's API is worth the suite's minutes here: against real Neutron,
# every scenario that can run against a sandbox (NEUTRON_SCENARIOS).
# A sandbox left in the test dir by a killed run goes first. On failure the
# sandbox's state and logs are printed before it goes.
e2e:
	@export SANDBOX_NAME=$(TEST_SANDBOX_NAME) SANDBOX_DIR=$(TEST_SANDBOX_DIR); \
	echo "== e2e against cloud $(CLOUD) (sandbox $$SANDBOX_NAME in $$SANDBOX_DIR)"; \
	$(SANDBOX) down; \
	trap '$(SANDBOX) down' EXIT; \
	$(SANDBOX) up --cloud $(CLOUD) && OVN_DOCKER_E2E=1 $(GO) test -race -count=1 -v -timeout 40m ./test/e2e/... && \
		{ [ "$(CLOUD)" = neutrond ] || NEUTROND_TEST_TARGET=$$SANDBOX_DIR/sandbox.json $(GO) test -count=1 -v -timeout 30m -run '^($(NEUTRON_SCENARIOS))$$' ./test/neutrond/; } && \
		$(GO) run ./test/killcampaign -n $(KILL_CAMPAIGN_N) || { \
		rc=$$?; $(SANDBOX) status; $(SANDBOX) logs 30; echo "== e2e against cloud $(CLOUD) FAILED"; exit $$rc; }

# NB as a 3-member RAFT cluster: the system goes on when its leader dies.
e2e-nb-cluster:
	@export SANDBOX_NAME=$(TEST_SANDBOX_NAME) SANDBOX_DIR=$(TEST_SANDBOX_DIR); \
	echo "== e2e with NB as a RAFT cluster (sandbox $$SANDBOX_NAME in $$SANDBOX_DIR)"; \
	$(SANDBOX) down; \
	trap '$(SANDBOX) down' EXIT; \
	$(SANDBOX) up --cloud neutrond --nb-cluster 3 && \
		OVN_DOCKER_E2E=1 OVN_DOCKER_E2E_NB_CLUSTER=1 $(GO) test -count=1 -v -timeout 10m -run 'TestNBCluster' ./test/e2e/... || { \
		rc=$$?; $(SANDBOX) status; $(SANDBOX) logs 30; echo "== e2e with NB as a RAFT cluster FAILED"; exit $$rc; }

# The main job: bring the local cloud up and run the documented workflow in
# its VMs (sandbox/demo says each step). The cloud stays up afterwards.
demo:
	sandbox/demo

clean:
	rm -rf bin docs/man

# Man pages of both programs, one per command, from their command trees
# (what --help says). SOURCE_DATE_EPOCH dates them (default: now).
man:
	$(GO) run ./cmd/ovn-docker gen-man docs/man
	$(GO) run ./cmd/ovn-neutrond gen-man docs/man
	$(GO) run ./cmd/ovn-docker-proxy gen-man docs/man

# Fuzz every request decoder of ovn-neutrond and the docker run line parser
# for FUZZTIME each (seed
# corpora in internal/*/testdata/fuzz; new findings land there too).
FUZZTIME ?= 5s
.PHONY: fuzz
fuzz:
	@set -e; for pkg in ./internal/neutron ./internal/keystone ./internal/docker; do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done
