/* SPDX-License-Identifier: Apache-2.0 */
/* ember's own version (the VERSION file) and the Firecracker API version it
 * implements: the one `--version` and `GET /version` report, because tools
 * written for Firecracker parse those to decide what they may ask for. */
#ifndef EMBER_COMMON_VERSION_H
#define EMBER_COMMON_VERSION_H

#define EMBER_FC_API_VERSION "1.16.1"

#endif
