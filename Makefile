# convene — see README.md. Everything builds with CGO_ENABLED=0.
export CGO_ENABLED := 0
GO ?= go
BIN := bin/convene

.PHONY: run build test bench testnet-lan fuzz vet clean

run: build
	$(BIN) run $(ARGS)

build:
	$(GO) build -o $(BIN) ./cmd/convene

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
	$(GO) test -run XXX -fuzz FuzzParseTicket -fuzztime 30s ./crdt/

clean:
	rm -rf bin
