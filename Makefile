# convene — see README.md. Everything builds with CGO_ENABLED=0.
export CGO_ENABLED := 0
GO ?= go
BIN := bin/convene

.PHONY: run build install test bench testnet-lan fuzz vet clean

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
	CONVENE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -v -run LAN ./testnet/lan/

fuzz:
	$(GO) test -run XXX -fuzz FuzzAccept -fuzztime 30s ./crdt/
	$(GO) test -run XXX -fuzz FuzzDecodeEnvelope -fuzztime 30s ./crdt/

clean:
	rm -rf bin
