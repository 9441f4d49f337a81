# Portcullis. On a fresh machine with only Go: `make demo`, then `make test`.
SHELL := bash
BIN := $(CURDIR)/bin
K8S_VERSION := v1.37.2
K8S_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37
TOOLS_CLI := test/tools/cli
TOOLS_K8S := test/tools/k8s
GOTEST_FLAGS ?= -timeout 25m

export KUBEBUILDER_ASSETS := $(BIN)/k8s
export PORTCULLIS_BIN := $(BIN)

.PHONY: all build test generate tools k8s demo bench vet clean

all: build

build: $(BIN)/portcullis

$(BIN)/portcullis: $(shell find . -name '*.go' -not -path './test/tools/*' -not -path './bin/*') go.mod go.sum
	go build -o $@ ./cmd/portcullis

## generate: deepcopy and CRD YAML from api/v1alpha1, with controller-gen
generate: $(BIN)/controller-gen
	$(BIN)/controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/... \
		crd:crdVersions=v1 output:crd:dir=charts/portcullis/crds

## tools: the CLIs tests run, built from the Go module proxy into bin/
tools: $(BIN)/controller-gen $(BIN)/cosign $(BIN)/registry

$(BIN)/controller-gen: $(TOOLS_CLI)/go.mod
	cd $(TOOLS_CLI) && go build -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen
$(BIN)/cosign: $(TOOLS_CLI)/go.mod
	cd $(TOOLS_CLI) && go build -o $@ github.com/sigstore/cosign/v3/cmd/cosign
$(BIN)/registry: $(TOOLS_CLI)/go.mod
	cd $(TOOLS_CLI) && go build -o $@ github.com/distribution/distribution/v3/cmd/registry
$(BIN)/helm: $(TOOLS_CLI)/go.mod
	cd $(TOOLS_CLI) && go build -o $@ helm.sh/helm/v3/cmd/helm

## k8s: the real kube-apiserver, etcd and kubectl that envtest and the demo run
k8s: $(BIN)/k8s/kube-apiserver $(BIN)/k8s/etcd

$(BIN)/k8s/kube-apiserver: $(TOOLS_K8S)/go.mod
	cd $(TOOLS_K8S) && go build -ldflags "$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-apiserver
$(BIN)/k8s/etcd: $(TOOLS_K8S)/go.mod
	cd $(TOOLS_K8S) && go build -o $@ go.etcd.io/etcd/server/v3
$(BIN)/k8s/kubectl: $(TOOLS_K8S)/go.mod
	cd $(TOOLS_K8S) && go build -ldflags "$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kubectl

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...

## test: every test, against real registries, real signatures and a real kube-apiserver
test: tools k8s vet
	go test $(GOTEST_FLAGS) ./...

## demo: sign, verify and deny, on real registries
demo: $(BIN)/portcullis $(BIN)/cosign k8s $(BIN)/k8s/kubectl
	go run ./test/demo

## bench: the Go benchmarks
bench:
	go test -run '^$$' -bench . -benchmem -count 6 ./policy/ ./verify/

clean:
	rm -rf $(BIN)
