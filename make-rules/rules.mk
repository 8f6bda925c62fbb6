# make-rules/: livepatch.mk and its driver are installed as data; nothing to build.
define INSTALL_MAKE_RULES
	install -D -m 0644 make-rules/livepatch.mk $(DESTDIR)$(PREFIX)/share/livepatch/livepatch.mk
	install -D -m 0755 make-rules/livepatch.sh $(DESTDIR)$(PREFIX)/share/livepatch/livepatch.sh
	install -D -m 0755 make-rules/patch-deb.sh $(DESTDIR)$(PREFIX)/share/livepatch/patch-deb.sh
	install -D -m 0755 make-rules/keep-objects/collect2 \
	    $(DESTDIR)$(PREFIX)/share/livepatch/keep-objects/collect2

endef
INSTALL_STEPS += $(INSTALL_MAKE_RULES)
