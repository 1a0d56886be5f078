package neutrond

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// Two ovn-neutrond processes on one NB allocate /28s from one subnet pool
// concurrently, onto different networks: no prefix is handed out twice,
// and the pool is full after exactly its 16 prefixes.
func TestTwoServersAllocateFromOnePool(t *testing.T) {
	ownOnly(t, "replicas sharing one NB")
	nb := ovsdbtest.StartNB(t)
	c := newCloud(t)
	a, b := c.start(t, nb), c.start(t, nb)
	tokA, tokB := token(t, a, "demo"), token(t, b, "demo")
	code, body := call(t, a, tokA, "POST", "/v2.0/subnetpools", `{"subnetpool": {"name": "p", "prefixes": ["10.90.0.0/24"], "default_prefixlen": 28}}`)
	if code != 201 {
		t.Fatalf("create pool: %d %v", code, body)
	}
	pool := body["subnetpool"].(map[string]any)["id"].(string)
	const workers = 20 // 16 fit
	var mu sync.Mutex
	cidrs := map[string]int{}
	failed := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		srv, tok := a, tokA
		if w%2 == 1 {
			srv, tok = b, tokB
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body := call(t, srv, tok, "POST", "/v2.0/networks", fmt.Sprintf(`{"network": {"name": "n%d"}}`, w))
			netID := body["network"].(map[string]any)["id"].(string)
			code, body := call(t, srv, tok, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "subnetpool_id": %q}}`, netID, pool))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case code == 201:
				cidrs[body["subnet"].(map[string]any)["cidr"].(string)]++
			case code == 500 && errType(body) == "SubnetAllocationError":
				failed++
			default:
				t.Errorf("subnet from pool: %d %v", code, body)
			}
		}()
	}
	wg.Wait()
	for cidr, n := range cidrs {
		if n > 1 {
			t.Errorf("%s handed out %d times", cidr, n)
		}
	}
	if len(cidrs) != 16 || failed != workers-16 {
		t.Fatalf("%d distinct /28s and %d refusals, want 16 and %d", len(cidrs), failed, workers-16)
	}
}
