// Package inspect holds what ftpgate does with the bytes of a transfer besides carrying
// them: the object a transfer makes (its metadata and its body, spooled in memory up to a
// bound and then in an unlinked temporary file), the hooks that decide on it (an exec
// scanner such as clamdscan), their verdicts and the failure policy.
//
// The modes (the policy's inspect.download and inspect.upload):
//   - none: no hook; the channel takes the fastest path available.
//   - observe: the bytes flow at once; the hooks get the whole object when the transfer
//     ended, read-only (hashing, archiving, DLP logging). Their verdicts are recorded.
//   - inspect: store and forward; the object is released only when every hook allowed it.
//
// datachan runs the modes on a channel's bytes; this package does not know connections.
package inspect
