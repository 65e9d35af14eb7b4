/* SPDX-License-Identifier: MIT */
/**
 * @file rtweb.h
 * @brief Umbrella header: includes every public rtweb header.
 */
#ifndef RTWEB_RTWEB_H
#define RTWEB_RTWEB_H

#include "common.h"
#include "sse.h"
#include "ws.h"
#include "http.h"

#endif /* RTWEB_RTWEB_H */
