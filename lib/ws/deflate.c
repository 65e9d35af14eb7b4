/* SPDX-License-Identifier: MIT */
/* zlib seam for permessage-deflate (RFC 7692 7.2). STUB: being implemented (issue #13). */
#include "internal.h"
