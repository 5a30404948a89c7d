# convene — see README.md. Everything builds with CGO_ENABLED=0.
export CGO_ENABLED := 0
GO ?= go
BIN := bin/convene

.PHONY: run build install test bench testnet-lan fuzz vet vet-cross clean

run: build
	$(BIN) run $(ARGS)

build:
	$(GO) build -o $(BIN) ./cmd/convene

# install puts convene in $(PREFIX)/bin: by default Go's own bin directory
# (`go env GOPATH`/bin, often already on PATH); PREFIX=~/.local or
# PREFIX=/usr/local for another.
PREFIX ?= $(shell $(GO) env GOPATH)
install:
	$(GO) build -o $(DESTDIR)$(PREFIX)/bin/convene ./cmd/convene
	@echo "installed $(DESTDIR)$(PREFIX)/bin/convene"

test:
	$(GO) vet ./...
	$(GO) test -timeout 18m ./...

bench: build
	$(GO) run ./testnet/cmd/bench -o BENCHMARKS.md

testnet-lan: build
	CONVENE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -v -timeout 15m -run LAN ./testnet/lan/

# Every fuzz target in the tree, FUZZTIME each; the list comes from the
# sources, so a new target is fuzzed without editing this file.
FUZZTIME ?= 10s
fuzz:
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "fuzz $$(dirname $$file) $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$(dirname $$file); \
	  done; \
	done

# Laptops at a venue run macOS and Windows too.
vet-cross:
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...

clean:
	rm -rf bin
