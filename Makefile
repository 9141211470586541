# Sluice — the two commands a newcomer needs: `make run` and `make test`.
# Both install what they need with apt-get (as root, on Debian), build, and go.

export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT        ?= swift
# Packages the build, the tests, `make run` and `make bench` use. swaks needs the two Perl TLS modules
# for STARTTLS (Debian only recommends them, and recommends are not installed here).
# As root (a fresh machine), `make run` says so: Sluice refuses root without 'user NAME' otherwise.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
APT_PACKAGES := pkg-config libpcre2-dev libssl-dev libsqlite3-dev libpq-dev postgresql openssl swaks libio-socket-ssl-perl libnet-ssleay-perl postfix python3 haproxy systemd python3-prometheus-client python3-dnslib libunbound-dev python3-spf python3-yaml python3-dkim python3-nacl opendkim opendkim-tools libpsl-dev publicsuffix libmagic-dev libmagic-mgc libarchive-dev zip p7zip-full
BENCH_PACKAGES := haproxy gcc

# Release builds link the Swift runtime into the binary: no PLT hop on every retain and release
# (3-4 % less CPU per relayed message, see README "Benchmarks"), and no Swift runtime needed where it runs.
RELEASE      := -c release --static-swift-stdlib

UPSTREAM     ?=
LISTEN       ?= 127.0.0.1:2525
DEMO_PORT    ?= 2526
DEMO_DIR     ?= /tmp/sluice-demo-mail

FUZZ_SECONDS ?= 300
FUZZ_SEED    ?=
SOAK_SECONDS ?= 600

.PHONY: all deps build test lint run bench fuzz soak asan tsan clean

all: build

# Installs missing Debian packages. Postfix is installed with "No configuration", so no MTA starts:
# only its smtp-source and smtp-sink tools are used.
deps:
	@missing=""; for p in $(APT_PACKAGES) $(EXTRA_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

# Layers 1-2 are pure: no channels, event loops or NIOPosix.
lint:
	$(SWIFT) package dump-package > .build-lint-package.json
	python3 .ci/lint-imports.py .build-lint-package.json; status=$$?; rm -f .build-lint-package.json; exit $$status

test: deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

run: deps
	$(SWIFT) build
	@if [ -z "$(UPSTREAM)" ]; then \
	  mkdir -p $(DEMO_DIR) && chmod 1777 $(DEMO_DIR); \
	  sink=$$(command -v smtp-sink || echo /usr/sbin/smtp-sink); \
	  $$sink -u nobody -d $(DEMO_DIR)/%Y%m%d%H/%M. 127.0.0.1:$(DEMO_PORT) 100 & \
	  trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	  echo; echo "Demo upstream: smtp-sink on 127.0.0.1:$(DEMO_PORT), writing every message it receives under $(DEMO_DIR)/"; \
	  echo "Try:  swaks --server $(LISTEN) --from you@example.org --to someone@example.com"; \
	  echo "Then: ls -R $(DEMO_DIR) && cat $(DEMO_DIR)/*/*"; echo; \
	  .build/debug/sluice run --config Rules/sluice.conf --listen $(LISTEN) --upstream 127.0.0.1:$(DEMO_PORT) $(ROOT_FLAG); \
	else \
	  echo "Relaying to $(UPSTREAM). Try: swaks --server $(LISTEN) --from you@example.org --to someone@example.com"; \
	  .build/debug/sluice run --config Rules/sluice.conf --listen $(LISTEN) --upstream $(UPSTREAM) $(ROOT_FLAG); \
	fi

bench:
	@$(MAKE) --no-print-directory deps EXTRA_PACKAGES="$(BENCH_PACKAGES)"
	$(SWIFT) build $(RELEASE)
	bin=$$($(SWIFT) build $(RELEASE) --show-bin-path); \
	  SLUICE_BIN=$$bin/sluice GLUE_BIN=$$bin/GlueBench bash Benchmarks/run.sh && \
	  SLUICE_BIN=$$bin/sluice RULEBENCH_BIN=$$bin/RuleBench bash Benchmarks/rules.sh && \
	  SLUICE_BIN=$$bin/sluice GREYBENCH_BIN=$$bin/GreyBench bash Benchmarks/greylist.sh && \
	  SLUICE_BIN=$$bin/sluice bash Benchmarks/tls.sh && \
	  SLUICE_BIN=$$bin/sluice bash Benchmarks/operations.sh && \
	  SLUICE_BIN=$$bin/sluice bash Benchmarks/authentication.sh && \
	  SLUICE_BIN=$$bin/sluice MIMEBENCH_BIN=$$bin/MIMEBench bash Benchmarks/content.sh && \
	  $$bin/DKIMBench | tee bench-results/dkim.md

# libFuzzer targets (Fuzz/, built with -sanitize=fuzzer,address), each for FUZZ_SECONDS.
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) bash Fuzz/run.sh

# Steady load through a release build with rules and greylisting, the upstream restarted every 30 s,
# tricklers and aborted sessions; checks every acknowledged message arrived once, descriptors, spool, RSS.
soak: deps
	$(SWIFT) build $(RELEASE)
	python3 Benchmarks/soak/soak.py --sluice $$($(SWIFT) build $(RELEASE) --show-bin-path)/sluice --seconds $(SOAK_SECONDS)

# The unit and integration tests under AddressSanitizer / ThreadSanitizer, each in a build folder of
# its own; the tests that run the sluice binary run the sanitized one. Under ThreadSanitizer the tests
# run one at a time: in parallel, the slowed-down loops missed the clients' 10 s connect timeout.
asan: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	SLUICE_SANITIZER=address SLUICE_BINARY=$(CURDIR)/.build-asan/debug/sluice ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan

tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	SLUICE_SANITIZER=thread SLUICE_BINARY=$(CURDIR)/.build-tsan/debug/sluice TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/.ci/tsan.supp" \
	  $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --no-parallel

clean:
	rm -rf .build .build-asan .build-tsan Fuzz/.build
