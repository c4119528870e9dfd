# ftpgate — build, test and try the transparent FTP gateway.
# `make test` and `make demo` need root for the namespace tests; `make deps` installs the
# Debian packages they use (vsftpd, lftp, curl, nftables, iproute2, openssl).

GO        ?= go
BIN       := bin/ftpgate
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PKGS      := ./...
TESTFLAGS ?= -count=1 -timeout 25m
FUZZTIME  ?= 10s
DEB_PKGS  := vsftpd lftp curl nftables iproute2 openssl python3 ca-certificates

.PHONY: all build test unit demo bench fuzz-short lint deps clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ftpgate

# deps installs the packages the namespace tests and the demo use, only when one is missing.
deps:
	@missing=""; \
	for c in vsftpd:/usr/sbin/vsftpd lftp:/usr/bin/lftp curl:/usr/bin/curl nftables:/usr/sbin/nft \
	         iproute2:/usr/sbin/ip openssl:/usr/bin/openssl; do \
		p=$${c%%:*}; f=$${c#*:}; [ -x "$$f" ] || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: missing$$missing; run as root to install"; exit 0; fi; \
		echo "make deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# test runs every test: unit tests always, kernel and end-to-end tests when run as root.
test: deps
	$(GO) vet $(PKGS)
	$(GO) test $(TESTFLAGS) $(PKGS)

# unit runs the tests that need no root quickly (namespace tests skip when not root).
unit:
	$(GO) test -short -count=1 $(PKGS)

demo: deps build
	$(GO) run ./internal/demo -bin $(BIN)

bench: deps build
	$(GO) test -run XXX -bench . -benchtime 5x ./datachan/ ./ftp/
	$(GO) run ./internal/demo -bin $(BIN) -bench

fuzz-short:
	@for t in $$($(GO) test -list 'Fuzz.*' ./ftp/ | grep ^Fuzz); do \
		echo "fuzz $$t ($(FUZZTIME))"; \
		$(GO) test -run XXX -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./ftp/ || exit 1; \
	done

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
