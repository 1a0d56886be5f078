package proc

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSelfIsAliveWithStartTime(t *testing.T) {
	r := Self()
	if !strings.HasPrefix(string(r), strconv.Itoa(os.Getpid())+"@") {
		t.Fatalf("Self() = %q, want %d@START", r, os.Getpid())
	}
	if !r.Alive() {
		t.Errorf("Self() %q is not alive", r)
	}
}

func TestAlive(t *testing.T) {
	self := string(Self())
	pid, start, _ := strings.Cut(self, "@")
	n, _ := strconv.ParseUint(start, 10, 64)
	for _, tc := range []struct {
		ref  Ref
		want bool
	}{
		{Ref(self), true},
		{Ref(pid), true}, // a bare pid, as older versions recorded
		{Ref(pid + "@" + strconv.FormatUint(n+1, 10)), false}, // the pid, reused by another process
		{"", false},
		{"0", false},
		{"-1", false},
		{"x@1", false},
		{Ref(pid + "@x"), false},
		{"999999999", false},
		{"999999999@5", false},
	} {
		if got := tc.ref.Alive(); got != tc.want {
			t.Errorf("Ref(%q).Alive() = %v, want %v", tc.ref, got, tc.want)
		}
	}
}

func TestDeadChildIsNotAlive(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start true:", err)
	}
	r := Of(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if r.Alive() {
		t.Errorf("Ref %q of an exited, reaped process is alive", r)
	}
}

func TestStartTimeWithParenthesesInName(t *testing.T) {
	// The command name is free text: only fields after its last ')' count.
	dir := t.TempDir()
	exe := dir + "/a) b (c"
	if err := os.Symlink("/bin/sleep", exe); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "5")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	r := Of(cmd.Process.Pid)
	if !strings.Contains(string(r), "@") || !r.Alive() {
		t.Errorf("Of(child named %q) = %q, alive %v; want a live PID@START", exe, r, r.Alive())
	}
}

// A killed child that nobody has reaped yet (a zombie) has exited: a
// claim of it is dead, with or without its start time.
func TestZombieIsNotAlive(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start sleep:", err)
	}
	defer func() { _ = cmd.Wait() }()
	r := Of(cmd.Process.Pid)
	if !r.Alive() {
		t.Fatalf("Ref %q of a running child is not alive", r)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Not reaped: wait until the kernel shows it a zombie.
	for i := 0; ; i++ {
		st, err := readStat(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.state == "Z" {
			break
		}
		if i == 200 {
			t.Fatalf("child %d not a zombie after 2 s: state %s", cmd.Process.Pid, st.state)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, ref := range []Ref{r, Ref(strconv.Itoa(cmd.Process.Pid))} {
		if ref.Alive() {
			t.Errorf("Ref %q of a killed, unreaped child is alive", ref)
		}
	}
}
