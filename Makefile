# ftpgate — build, test and try the transparent FTP gateway.
# `make test` and `make demo` need root for the namespace tests; `make deps` installs the
# Debian packages they use (vsftpd, lftp, curl, wget, tnftp, pyftpdlib, nftables, iproute2,
# openssl, clamav, systemd's systemd-analyze; pure-ftpd and proftpd unpacked aside).
# `make deb` builds the Debian package dist/ftpgate_<version>_<arch>.deb.

GO        ?= go
BIN       := bin/ftpgate
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0~dev)
LDFLAGS   := -X main.version=$(VERSION)
PKGS      := ./...
# -p 1: the namespace test packages (e2e, testbed) run one after the other, not side by side
# on this 2-core machine, where their real servers and clients would compete for the CPU.
TESTFLAGS ?= -count=1 -timeout 25m -p 1
FUZZTIME  ?= 10s
DEB_PKGS  := vsftpd lftp curl wget tnftp nftables iproute2 openssl python3 python3-pyftpdlib ca-certificates clamav

.PHONY: all build deb test test-race unit demo bench soak fuzz-short lint deps clean vagrant-test

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ftpgate

# deb builds the Debian package $(DIST)/ftpgate_<version>_<arch>.deb (deploy/debian/nfpm.yaml
# lists its contents): a static, stripped binary (no cgo, -trimpath) carrying $(VERSION), the manual
# page and the bash completion it generates from its own flags, and deploy/'s files. The
# version is $(VERSION) made a Debian version (deploy/debian/version.sh). nfpm runs with
# `go run` at a pinned version rather than as a library in go.mod: as a library it would add
# 37 modules (go-git, SSH, OpenPGP, sprig, chglog, …) to the gateway's 15 for a build step. internal/pkgtest installs the package built by this target and tests it (as root).
DIST        ?= dist
NFPM        ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
DEB_VERSION ?= $(shell deploy/debian/version.sh)
DEB_GOARCH  := $(shell $(GO) env GOARCH)
DEB_ARCH    ?= $(patsubst 386,i386,$(patsubst arm,armhf,$(DEB_GOARCH)))
DEB_STAGE   := $(DIST)/stage
deb:
	rm -rf $(DEB_STAGE) && mkdir -p $(DEB_STAGE)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(DEB_STAGE)/ftpgate ./cmd/ftpgate
	GOOS= GOARCH= $(GO) run -ldflags "$(LDFLAGS)" ./cmd/ftpgate man | gzip -9n > $(DEB_STAGE)/ftpgate.8.gz
	GOOS= GOARCH= $(GO) run ./cmd/ftpgate completion bash > $(DEB_STAGE)/ftpgate.bash
	DEB_VERSION='$(DEB_VERSION)' DEB_ARCH='$(DEB_ARCH)' STAGE='$(DEB_STAGE)' \
		$(NFPM) package -f deploy/debian/nfpm.yaml -p deb -t '$(DIST)/ftpgate_$(DEB_VERSION)_$(DEB_ARCH).deb'

# vagrant-test runs the Debian package as a systemd service in a gateway VM between a client
# VM and a server VM (Vagrant, libvirt, QEMU; vagrant/README.md): plain FTP and FTPS with curl
# and lftp in every data mode, IPv4 and IPv6, checked by sha256 and in ftpgate's journal; it
# always destroys what it made. Not part of CI: needs root, about 15 minutes, ~2 GB of disk.
vagrant-test:
	bash vagrant/test.sh

# deps installs the packages the namespace tests and the demo use, only when one is missing.
# pure-ftpd and proftpd conflict with vsftpd in Debian, so their packages are only downloaded
# and unpacked (dpkg -x) into $(TESTBED_CACHE), where internal/testbed finds them; the
# libraries they link are installed normally. Nothing is fetched when everything is present.
TESTBED_CACHE := /var/cache/ftpgate-testbed
TESTBED_DEBS  := pure-ftpd:usr/sbin/pure-ftpd proftpd-core:usr/sbin/proftpd
TESTBED_LIBS  := libsodium23 libcap2 libcrypt1 libpam0g libpam-modules libssl3 libacl1 libidn2-0 \
                 libhiredis0.14 libmemcached11 libmemcachedutil2 libncursesw6 libtinfo6 zlib1g \
                 libpcre2-8-0 libpcre2-posix3
