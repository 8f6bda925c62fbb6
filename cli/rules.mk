# cli/: liblpcli, what lpdiff and lpatch share in their output for scripts
# (JSON strings through jansson).
CLI_SRCS := $(wildcard cli/*.c)
PUBLIC_cli := cli/lpcli.h
USES_cli :=
LIBLPCLI_A   := $(BUILD)/lib/liblpcli.a
LIBLPCLI_SAN := $(BUILD)/san/lib/liblpcli.a
LIBS_CLI := -ljansson

$(LIBLPCLI_A): $(call objs,$(CLI_SRCS))
	$(archive)

$(LIBLPCLI_SAN): $(call sanobjs,$(CLI_SRCS))
	$(archive)

ALL_TARGETS += $(LIBLPCLI_A)
SAN_TARGETS += $(LIBLPCLI_SAN)
