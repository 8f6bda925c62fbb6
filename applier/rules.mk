# applier/: lpatch, the ptrace-based command.
# The command line (main.c: the command table; cli.c: its helpers; cmd_*.c:
# the commands; registry.c: the registry the install, remove, auto and status
# commands share) is lpatch's own; the rest is also linked into the unit tests.
LPATCH_CLI_SRCS := applier/main.c applier/cli.c applier/registry.c $(wildcard applier/cmd_*.c)
# lpatchd, the daemon (lpatchd.c; procwatch.c: the process-event connector;
# hold.c: --hold) shares the command line's helpers and auto (cmd_auto.c).
LPATCHD_SRCS := applier/lpatchd.c applier/procwatch.c applier/hold.c
LPATCHD_SHARED := $(filter-out applier/main.c,$(LPATCH_CLI_SRCS))
APPLIER_SRCS := $(filter-out $(LPATCH_CLI_SRCS) $(LPATCHD_SRCS),$(wildcard applier/*.c))
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

LPATCHD_BIN := $(BUILD)/bin/lpatchd
LPATCHD_SAN := $(BUILD)/san/bin/lpatchd

$(LPATCHD_BIN): $(call objs,$(LPATCHD_SRCS) $(LPATCHD_SHARED) $(APPLIER_SRCS)) $(LIBLPMETA_A) $(LIBLPCLI_A) $(LIBLPSIGN_A) $(LIBLP_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBS_ELF) $(LIBS_UNWIND) $(LIBS_CLI) $(LIBS_SIGN)

$(LPATCHD_SAN): $(call sanobjs,$(LPATCHD_SRCS) $(LPATCHD_SHARED) $(APPLIER_SRCS)) $(LIBLPMETA_SAN) $(LIBLPCLI_SAN) $(LIBLPSIGN_SAN) $(LIBLP_SAN)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_ELF) $(LIBS_UNWIND) $(LIBS_CLI) $(LIBS_SIGN)

ALL_TARGETS += $(LPATCH_BIN) $(LPATCHD_BIN)
SAN_TARGETS += $(LPATCH_SAN) $(LPATCHD_SAN)

# The unit (packaging/lpatchd.service) names $(PREFIX)/bin/lpatchd; it goes
# where systemd looks for a package's units (the top makefile may set it).
SYSTEMD_UNIT_DIR ?= /lib/systemd/system
define INSTALL_APPLIER
	install -D -m 0755 $(LPATCH_BIN) $(DESTDIR)$(PREFIX)/bin/lpatch
	install -D -m 0755 $(LPATCHD_BIN) $(DESTDIR)$(PREFIX)/bin/lpatchd
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|@PREFIX@|$(PREFIX)|g' packaging/lpatchd.service >$(DESTDIR)$(SYSTEMD_UNIT_DIR)/lpatchd.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/lpatchd.service

endef
INSTALL_STEPS += $(INSTALL_APPLIER)
