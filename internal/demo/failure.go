package main

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// maxSummary bounds the length of a failure summary in the verdict line.
const maxSummary = 160

// failure is an error with a one-line summary for the verdict and a multi-line detail (a
// client transcript, say) that is printed once, before the cleanup.
type failure struct {
	summary string
	detail  string
	err     error
}

// Error returns the summary.
func (f *failure) Error() string { return f.summary }

// Unwrap returns the underlying error.
func (f *failure) Unwrap() error { return f.err }

// curlFailure describes a failed curl run: the summary names what failed, the last 4xx/5xx
// reply curl received and curl's own error line ("curl: (28) …"); the detail is the end of
// its verbose transcript.
func curlFailure(what string, err error, transcript string) error {
	why, refusal := "curl failed", ""
	for _, line := range strings.Split(transcript, "\n") {
		switch {
		case strings.HasPrefix(line, "curl: ("):
			why = strings.TrimSpace(line)
		case strings.HasPrefix(line, "< 4") || strings.HasPrefix(line, "< 5"):
			refusal = strings.TrimSpace(line[2:])
		}
	}
	if why == "curl failed" && !strings.Contains(err.Error(), "\n") {
		why = err.Error()
	}
	if refusal != "" {
		why = "server replied " + refusal + "; " + why
	}
	return &failure{summary: what + ": " + why, detail: tail(transcript, 15), err: err}
}

// summarize returns err's one-line summary (the first line of its message, shortened) and the
// rest of its message, or the failure's detail.
func summarize(err error) (summary, detail string) {
	var f *failure
	if errors.As(err, &f) {
		summary, detail = err.Error(), f.detail
	} else {
		summary, detail, _ = strings.Cut(err.Error(), "\n")
	}
	if first, _, cut := strings.Cut(summary, "\n"); cut {
		summary = first
	}
	if len(summary) > maxSummary {
		cut := maxSummary
		for cut > 0 && !utf8.RuneStart(summary[cut]) {
			cut--
		}
		summary = summary[:cut] + "…"
	}
	return summary, detail
}

// report prints a failure's summary and detail as a step, before the cleanup.
func report(p *printer, err error) {
	summary, detail := summarize(err)
	p.step("FAILED: %s", summary)
	p.block(detail)
}