deps:
	@missing=""; \
	for c in vsftpd:/usr/sbin/vsftpd lftp:/usr/bin/lftp curl:/usr/bin/curl wget:/usr/bin/wget tnftp:/usr/bin/tnftp nftables:/usr/sbin/nft \
	         iproute2:/usr/sbin/ip openssl:/usr/bin/openssl clamav:/usr/bin/clamscan \
	         clamav-daemon:/usr/sbin/clamd clamdscan:/usr/bin/clamdscan c-icap:/usr/bin/c-icap \
	         libc-icap-mod-virus-scan:/usr/lib/x86_64-linux-gnu/c_icap/virus_scan.so \
	         python3-pyftpdlib:/usr/lib/python3/dist-packages/pyftpdlib/__init__.py \
	         systemd:/usr/bin/systemd-analyze keepalived:/usr/sbin/keepalived conntrackd:/usr/sbin/conntrackd; do \
		p=$${c%%:*}; f=$${c#*:}; \
		case "$$f" in *.py|*.so) [ -r "$$f" ];; *) [ -x "$$f" ];; esac || missing="$$missing $$p"; \
	done; \
	for p in $(TESTBED_LIBS); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	fetch=""; \
	for c in $(TESTBED_DEBS); do \
		p=$${c%%:*}; f=$${c#*:}; [ -x "$(TESTBED_CACHE)/$$p/$$f" ] || fetch="$$fetch $$p"; \
	done; \
	if [ -z "$$missing$$fetch" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make deps: missing$$missing$$fetch; run as root to install"; exit 0; fi; \
	apt-get update -qq || exit 1; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi; \
	for p in $$fetch; do \
		echo "make deps: unpacking $$p into $(TESTBED_CACHE)/$$p"; \
		tmp=$$(mktemp -d) && chmod 755 "$$tmp" && \
		(cd "$$tmp" && apt-get download -qq "$$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' ; \
		 deb=$$(ls "$$tmp"/*.deb 2>/dev/null | head -n 1); [ -n "$$deb" ] && dpkg -x "$$deb" "$$tmp/root") && \
		mkdir -p "$(TESTBED_CACHE)" && rm -rf "$(TESTBED_CACHE)/$$p" && \
		mv "$$tmp/root" "$(TESTBED_CACHE)/$$p" && rm -rf "$$tmp" || { rm -rf "$$tmp"; echo "make deps: cannot fetch $$p"; exit 1; }; \
	done

# test runs every test: unit tests always, kernel and end-to-end tests when run as root; then
# the end-to-end suite again with every data channel on the proxy path (-kernel-path=false).
test: deps
	$(GO) vet $(PKGS)
	$(GO) test $(TESTFLAGS) $(PKGS)
	FTPGATE_E2E_PATH=proxy $(GO) test $(TESTFLAGS) ./internal/e2e/

# test-race runs the packages' tests under the race detector, and the end-to-end tests with
# the gateway built with -race (a race fails the test that saw it).
test-race: deps
	$(GO) test -race -count=1 -p 1 -timeout 15m ./cmd/... ./datachan/... ./ftp/... ./ftptls/... ./intercept/... ./nft/... ./pktfilter/... ./policy/... ./wire/...
	FTPGATE_E2E_RACE=1 $(GO) test -count=1 -timeout 15m ./internal/e2e/

# unit runs the tests that need no root quickly (namespace tests skip when not root).
unit:
	$(GO) test -short -count=1 $(PKGS)

demo: deps build
	$(GO) run ./internal/demo -bin $(BIN)

# bench runs the relay, parser and session micro-benchmarks, then the path comparison on the namespace
# testbed (needs root): one table and bench.png. Shorter: make bench BENCHFLAGS="-size 256 -runs 1".
bench: deps build
	$(GO) test -run XXX -bench . -benchtime 5x ./datachan/ ./wire/
	$(GO) test -run XXX -bench NOOP -benchtime 20000x ./ftp/
	$(GO) test -run XXX -bench IdleSession -benchtime 1x ./ftp/
	$(GO) test -run XXX -bench . -benchtime 2000x ./nft/
	$(GO) run ./internal/demo -bin $(BIN) -bench $(BENCHFLAGS)

# soak runs mixed real-client traffic through ftpgate for SOAK (default 30m) and checks that
# sessions, expectations, goroutines, open files and memory come back flat (needs root).
SOAK ?= 30m
soak: deps
	FTPGATE_SOAK=$(SOAK) $(GO) test -tags soak -count=1 -timeout 0 -run '^TestSoak$$' -v ./internal/e2e/

fuzz-short:
	@for d in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for t in $$($(GO) test -list 'Fuzz.*' $$d/ | grep ^Fuzz); do \
			echo "fuzz $$d $$t ($(FUZZTIME))"; \
			$(GO) test -run XXX -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$d/ || exit 1; \
		done; \
	done

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

clean:
	rm -rf bin $(DIST)
