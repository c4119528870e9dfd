// Package metrics defines ftpgate's Prometheus metrics and exposes them over HTTP.
//
// A [Metrics] holds its own registry (never the global default) with the Go and process
// collectors and ftpgate's own metrics, all named ftpgate_… with their unit. The record
// methods are safe on a nil *Metrics, which records nothing: callers that do not export
// metrics (unit tests, other tools) leave it unset. Labels take values from small, fixed
// sets or from the configuration (service and hook names); never per session or per user.
package metrics
