# Portcullis. On a fresh machine with only Go: `make demo`, then `make test`.
SHELL := bash
BIN := $(CURDIR)/bin
K8S_VERSION := v1.37.2
# -s -w: no symbol table or DWARF in the tools and test binaries; nobody debugs them, and
# linking the big ones takes half the time without.
K8S_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37
TOOLS_CLI := test/tools/cli
TOOLS_K8S := test/tools/k8s
GOTEST_FLAGS ?= -timeout 25m -ldflags=-w
GO_SOURCES := $(shell find . -name '*.go' -not -path './test/tools/*' -not -path './bin/*')

# grpcnotrace: without it grpc links golang.org/x/net/trace, whose debug pages execute
# html/template, and a reachable template execution keeps every exported method of every
# linked type in the executable (18 MB of Portcullis's 76). Only what is linked changes.
export GOFLAGS += -tags=grpcnotrace
# The release build (the image's too): static, no local paths, no symbol table or DWARF, the version git describes.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
RELEASE_FLAGS := -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

export KUBEBUILDER_ASSETS := $(BIN)/k8s
export PORTCULLIS_BIN := $(BIN)

.PHONY: all build image test generate tools k8s demo bench soak vet fuzz clean

all: build

build: $(BIN)/portcullis

$(BIN)/portcullis: $(GO_SOURCES) go.mod go.sum
	$(call timed,portcullis,CGO_ENABLED=0 go build $(RELEASE_FLAGS) -o $@ ./cmd/portcullis)

# timed runs a build (2), saying what it builds (1) and then how long it took: a first run's
# builds take minutes, and go build says nothing meanwhile.
timed = @echo "building $(1) ..."; start=$$(date +%s); \
	if $(2); then echo "built $(1) in $$(( $$(date +%s) - start )) s"; \
	else echo "building $(1) failed after $$(( $$(date +%s) - start )) s"; exit 1; fi

## image: Portcullis's OCI image, one index of PLATFORMS, built by go-containerregistry with no
## Docker (hack/image); written as an OCI layout in IMAGE_DIR, or pushed to IMAGE when it is set
## (credentials: the Docker config). Prints the index by digest. Created at SOURCE_DATE_EPOCH
## (the commit's time), so one commit builds one digest.
PLATFORMS ?= linux/amd64,linux/arm64
IMAGE ?=
IMAGE_DIR ?= $(BIN)/image
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image:
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) go run ./hack/image -platforms $(PLATFORMS) -version $(VERSION) \
		-revision "$(REVISION)" $(if $(IMAGE),-push $(IMAGE),-layout $(IMAGE_DIR))

## generate: deepcopy and CRD YAML from api/, with controller-gen: Portcullis's CRDs into the
## chart's crds/, the PolicyReport CRDs into report-crds/ (installed by a value)
generate: tools
	$(BIN)/controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(BIN)/controller-gen crd:crdVersions=v1 paths=./api/v1alpha1/... output:crd:dir=charts/portcullis/crds
	$(BIN)/controller-gen crd:crdVersions=v1 paths=./api/reports/... output:crd:dir=charts/portcullis/report-crds

## tools: the CLIs tests run, built from the Go module proxy into bin/ (one go build, so
## shared packages compile once and links overlap); actionlint checks .github/workflows
TOOL_BINS := $(BIN)/controller-gen $(BIN)/cosign $(BIN)/registry $(BIN)/helm $(BIN)/actionlint
tools: $(TOOL_BINS)

$(TOOL_BINS) &: $(TOOLS_CLI)/go.mod $(TOOLS_CLI)/go.sum
	cd $(TOOLS_CLI) && go build -ldflags "-s -w" -o $(BIN)/ sigs.k8s.io/controller-tools/cmd/controller-gen \
		github.com/sigstore/cosign/v3/cmd/cosign github.com/distribution/distribution/v3/cmd/registry \
		helm.sh/helm/v3/cmd/helm github.com/rhysd/actionlint/cmd/actionlint

## k8s: the real kube-apiserver and etcd that envtest runs
K8S_BINS := $(BIN)/k8s/kube-apiserver $(BIN)/k8s/etcd
K8S_PKGS := k8s.io/kubernetes/cmd/kube-apiserver go.etcd.io/etcd/server/v3
k8s: $(K8S_BINS)

# k8s_build builds packages (1) of the k8s tools module into bin/k8s in one go build.
k8s_build = cd $(TOOLS_K8S) && go build -ldflags "$(K8S_LDFLAGS)" -o $(BIN)/k8s/ $(1) && \
	mv $(BIN)/k8s/server $(BIN)/k8s/etcd

$(K8S_BINS) &: $(TOOLS_K8S)/go.mod $(TOOLS_K8S)/go.sum
	$(call k8s_build,$(K8S_PKGS))

# The demo's control plane: kubectl too, in the same go build, since it shares most of its
# packages with kube-apiserver (make test runs no kubectl, so k8s leaves it out).
DEMO_K8S := kube-apiserver, etcd and kubectl
$(BIN)/k8s/kubectl: $(TOOLS_K8S)/go.mod $(TOOLS_K8S)/go.sum
	$(call timed,$(DEMO_K8S),$(call k8s_build,$(K8S_PKGS) k8s.io/kubernetes/cmd/kubectl))

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...

## test: every test, against real registries, real signatures and a real kube-apiserver
test:
	$(MAKE) -j2 tools k8s
	$(MAKE) vet
	go test $(GOTEST_FLAGS) ./...
	go test -race $(GOTEST_FLAGS) ./internal/cache/ ./policy/

## demo: a local control plane, a registry, the webhook, signed images and kubectl. It builds
## only what it runs, two builds at a time, the slowest first: the control plane (kube-apiserver,
## etcd and kubectl), then portcullis, then the demo program.
demo:
	@$(MAKE) --no-print-directory -j2 $(BIN)/k8s/kubectl $(BIN)/portcullis $(BIN)/demo
	$(BIN)/demo

$(BIN)/demo: $(GO_SOURCES) go.mod go.sum
	$(call timed,the demo program,go build -o $@ ./test/demo)

## bench: the Go benchmarks, then the HTTPS load generator
bench:
	go test -run '^$$' -bench . -benchmem -count 6 ./policy/ ./verify/ ./webhook/
	go run ./test/load

## soak: the load generator held for 60 s with allowed, denied, warned and uncovered images
soak:
	go run ./test/load -soak 60s -concurrency 32

## fuzz: every fuzz target for FUZZTIME each (default 5m), one after another; a crasher is
## written to the package's testdata/fuzz and fails the run (it is then a regression test)
FUZZTIME ?= 5m
FUZZ_TARGETS := policy:FuzzParseImage policy:FuzzCompileGlob policy:FuzzCompile \
	preflight:FuzzParseFile preflight:FuzzPin workload:FuzzImages webhook:FuzzAdmissionReview \
	verify:FuzzBundle verify:FuzzLegacySignature
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZTIME))"; \
		go test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*}/ || exit 1; \
	done

clean:
	rm -rf $(BIN)
