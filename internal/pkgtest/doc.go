// Package pkgtest tests the Debian package `make deb` builds: as root it installs the package
// on this machine with dpkg, checks what it installed, runs the packaged daemon the way its
// systemd unit does in a test bed's gateway namespace for a real transfer, and purges the
// package again. It has no code of its own, only tests.
package pkgtest
