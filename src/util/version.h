/* version.h - the release, reported by Query and `coffre --version`. */
#ifndef CF_VERSION_H
#define CF_VERSION_H

#define CF_VERSION "0.1.0"

#endif
