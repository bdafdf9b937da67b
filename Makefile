# Waxwing. The two commands a fresh Debian machine needs:
#   make demo   runs the product against a throwaway Prosody
#   make test   runs every test: unit, fuzz seeds, integration, browser
GO      ?= go
BIN     := bin/waxwing
GOTEST  ?= $(GO) test
# Test timeout: the whole suite must stay well inside CI's 90 minutes.
TESTFLAGS ?= -count=1 -timeout 30m

.PHONY: all build generate check-generated test test-go test-wasm lint deps bench demo fuzz clean

all: build

include static/wasm.mk

# The server binary, with the wasm app and assets embedded.
build: wasm $(BIN)

$(BIN): wasm FORCE
	$(GO) build -trimpath -o $@ ./cmd/waxwing

FORCE:

# templ components; the generated code is committed.
generate:
	$(GO) tool templ generate -path wasm/ui

# Fails when committed generated code is stale.
check-generated: generate
	@git diff --exit-code -- 'wasm/ui/*_templ.go' || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- 'wasm/ui/*_templ.go')" || { echo "generated code is not committed: git add wasm/ui/*_templ.go"; exit 1; }

deps:
	@./.ci/deps test

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...

# Everything: lint, generated code, native tests (unit, fuzz seed corpora,
# integration against real Prosody and ejabberd, browser tests in Chromium),
# and the portable packages under the wasm runtime.
test: deps build lint check-generated test-go test-wasm

test-go: wasm
	$(GOTEST) -race $(TESTFLAGS) ./...

# Portable packages also run as GOOS=js GOARCH=wasm under Node.
test-wasm:
	GOOS=js GOARCH=wasm $(GOTEST) -count=1 -exec="$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec" ./wasm/frame/ ./wasm/probe/ ./wasm/ui/ ./wasm/client/ \
		./wasm/stanza/ ./wasm/rules/ ./store/ ./wasm/history/ ./wasm/app/

# Longer fuzzing of every parser of outside input (make fuzz FUZZTIME=10m).
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./wasm/frame/ -run '^$$' -fuzz '^FuzzFragments$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/frame/ -run '^$$' -fuzz '^FuzzStream$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/stanza/ -run '^$$' -fuzz '^FuzzParseMessage$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/stanza/ -run '^$$' -fuzz '^FuzzParseMAMFin$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/stanza/ -run '^$$' -fuzz '^FuzzParseRoster$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/stanza/ -run '^$$' -fuzz '^FuzzParsePresence$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/stanza/ -run '^$$' -fuzz '^FuzzParseError$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/stanza/ -run '^$$' -fuzz '^FuzzFastTree$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/stanza/ -run '^$$' -fuzz '^FuzzStartTag$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wasm/rules/ -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bridge/ -run '^$$' -fuzz '^FuzzToBrowser$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bridge/ -run '^$$' -fuzz '^FuzzToBrowserBatched$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bridge/ -run '^$$' -fuzz '^FuzzFromBrowser$$' -fuzztime $(FUZZTIME)

# Benchmarks against real Prosody; figures go into BENCHMARKS.md.
bench: deps build
	$(GOTEST) -run '^$$' -bench . -benchtime 2000x -count 1 -timeout 30m ./bridge/
	$(GOTEST) -run '^$$' -bench BrowserIndexedDB -count 1 -timeout 10m ./store/
	$(GOTEST) -run '^$$' -bench BenchmarkConnect -benchtime 200x -count 1 -timeout 10m ./wasm/client/
	$(GOTEST) -run '^$$' -bench BenchmarkCatchUp -benchtime 2x -count 1 -timeout 50m ./wasm/history/
	$(GOTEST) -run '^$$' -bench BenchmarkWebApp -benchtime 3x -count 1 -timeout 30m ./internal/e2e/

# A throwaway Prosody with two demo accounts and `waxwing serve` in front.
demo: build
	@./.ci/deps demo
	$(GO) build -o bin/waxwing-demo ./cmd/waxwing-demo
	bin/waxwing-demo -waxwing $(BIN)

clean:
	rm -rf bin static/dist/app.wasm static/dist/app.wasm.gz static/dist/app.wasm.br static/dist/wasm_exec.js
