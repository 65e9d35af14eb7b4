/* SPDX-License-Identifier: MIT */
/* placeholder */
typedef int rtw__tls_backend_placeholder;
