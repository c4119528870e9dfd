package scenario

import (
	"context"
	"fmt"
	"strings"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// CurlOutput is Curl that also returns curl's standard output, for runs that print with -w
// (for example `-w '%{size_download} %{speed_download}' -o /dev/null`). It runs curl in the
// client namespace in mode m and checks from the verbose transcript that m was really used.
func CurlOutput(ctx context.Context, tp *testbed.Topology, m Mode, extra ...string) (stdout, transcript string, err error) {
	args := append([]string{"-sS", "-v", "-g", "--max-time", "120", "--connect-timeout", "10"}, curlModeArgs(m)...)
	args = append(args, extra...)
	stdout, transcript, err = tp.Exec(ctx, tp.Client, "curl", args...)
	if err != nil {
		return stdout, transcript, fmt.Errorf("scenario: curl %s %v: %w", m, extra, err)
	}
	if !strings.Contains(transcript, "> "+string(m)) {
		return stdout, transcript, fmt.Errorf("scenario: curl did not use %s:\n%s", m, transcript)
	}
	return stdout, transcript, nil
}
