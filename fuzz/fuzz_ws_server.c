/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the WebSocket session in the server role (see fuzz_ws_session.c). */
#define FUZZ_WS_ROLE RTW_WS_ROLE_SERVER
#include "fuzz_ws_session.c"
