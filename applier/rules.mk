# applier/: lpatch, the ptrace-based command.
# The command line (main.c: the command table; cli.c: its helpers; cmd_*.c:
# the commands; registry.c: the registry the install, remove, auto and status
# commands share) is lpatch's own; the rest is also linked into the unit tests.
LPATCH_CLI_SRCS := applier/main.c applier/cli.c applier/registry.c $(wildcard applier/cmd_*.c)
APPLIER_SRCS := $(filter-out $(LPATCH_CLI_SRCS),$(wildcard applier/*.c))
# The plugin's record reader (liblpmeta): stacked patches name
# function-scope statics by their stable names.
PUBLIC_applier :=
USES_applier := runtime gcc-plugin cli sign
LPATCH_BIN := $(BUILD)/bin/lpatch
LPATCH_SAN := $(BUILD)/san/bin/lpatch

$(LPATCH_BIN): $(call objs,$(LPATCH_CLI_SRCS) $(APPLIER_SRCS)) $(LIBLPMETA_A) $(LIBLPCLI_A) $(LIBLPSIGN_A) $(LIBLP_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBS_ELF) $(LIBS_UNWIND) $(LIBS_CLI) $(LIBS_SIGN)

$(LPATCH_SAN): $(call sanobjs,$(LPATCH_CLI_SRCS) $(APPLIER_SRCS)) $(LIBLPMETA_SAN) $(LIBLPCLI_SAN) $(LIBLPSIGN_SAN) $(LIBLP_SAN)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_ELF) $(LIBS_UNWIND) $(LIBS_CLI) $(LIBS_SIGN)

ALL_TARGETS += $(LPATCH_BIN)
SAN_TARGETS += $(LPATCH_SAN)

define INSTALL_APPLIER
	install -D -m 0755 $(LPATCH_BIN) $(DESTDIR)$(PREFIX)/bin/lpatch

endef
INSTALL_STEPS += $(INSTALL_APPLIER)
