package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the tick counts in /proc/stat (USER_HZ, 100 on every Linux ABI
// this runs on).
const userHZ = 100

// median returns the median of xs (the mean of the middle two for an even count), 0 for none.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile returns the p-th percentile (0 < p <= 100) of ds by the nearest-rank method,
// 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// ratios returns xs[i]/base[i] for every run where both exist and base is positive: rows
// measured in the same run are compared with each other, so load that hit one run hits both.
func ratios(xs, base []float64) []float64 {
	var out []float64
	for i := range min(len(xs), len(base)) {
		if base[i] > 0 {
			out = append(out, xs[i]/base[i])
		}
	}
	return out
}

// cpuTicks is the whole machine's CPU time from the first line of /proc/stat, in ticks.
type cpuTicks struct {
	busy, total uint64
}

// parseProcStat reads the aggregate "cpu" line of /proc/stat: busy is everything but idle
// and iowait (user, nice, system, irq, softirq, steal; guest time is already in user).
func parseProcStat(text string) (cpuTicks, error) {
	line, _, _ := strings.Cut(text, "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return cpuTicks{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var t cpuTicks
	for i, s := range f[1:min(len(f), 9)] { // user nice system idle iowait irq softirq steal
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return cpuTicks{}, fmt.Errorf("/proc/stat: field %d of %q: %w", i+1, line, err)
		}
		t.total += v
		if i != 3 && i != 4 {
			t.busy += v
		}
	}
	return t, nil
}

// readCPU samples /proc/stat. All namespaces share the kernel, so it covers the client,
// gateway and server alike (and anything else running on the machine).
func readCPU() (cpuTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, fmt.Errorf("read CPU time: %w", err)
	}
	return parseProcStat(string(b))
}

// busySeconds is the busy CPU time between two samples, in seconds.
func busySeconds(before, after cpuTicks) float64 {
	if after.busy < before.busy {
		return 0
	}
	return float64(after.busy-before.busy) / userHZ
}

// parseStatusKiB returns the value of a "Key:   1234 kB" line of /proc/PID/status in KiB.
func parseStatusKiB(text, key string) (int64, error) {
	for _, line := range strings.Split(text, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("status line %q: want \"%s: N kB\"", line, key)
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status line %q: %w", line, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("no %s line in the status", key)
}

// parseStatPPID returns the parent PID from the text of /proc/PID/stat. The command name may
// contain spaces and parentheses, so the fields are read after the last ')'.
func parseStatPPID(text string) (int, error) {
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", text)
	}
	f := strings.Fields(text[i+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("stat %q: too few fields", text)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("stat %q: parent PID: %w", text, err)
	}
	return ppid, nil
}
