/*
 * image.h - placing a patch's image in the target (and the state area with
 * it), and removing it again.
 */
#ifndef LPATCH_IMAGE_H
#define LPATCH_IMAGE_H

#include <stdint.h>
#include <sys/types.h>

#include "apply.h"
#include "liblivepatch.h"
#include "target.h"

/* Relocate the image near t's module, then with one thread held create
 * the state area if t has none, map the image there, write it and make its
 * text RX.  LPA_OK with its address in *image_addr, else an exit code. */
int lpa_image_map(struct lpa_target *t, const struct lp_layout *lay, uint64_t insn,
                  const struct lpa_opts *o, uint64_t *image_addr, char *err);
/* Unmap [addr, addr+size) in the target (one thread held briefly). */
void lpa_image_unmap(pid_t pid, uint64_t insn, uint64_t addr, uint64_t size,
                     const struct lpa_opts *o);

#endif
