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

$(BIN)/portcullis: $(shell find . -name '*.go' -not -path './test/tools/*' -not -path './bin/*') go.mod go.sum
	CGO_ENABLED=0 go build $(RELEASE_FLAGS) -o $@ ./cmd/portcullis

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

## k8s: the real kube-apiserver and etcd that envtest and the demo run (kubectl for the demo)
K8S_BINS := $(BIN)/k8s/kube-apiserver $(BIN)/k8s/etcd
k8s: $(K8S_BINS)

$(K8S_BINS) &: $(TOOLS_K8S)/go.mod $(TOOLS_K8S)/go.sum
	cd $(TOOLS_K8S) && go build -ldflags "$(K8S_LDFLAGS)" -o $(BIN)/k8s/ \
		k8s.io/kubernetes/cmd/kube-apiserver go.etcd.io/etcd/server/v3
	mv $(BIN)/k8s/server $(BIN)/k8s/etcd
$(BIN)/k8s/kubectl: $(TOOLS_K8S)/go.mod
	cd $(TOOLS_K8S) && go build -ldflags "$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kubectl

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...

## test: every test, against real registries, real signatures and a real kube-apiserver
test:
	$(MAKE) -j2 tools k8s
	$(MAKE) vet
	go test $(GOTEST_FLAGS) ./...
	go test -race $(GOTEST_FLAGS) ./internal/cache/ ./policy/

## demo: a local control plane, a registry, the webhook, cosign and kubectl
demo: $(BIN)/portcullis
	$(MAKE) -j2 tools k8s $(BIN)/k8s/kubectl
	go run ./test/demo

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
