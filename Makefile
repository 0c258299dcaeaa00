# mailproof — build, demo, test, lint, bench.
# `make demo` and `make test` work on a fresh Debian machine with Rust installed:
# they install what they need (poppler-utils for the PDF text checks) and build everything.

CARGO ?= cargo
export MAILPROOF_CORPUS ?= $(abspath ../shared/corpus)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: build demo test lint bench bench-dns deps sample-snapshots sample-world clean-demo fuzz

build:
	$(CARGO) build --release

# Runs the monthly job on the bundled Riverside Health samples (offline: stored snapshots)
# and writes out/2026-10/{report.pdf,evidence.json,findings.csv,poam.csv,SHA256SUMS}. May to
# September are assessed first, oldest first, as the earlier cron runs would have, so October's
# report marks findings new / persisting / resolved, carries due dates forward and shows six
# months of trends; `verify --chain` then checks every period and link. Each earlier run is
# dated the 4th of the month after its period (SOURCE_DATE_EPOCH), as cron would have run it
# once the period was final (policy.report_grace_days = 3).
# The samples' inventory holds a row mailproof rejects (FaxBridge), so each run ends with exit
# 4, "evidence incomplete", and names the row: the demo accepts 0 and 4.
HISTORY_MONTHS := 2026-05 2026-06 2026-07 2026-08 2026-09
demo:
	$(CARGO) build --quiet
	@for p in $(HISTORY_MONTHS); do \
	  echo "mailproof run --period $$p"; \
	  SOURCE_DATE_EPOCH=$$(date -u -d "$$p-04 12:00 UTC +1 month" +%s) \
	    ./target/debug/mailproof run --config samples/mailproof.toml --period $$p --offline -q; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 4 ] || exit $$rc; \
	done
	./target/debug/mailproof run --config samples/mailproof.toml --period 2026-10 --offline; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 4 ] || exit $$rc
	cd out/2026-10 && sha256sum -c SHA256SUMS
	./target/debug/mailproof verify out/2026-10 --chain

# Tools the tests use: pdftotext/pdftoppm to read the rendered PDF; Postfix and nginx, the real
# servers the transport tests start on loopback (Postfix without a system configuration).
deps:
	@command -v pdftotext >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y poppler-utils; }
	@[ -x /usr/sbin/postfix ] && [ -x /usr/sbin/nginx ] || { \
	  echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
	  $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix nginx-light; }

test: deps
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# Speed and memory benchmarks (release build): report ingestion, then DNS capture.
# Report ingestion: generates >= 200 MB of synthetic report XML (MAILPROOF_BENCH_MB, default
# 220) over thousands of files in a temp folder, runs the release `mailproof reports` pinned to
# one core under /usr/bin/time -v, and prints MB/s and peak RSS; when `parsedmarc` is on the
# PATH (pip install parsedmarc) it is measured on the same files with --offline, and the ratio
# printed. Then the worst case of the hostile-input budget (issue 12: 512 MB, 30 s): a month
# with a crafted file of every class among the samples, `run` and `reports` timed and measured.
# Build release once: about 7 minutes on a 2-core machine.
bench:
	@command -v /usr/bin/time >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y time; }
	@command -v taskset >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y util-linux; }
	$(CARGO) build --release --bin mailproof
	$(CARGO) bench --bench ingest
	$(CARGO) test --release --test hostile_input -- --ignored --nocapture crafted_month_worst_case
	$(MAKE) bench-dns

# Snapshot of 1,000 domains against an in-process authoritative server on 127.0.0.1 (target <= 2 s).
bench-dns:
	$(CARGO) test --release --bench dns_capture -- --ignored --nocapture

# Captures the snapshots missing from samples/snapshots/ from samples/zones/ with the real DNS
# capture against an in-process authoritative server on 127.0.0.1, while Postfix and nginx
# serve the sample MX and MTA-STS hosts on 127.0.1.0/24 (root; samples/tls/README.md)
# (existing files are kept: MAILPROOF_REGENERATE=all re-captures every one).
sample-snapshots: deps
	MAILPROOF_REGENERATE=1 $(CARGO) test --test sample_world -- --ignored regenerate_sample_snapshots

# October's sample world on loopback for an hour (DNS under its signed root; mail and policy
# servers when run as root): the DNS address is printed. SECS=N serves for N seconds.
sample-world: deps
	MAILPROOF_SERVE_SECS=$${SECS:-3600} $(CARGO) test --test sample_world -- --ignored --nocapture serve_sample_world

clean-demo:
	rm -rf out/

# Fuzzing on the stable toolchain with AFL++ (cargo-afl builds AFL++ from source and uses
# rustc's own coverage instrumentation). Each target of `mailproof::fuzzing` runs for
# FUZZ_SECONDS, seeded from the samples and $(MAILPROOF_CORPUS); findings land in
# target/fuzz/out/<target>/default/{crashes,hangs}. `make test` runs a short smoke of every
# target without AFL (tests/fuzz_smoke.rs).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := report_bytes xml tlsrpt_json spf_record dmarc_record dkim_record mta_sts_policy transport_records tls_server_hello inventory_csv config_toml decisions_toml document_text
FUZZ_DIR := target/fuzz
fuzz:
	@command -v cargo-afl >/dev/null 2>&1 || $(CARGO) install cargo-afl
	cd fuzz && $(CARGO) afl build --release
	rm -rf $(FUZZ_DIR)/seeds && fuzz/target/release/seeds $(FUZZ_DIR)/seeds && mkdir -p $(FUZZ_DIR)/out
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $$t for $(FUZZ_SECONDS) s"; \
	  AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_AUTORESUME=1 \
	    $(CARGO) afl fuzz -V $(FUZZ_SECONDS) -t 5000 -m none -i $(FUZZ_DIR)/seeds/$$t -o $(FUZZ_DIR)/out/$$t \
	    fuzz/target/release/$$t > $(FUZZ_DIR)/$$t.log 2>&1 || true; \
	  grep -E "execs_done|saved_crashes|saved_hangs" $(FUZZ_DIR)/out/$$t/default/fuzzer_stats; \
	done
