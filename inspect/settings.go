package inspect

import "time"

// Mode is how one direction's transfers meet the hooks.
type Mode string

// The modes.
const (
	ModeNone    Mode = "none"    // no hook (default)
	ModeChunk   Mode = "chunk"   // each chunk passes the chunk hooks, which may replace or drop it
	ModeObserve Mode = "observe" // bytes flow at once; the hooks see the whole object afterwards
	ModeInspect Mode = "inspect" // store and forward: released only when the hooks allow it
)

// DownloadModes lists the modes of downloads, the default first.
func DownloadModes() []Mode { return []Mode{ModeNone, ModeChunk, ModeObserve, ModeInspect} }

// UploadModes lists the modes of uploads, the default first.
func UploadModes() []Mode { return []Mode{ModeNone, ModeChunk, ModeObserve, ModeInspect} }

// Fail is what happens when a hook times out, crashes or cannot be reached.
type Fail string

// The failure policies.
const (
	FailClosed Fail = "closed" // the transfer is refused (default)
	FailOpen   Fail = "open"   // it passes, and the record says the hook failed
)

// Fails lists the failure policies, the default first.
func Fails() []Fail { return []Fail{FailClosed, FailOpen} }

// Rest is what an inspected transfer with a REST offset gets.
type Rest string

// The REST policies.
const (
	RestRefuse Rest = "refuse" // refused before it starts: a part cannot be judged as the whole (default)
	RestPart   Rest = "part"   // inspected as a part, its offset in the object's metadata
)

// Rests lists the REST policies, the default first.
func Rests() []Rest { return []Rest{RestRefuse, RestPart} }

// Settings are a policy's inspection settings. Empty fields take their defaults
// (WithDefaults).
type Settings struct {
	Download, Upload Mode
	// Hooks decide on each object, in order; the first refusal decides (observe and
	// inspect modes).
	Hooks []Hook
	// ChunkHooks see each chunk, in order (chunk mode).
	ChunkHooks []ChunkHook
	Fail       Fail
	Rest       Rest
	// SpoolMemory bounds the bytes of one object kept in memory; the rest goes to an
	// unlinked temporary file in SpoolDir (default 4 MiB).
	SpoolMemory int
	// SpoolDir is where spool files are made ("": the system's temporary directory).
	SpoolDir string
	// MaxSize refuses an object larger than this (inspect mode; observe mode then has no
	// verdict); default 4 GiB, so a spool never fills the disk unbounded.
	MaxSize int64
}

// DefaultSpoolMemory is SpoolMemory's default.
const DefaultSpoolMemory = 4 << 20

// DefaultMaxSize is MaxSize's default.
const DefaultMaxSize = 4 << 30

// WithDefaults returns s with its empty settings set to their defaults.
func (s Settings) WithDefaults() Settings {
	if s.Download == "" {
		s.Download = ModeNone
	}
	if s.Upload == "" {
		s.Upload = ModeNone
	}
	if s.Fail == "" {
		s.Fail = FailClosed
	}
	if s.Rest == "" {
		s.Rest = RestRefuse
	}
	if s.SpoolMemory == 0 {
		s.SpoolMemory = DefaultSpoolMemory
	}
	if s.MaxSize == 0 {
		s.MaxSize = DefaultMaxSize
	}
	return s
}

// For returns the mode of transfers toward the server (upload) or the client.
func (s Settings) For(upload bool) Mode {
	if upload {
		return s.Upload
	}
	return s.Download
}

// Active reports whether any direction has hooks at work: such a policy's channels never
// take the kernel path, whose bytes ftpgate does not see.
func (s Settings) Active() bool {
	return (s.Download != "" && s.Download != ModeNone) || (s.Upload != "" && s.Upload != ModeNone)
}

// WholeObjects reports whether a direction is in observe or inspect mode: its hooks judge
// whole objects after the transfer, and the final reply waits for them.
func (s Settings) WholeObjects() bool {
	whole := func(m Mode) bool { return m == ModeObserve || m == ModeInspect }
	return whole(s.Download) || whole(s.Upload)
}

// DefaultHookTimeout bounds one hook's decision when its definition sets none.
const DefaultHookTimeout = 60 * time.Second
