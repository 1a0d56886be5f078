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
	st, err := readStat(pid)
	if err != nil {
		return Ref(strconv.Itoa(pid))
	}
	return Ref(fmt.Sprintf("%d@%d", pid, st.start))
}

// Alive reports whether the process r names still runs. An empty or
// malformed Ref names no process. A zombie does not run: it has exited,
// and only waits for its parent to reap it, which init may do late (seen:
// seconds after a SIGKILL), so a claim of a killed process must not look
// alive meanwhile: a daemon restarted at once would leave it alone.
func (r Ref) Alive() bool {
	p, s, hasStart := strings.Cut(string(r), "@")
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return false
	}
	st, err := readStat(pid)
	if err != nil || st.exited() {
		return false
	}
	if !hasStart {
		return true
	}
	want, err := strconv.ParseUint(s, 10, 64)
	return err == nil && want == st.start
}

// stat is what Alive reads of /proc/PID/stat.
type stat struct {
	state   string // field 3: R, S, D, Z (zombie), X (dead)…
	threads int    // field 20
	start   uint64 // field 22, clock ticks since boot
}

// exited: the process is a zombie (or being removed). A thread-group
// leader that ended before its other threads also shows Z, but its
// process runs on: it still counts its threads.
func (s stat) exited() bool {
	return (s.state == "Z" || s.state == "X") && s.threads <= 1
}

// readStat reads /proc/PID/stat. The second field, the command name in
// parentheses, may itself hold spaces and parentheses, so fields are
// counted after its last ')'.
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// After ")": field 3 (state) onward.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return stat{}, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want at least 20", pid, len(f))
	}
	threads, err := strconv.Atoi(f[17])
	if err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: threads %q: %w", pid, f[17], err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: start time %q: %w", pid, f[19], err)
	}
	return stat{state: f[0], threads: threads, start: start}, nil
}
