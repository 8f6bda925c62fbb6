# tests/: C unit tests (tests/unit/test_*.c, sanitizer build, TAP output via
# tests/lib/tap.h) and bats suites (tests/<suite>/*.bats).  tests/run.sh runs
# them all and ends with "N passed, N failed".
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/san/tests/%,$(UNIT_SRCS))
UNIT_LINK := $(call sanobjs,$(DIFFER_SRCS) $(APPLIER_SRCS)) $(LIBLP_SAN)

$(BUILD)/san/tests/%: tests/unit/%.c $(UNIT_LINK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/lib $(CFLAGS_ALL) $(SANFLAGS) -o $@ $< $(UNIT_LINK) \
	    $(LIBS_ELF) $(LIBS_UNWIND)

SAN_TARGETS += $(UNIT_BINS)

.PHONY: test-run
test-run:
	@bash tests/run.sh $(TEST_FLAGS) $(TESTS)
