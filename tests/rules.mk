# tests/: C unit tests (tests/unit/test_*.c, sanitizer build, TAP output via
# tests/lib/tap.h) and bats suites (tests/<suite>/*.bats).  tests/run.sh runs
# them all and ends with "N passed, N failed".
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/san/tests/%,$(UNIT_SRCS))
# Unit tests are white-box: they see every component's internal headers.
UNIT_LINK := $(call sanobjs,$(DIFFER_SRCS) $(APPLIER_SRCS)) $(LIBLPMETA_SAN) $(LIBLPCLI_SAN) $(LIBLP_SAN)
CPPFLAGS_tests := -Itests/lib $(foreach c,$(COMPONENTS),-I$(c))

# UNIT_EXTRA_test_x: objects only test_x links (the hook runtime, which is
# no library the tools use).
UNIT_EXTRA_test_runtime_shadow := $(HOOKS_SAN_OBJS)
$(BUILD)/san/tests/test_runtime_shadow: $(HOOKS_SAN_OBJS)

$(BUILD)/san/tests/%: tests/unit/%.c $(UNIT_LINK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS_tests) $(CFLAGS_ALL) $(SANFLAGS) -o $@ $< $(UNIT_EXTRA_$*) $(UNIT_LINK) \
	    $(LIBS_ELF) $(LIBS_UNWIND) $(LIBS_CLI) -lZydis $(LIBS_DIFFER)

SAN_TARGETS += $(UNIT_BINS)

.PHONY: test-run
test-run:
	@bash tests/run.sh $(TEST_FLAGS) $(TESTS)
