package vswitch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHelperClaimer is not a test: TestClaimsFromSeparateProcesses runs the
// test binary with it to get claimers that are separate processes.
func TestHelperClaimer(t *testing.T) {
	ep := os.Getenv("VST_CLAIM_ENDPOINT")
	if ep == "" {
		t.Skip("helper process for TestClaimsFromSeparateProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv("VST_CLAIM_COUNT"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, ep, nil)
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	defer c.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 4 {
		wg.Go(func() {
			for range n / 4 {
				a, err := c.ClaimVLAN(ctx, "br-vm", nil, nil)
				mu.Lock()
				if err != nil {
					fmt.Println("ERR", err)
				} else {
					fmt.Println("VLAN", a.VLAN)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// Three processes (this one and two children), four goroutines each, claim
// 96 VLANs at once: all distinct.
func TestClaimsFromSeparateProcesses(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	const perProcess = 32
	var (
		mu   sync.Mutex
		seen = map[int]string{}
		errs []error
		wg   sync.WaitGroup
	)
	record := func(who string, vlan int) {
		mu.Lock()
		defer mu.Unlock()
		if prev, dup := seen[vlan]; dup {
			errs = append(errs, fmt.Errorf("VLAN %d claimed by %s and %s", vlan, prev, who))
		}
		seen[vlan] = who
	}
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperClaimer$", "-test.count=1")
		cmd.Env = append(os.Environ(), "VST_CLAIM_ENDPOINT="+ep, "VST_CLAIM_COUNT="+strconv.Itoa(perProcess))
		who := fmt.Sprintf("child %d", i)
		wg.Go(func() {
			out, err := cmd.Output()
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", who, err))
				mu.Unlock()
			}
			for line := range strings.Lines(string(out)) {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "VLAN "); ok {
					n, _ := strconv.Atoi(v)
					record(who, n)
				} else if strings.HasPrefix(line, "ERR") {
					mu.Lock()
					errs = append(errs, errors.New(who+": "+line))
					mu.Unlock()
				}
			}
		})
	}
	c := dial(t, ep)
	for range 4 {
		wg.Go(func() {
			for range perProcess / 4 {
				a, err := c.ClaimVLAN(testCtx(t), "br-vm", nil, nil)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				record("parent", a.VLAN)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3*perProcess {
		t.Fatalf("%d distinct VLANs, want %d", len(seen), 3*perProcess)
	}
	if err := c.waitCache(testCtx(t), "all claims", func() bool { return len(c.ports()) == 3*perProcess+1 }); err != nil {
		t.Fatal(err)
	}
	aps, err := c.AccessPorts(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range aps {
		if a.VLAN != i+1 {
			t.Fatalf("access port #%d has VLAN %d; want 1..%d without gaps", i, a.VLAN, 3*perProcess)
		}
	}
}
