/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the WebSocket session in the client role (see fuzz_ws_session.c). */
#define FUZZ_WS_ROLE RTW_WS_ROLE_CLIENT
#include "fuzz_ws_session.c"
