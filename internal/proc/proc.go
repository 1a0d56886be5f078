package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Ref names one process for its lifetime: "PID@START", START being its
// start time in clock ticks since boot (field 22 of /proc/PID/stat). A
// bare "PID", as older versions recorded, is read as that pid whatever its
// start time.
type Ref string

// Self is the calling process's Ref.
func Self() Ref { return Of(os.Getpid()) }

// Of is pid's Ref now, or the bare pid when its start time can't be read
// (no /proc: a Ref that is only as good as the pid).
func Of(pid int) Ref {
	start, err := startTime(pid)
	if err != nil {
		return Ref(strconv.Itoa(pid))
	}
	return Ref(fmt.Sprintf("%d@%d", pid, start))
}

// Alive reports whether the process r names still runs (zombies count: a
// killed process is reaped soon after). An empty or malformed Ref names no
// process.
func (r Ref) Alive() bool {
	p, s, hasStart := strings.Cut(string(r), "@")
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return false
	}
	start, err := startTime(pid)
	if err != nil {
		return false
	}
	if !hasStart {
		return true
	}
	want, err := strconv.ParseUint(s, 10, 64)
	return err == nil && want == start
}

// startTime reads field 22 of /proc/PID/stat. The second field, the
// command name in parentheses, may itself hold spaces and parentheses, so
// fields are counted after its last ')'.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// After ")": field 3 (state) onward; start time is field 22.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want at least 20", pid, len(f))
	}
	return strconv.ParseUint(f[19], 10, 64)
}
