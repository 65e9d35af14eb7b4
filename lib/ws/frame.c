/* SPDX-License-Identifier: MIT */
/* placeholder being replaced in this session */
#include "rtweb/ws.h"
