# make-rules/: livepatch.mk is installed as data; nothing to build.
define INSTALL_MAKE_RULES
	install -D -m 0644 make-rules/livepatch.mk $(DESTDIR)$(PREFIX)/share/livepatch/livepatch.mk

endef
INSTALL_STEPS += $(INSTALL_MAKE_RULES)
