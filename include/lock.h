/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Serialises svcnat runs: an flock on the lock file. */
#ifndef SVCNAT_LOCK_H
#define SVCNAT_LOCK_H

#include <stdbool.h>

/* The held lock's fd (close it to release), -EWOULDBLOCK when busy and !wait, or -errno. */
int lock_take(const char *path, bool wait);

#endif
