// Package scenario drives ftpgate end to end on a testbed topology: it starts the gateway
// binary in the gateway namespace, runs real FTP clients (curl, lftp) in the client namespace
// in a chosen data mode, and reads the gateway's transfer records. The end-to-end tests,
// `make demo` and `make bench` share it. Test helper only.
package scenario
