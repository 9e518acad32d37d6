/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checks that need the whole model: conflicts between services, ranges from the configuration. */
#ifndef SVCNAT_VALIDATE_H
#define SVCNAT_VALIDATE_H

#include "config.h"
#include "diag.h"
#include "model.h"

/*
 * Runs after allocation.  Reports every problem; marks offending services
 * invalid; returns -EINVAL when any error was found.
 */
int validate_model(struct model *m, const struct config *c, struct diag *d);

#endif
