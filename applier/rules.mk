# applier/: lpatch, the ptrace-based command.
APPLIER_SRCS := $(filter-out applier/main.c,$(wildcard applier/*.c))
# differ/meta.h's reader of the plugin's records (stacked patches name
# function-scope statics by their stable names)
APPLIER_USES := differ/meta.c
LPATCH_BIN := $(BUILD)/bin/lpatch
LPATCH_SAN := $(BUILD)/san/bin/lpatch

$(LPATCH_BIN): $(call objs,applier/main.c $(APPLIER_SRCS) $(APPLIER_USES)) $(LIBLP_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBS_ELF) $(LIBS_UNWIND)

$(LPATCH_SAN): $(call sanobjs,applier/main.c $(APPLIER_SRCS) $(APPLIER_USES)) $(LIBLP_SAN)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_ELF) $(LIBS_UNWIND)

ALL_TARGETS += $(LPATCH_BIN)
SAN_TARGETS += $(LPATCH_SAN)

define INSTALL_APPLIER
	install -D -m 0755 $(LPATCH_BIN) $(DESTDIR)$(PREFIX)/bin/lpatch

endef
INSTALL_STEPS += $(INSTALL_APPLIER)
