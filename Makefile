# Chatter for Go — the project's checks. `make check` is what CI runs.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 20s
# Fuzz targets as package:target.
FUZZ_TARGETS := \
	./codec:FuzzNetIDTable \
	./codec:FuzzList \
	./codec:FuzzBody \
	./codec:FuzzOpen \
	./codec:FuzzPlaintext \
	./codec:FuzzReader

.PHONY: check test race fuzz fuzz-seeds bench lint generate verify e2e

## check: everything CI runs: verify, lint, race tests (seed corpora included), short fuzzing.
check: verify lint race fuzz

## test: unit tests, fuzz seed corpora and examples.
test:
	$(GO) test -count=1 ./...

## race: the same under the race detector.
race:
	$(GO) test -race -count=1 -timeout 10m ./...

## fuzz: FUZZTIME of coverage-guided fuzzing per target.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## bench: the benchmarks of docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./codec ./crypto

## lint: go vet and staticcheck (fetched through the module proxy).
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## generate: regenerate mocks and other generated files.
generate:
	$(GO) generate ./...

## verify: formatting, tidy modules and fresh generated files.
verify:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	@before=$$(git ls-files -co --exclude-standard '*.go' | sort | xargs sha256sum); \
	$(GO) generate ./... && \
	after=$$(git ls-files -co --exclude-standard '*.go' | sort | xargs sha256sum); \
	if [ "$$before" != "$$after" ]; then echo "generated files were stale: review and commit what make generate changed"; exit 1; fi

## e2e: end-to-end tests in network namespaces (root; fails instead of skipping).
e2e:
	CHATTER_E2E=1 $(GO) test -race -count=1 -run E2E ./...
