/* SPDX-License-Identifier: MIT */
/* placeholder */
typedef int rtw__tls_config_placeholder;
